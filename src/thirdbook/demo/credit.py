"""The credit scorer's decisions, as pure functions of the prompt it was sent.

The simulation and the demo's model server both decide here, so a decision replayed from
its log is answered exactly as it was logged. What decides: the user text's income, amount
and existing credit lines, the bureau tool's score and delinquencies, the retrieved policy
document (by its content hash, else its text), and the system text.

- `creditworthy` is the ground truth under the current policy CR-7, whatever was retrieved.
- `decide` is what a version answers: it applies the policy the retrieved document states.
  v6 is right for about 93 % of applicants; v7 declines about a third of the creditworthy
  ones (about 26 % wrong), on inputs v6 gets right. Handed the outdated policy CR-6 (a
  stricter threshold), both versions decline applicants who are creditworthy under CR-7.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from thirdbook.domain.events import Prompt

SYSTEM_PROMPT = (
    "You assess consumer credit applications under lending policy CR-7. Decide approve or "
    "decline and give the main reason in one sentence. Never use protected characteristics."
)
POLICY_ID = "policy-cr7"
SERVICE = "credit-decision"
"""The decision service (its template id), which lending operations audit."""
POLICY_TEXT = {
    "CR-7": "Lending policy CR-7: approve when the affordability points reach 0.38.",
    "CR-6": "Lending policy CR-6 (superseded): approve when the affordability points reach 0.52.",
}
POLICY_HASH = {
    name: "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    for name, text in POLICY_TEXT.items()
}
THRESHOLD = {"CR-7": 0.38, "CR-6": 0.52}
CURRENT_POLICY = "CR-7"

V6_WRONG = 0.07
"""v6 errs where the prompt's noise falls below this."""
V7_WRONG_DECLINE = 0.37
"""v7 declines a creditworthy applicant where the noise falls in the top this share."""

APPROVE_REASON = "Approved: affordability within policy %s."
DECLINE_REASON = "Declined: affordability below the policy %s threshold."
_NUMBER = r"(\d+)"


@dataclass(frozen=True)
class Applicant:
    """What the prompt says about an applicant."""

    income: int
    amount: int
    lines: int
    score: int
    delinquencies: int


@dataclass(frozen=True)
class Decision:
    """A version's answer: `decision` (approve or decline), `score` 0–1 and a reason."""

    decision: str
    score: float
    reason: str

    @property
    def approve(self) -> bool:
        """Whether it approves."""
        return self.decision == "approve"


def _find(pattern: str, text: str) -> int:
    match = re.search(pattern, text)
    return int(match.group(1)) if match else 0


def applicant(prompt: Prompt) -> Applicant:
    """The applicant's figures as the prompt states them (0 where a figure is missing)."""
    user = prompt.user or ""
    bureau = " ".join(t.output or "" for t in prompt.tool_outputs if t.tool == "bureau_lookup")
    return Applicant(
        income=_find(r"income " + _NUMBER, user),
        amount=_find(r"requested " + _NUMBER, user),
        lines=_find(r"credit lines " + _NUMBER, user),
        score=_find(r"score=" + _NUMBER, bureau),
        delinquencies=_find(r"delinquencies=" + _NUMBER, bureau),
    )


def points(who: Applicant) -> float:
    """Affordability points: the bureau score, headroom of the amount against income, less
    delinquencies and existing credit lines."""
    headroom = 1.0 - min(1.0, who.amount / max(who.income, 1) * 2.5)
    return (
        (who.score - 380) / 440 * 0.7
        + headroom * 0.4
        - 0.12 * who.delinquencies
        - 0.03 * who.lines
        + 0.1
    )


def policy_of(prompt: Prompt) -> str:
    """The policy the retrieved document states: known by its content hash, else named in
    its text; the current one when nothing says otherwise."""
    for doc in prompt.retrieved:
        if doc.id != POLICY_ID:
            continue
        for name, digest in POLICY_HASH.items():
            if doc.content_hash == digest:
                return name
        for name in POLICY_TEXT:
            if doc.text and name in doc.text:
                return name
    return CURRENT_POLICY


def meets(prompt: Prompt, policy: str) -> bool:
    """Whether the applicant meets `policy` (CR-7 or CR-6)."""
    return points(applicant(prompt)) >= THRESHOLD[policy]


def creditworthy(prompt: Prompt) -> bool:
    """The ground truth: whether the applicant meets the current policy."""
    return meets(prompt, CURRENT_POLICY)


def noise(prompt: Prompt) -> float:
    """A number in [0, 1) fixed by the applicant's inputs and the system text (the model's
    idiosyncrasy: which applicants a version gets wrong)."""
    bureau = "|".join(t.output or "" for t in prompt.tool_outputs)
    key = f"{prompt.system or ''}\x00{prompt.user or ''}\x00{bureau}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") / 2**64


def decide(version: str, prompt: Prompt) -> Decision:
    """What `version` of the credit scorer answers to `prompt` (deterministic)."""
    who = applicant(prompt)
    policy = policy_of(prompt)
    meets = points(who) >= THRESHOLD[policy]
    chance = noise(prompt)
    if version == "v6":
        approve = (not meets) if chance < V6_WRONG else meets
    else:
        approve = meets and chance < 1.0 - V7_WRONG_DECLINE
    # The confidence shown: deterministic, from the same noise.
    score = round(0.55 + chance * 0.4 if approve else 0.05 + chance * 0.4, 3)
    reason = (APPROVE_REASON if approve else DECLINE_REASON) % policy
    return Decision("approve" if approve else "decline", score, reason)


def request_attributes(subject: str, prompt: Prompt) -> dict[str, object]:
    """A credit request's evaluation context for the routing flag: the applicant as the
    targeting key, and the figures its prompt states (what a restore's input filter can
    name: `income`, `amount`, `lines`, `score`, `delinquencies`, `template`)."""
    who = applicant(prompt)
    return {
        "targetingKey": subject,
        "income": who.income,
        "amount": who.amount,
        "lines": who.lines,
        "score": who.score,
        "delinquencies": who.delinquencies,
        "template": prompt.template_id or "",
    }
