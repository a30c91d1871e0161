"""Reading the decision in an answer, and the verdict per input and for a run."""

from __future__ import annotations

import json
import re
from collections import Counter
from enum import StrEnum
from typing import Any

from thirdbook.config import ReplayExtractConfig
from thirdbook.forensics.replay_endpoints import EndpointError, run_json_command


class Verdict(StrEnum):
    """What replaying one input (or a run) says."""

    REGRESSION = "regression in the model change"
    UPSTREAM = "upstream"
    NOT_REPRODUCED = "not reproduced"
    INCONCLUSIVE = "inconclusive"


EXPECTED_FROM_FEEDBACK = {"wrong_decline": "approve", "wrong_approve": "decline"}
"""A feedback category naming a request -> the decision that was right."""


async def extract_decision(content: str, config: ReplayExtractConfig) -> str:
    """The decision in an answer's text: the check command, else the regex's first group,
    else the JSON path into the text parsed as JSON. `EndpointError` when none is found."""
    if config.command is not None:
        out = await run_json_command(
            config.command, {"content": content}, 30.0, 1 << 16, "the extract command"
        )
        decision = out.decode("utf-8", "replace").strip()
        if not decision:
            raise EndpointError("the extract command printed no decision")
        return decision
    if config.regex is not None:
        match = re.search(config.regex, content)
        if match is None:
            raise EndpointError("the answer does not match the extract regex")
        return match.group(1) if match.groups() else match.group(0)
    path = config.json_path or "decision"
    try:
        value: Any = json.loads(content)
    except ValueError:
        raise EndpointError("the answer's content is not JSON") from None
    for key in path.split("."):
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            raise EndpointError(f"the answer has no {path}")
    if not isinstance(value, str | int | float | bool):
        raise EndpointError(f"the answer's {path} is not a value")
    return str(value)


def input_verdict(expected: str | None, known_good: str | None, suspect: str | None) -> Verdict:
    """Known-good right and suspect wrong: a regression; both wrong: upstream; both right:
    not reproduced; no expected outcome or a missing answer: inconclusive. (Known-good
    wrong and suspect right is a fix, not a reproduction: inconclusive.)"""
    if expected is None or known_good is None or suspect is None:
        return Verdict.INCONCLUSIVE
    good_right, suspect_right = known_good == expected, suspect == expected
    if good_right and not suspect_right:
        return Verdict.REGRESSION
    if not good_right and not suspect_right:
        return Verdict.UPSTREAM
    if good_right and suspect_right:
        return Verdict.NOT_REPRODUCED
    return Verdict.INCONCLUSIVE


CONCLUSIVE_ORDER = (Verdict.REGRESSION, Verdict.UPSTREAM, Verdict.NOT_REPRODUCED)


def run_verdict(verdicts: list[Verdict]) -> tuple[Verdict, dict[str, int]]:
    """The run's verdict: the most frequent conclusive verdict (ties go to regression, then
    upstream: the finding that needs action wins); inconclusive when no input is
    conclusive. With the count of each verdict."""
    counts = Counter(verdicts)
    table = {v.value: counts.get(v, 0) for v in Verdict}
    conclusive = [(counts[v], -i, v) for i, v in enumerate(CONCLUSIVE_ORDER) if counts[v]]
    if not conclusive:
        return Verdict.INCONCLUSIVE, table
    return max(conclusive)[2], table


NOT_PREFIX = "not "
"""An expected outcome that only says which decision was wrong (a commander's "wrong")."""


def judge(expected: str | None, known_good: str | None, suspect: str | None) -> Verdict:
    """`input_verdict`, where an expected outcome `not X` means any decision but X is right."""
    if expected is None or not expected.startswith(NOT_PREFIX):
        return input_verdict(expected, known_good, suspect)
    wrong = expected.removeprefix(NOT_PREFIX)

    def right(decision: str | None) -> str | None:
        return None if decision is None else ("right" if decision != wrong else "wrong")

    return input_verdict("right", right(known_good), right(suspect))
