"""Secrets in untrusted text: found with Yelp's detect-secrets patterns, masked for display.

The patterns are detect-secrets' own (cloud keys, GitHub/GitLab/Slack/Stripe/OpenAI/... tokens,
JWTs, private keys, basic-auth URLs, `password = "..."`-style keywords); we only add what it
lacks, the HTTP `Bearer` header. Its entropy detectors are left out: hashes and request ids,
which fill incident logs, would be masked. Each match is masked whole (a JWT with its
signature, a private key from BEGIN to END); the evidence keeps the raw bytes.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

_BEARER = re.compile(r"\b[Bb]earer\s+([A-Za-z0-9\-._~+/]{8,}=*)")
_JWT_TAIL = re.compile(r"[A-Za-z0-9\-_.+/=]*")
_KEY_END = re.compile(r"-----END[ A-Z0-9]*PRIVATE KEY[ A-Z0-9]*-----")
_LEFT_OUT = {"IPPublicDetector"}  # an address is not a secret


class Secret(NamedTuple):
    """Where a secret is in a text, and what kind it is (a plain value, not a pydantic model:
    every command that shows a text masks it, and `--help` must not pay for pydantic)."""

    start: int
    end: int
    kind: str


# Detectors that name a credential before its value (`password = ...`, `ibm_api_key: ...`)
# are slow on long lines; they run only where such a word is (checked once per text).
_CREDENTIAL_WORDS = ("key", "pw", "pass", "token", "secret", "contrase")  # looked for lower-cased
_TOKEN_CHAR = re.compile(r"[A-Za-z0-9_\-]*")


PatternSpec = tuple[str, str, int, int, bool]
"""(kind, regex source, regex flags, group to mask, needs a credential word)."""
Screen = tuple[tuple[str, ...] | None, bool]
"""What a pattern is screened by: the literals one of which any match contains (None: it
always runs), and whether they are compared case-folded (see `_needed_literals`)."""


class _Detector(NamedTuple):
    kind: str
    source: str  # compiled the first time a text could match it (`_compiled`)
    flags: int
    group: int
    gated: bool
    needs: tuple[str, ...] | None  # one of these must be in the text, or it cannot match
    folded: bool  # compare `needs` with the text lower-cased


_installed: tuple[_Detector, ...] | None = None
# Each detector's compiled regex, once a text has needed it: compiling all ~50 on every start
# would cost every command that shows a text, though most texts need two or three.
_compiled: list[re.Pattern[str] | None] = []
_specs: list[PatternSpec] = []
# Which detectors each literal lets run (compared exactly, or case-folded), and the detectors
# that name no literal and always run; indexes into `_installed`.
_by_literal: tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]] = ({}, {})
_always: tuple[int, ...] = ()


def detector_patterns() -> list[PatternSpec]:
    """The patterns of detect-secrets' regex detectors and its keyword detector, plus the
    Bearer header (importing detect-secrets takes a quarter of a second: see `install`)."""
    import detect_secrets.plugins as plugins
    from detect_secrets.plugins.base import RegexBasedDetector
    from detect_secrets.plugins.keyword import QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP

    for module in pkgutil.iter_modules(plugins.__path__):
        importlib.import_module(f"{plugins.__name__}.{module.name}")
    found: list[PatternSpec] = []

    def detectors(cls: Any) -> Iterator[Any]:
        for sub in cls.__subclasses__():
            yield sub
            yield from detectors(sub)

    for detector in detectors(RegexBasedDetector):
        if detector.__name__ not in _LEFT_OUT:
            found.extend(
                (str(detector.secret_type), p.pattern, p.flags, 0, "(?<=" in p.pattern)
                for p in detector.denylist
            )
    found.extend(
        ("Secret Keyword", p.pattern, p.flags, g, True)
        for p, g in QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP.items()
    )
    found.append(("Bearer token", _BEARER.pattern, _BEARER.flags, 1, False))
    return found


def install(specs: list[PatternSpec], screens: Sequence[Screen] | None = None) -> None:
    """Use these patterns (e.g. `detector_patterns()` as cached on disk by the caller). Each
    is parsed now (a bad one raises `re.error` here) and compiled when first needed; unless
    `screens` are given (what `installed_screens` gave for the same patterns, kept beside
    them), which spares parsing them all again on every start."""
    global _installed, _by_literal, _always, _specs, _compiled
    if screens is not None and len(screens) != len(specs):
        raise ValueError(f"{len(screens)} screens for {len(specs)} patterns")
    _specs = list(specs)
    detectors = []
    for index, (kind, source, flags, group, gated) in enumerate(specs):
        needs, fold = _needed_literals(source, flags) if screens is None else screens[index]
        detectors.append(_Detector(kind, source, flags, group, gated, needs, fold))
    _installed = tuple(detectors)
    _compiled = [None] * len(detectors)
    exact: dict[str, list[int]] = {}
    folded: dict[str, list[int]] = {}
    for index, detector in enumerate(detectors):
        for literal in detector.needs or ():
            (folded if detector.folded else exact).setdefault(literal, []).append(index)
    _by_literal = (
        {k: tuple(v) for k, v in exact.items()},
        {k: tuple(v) for k, v in folded.items()},
    )
    _always = tuple(i for i, d in enumerate(detectors) if d.needs is None)
    _mask_short.cache_clear()


def _pattern(index: int, detector: _Detector) -> re.Pattern[str]:
    pattern = _compiled[index]
    if pattern is None:
        pattern = _compiled[index] = re.compile(detector.source, detector.flags)
    return pattern


def _needed_literals(source: str, flags: int) -> tuple[tuple[str, ...] | None, bool]:
    """Literal strings one of which any match must contain (read from the parsed regex), so
    texts without any are skipped at the cost of a substring test; and whether to compare
    them case-folded. (None, _) when the regex names none we can be sure of. A regex that
    does not parse raises `re.error`."""
    try:
        c = importlib.import_module("re._constants")
        parse = importlib.import_module("re._parser").parse
    except Exception:  # a private module changed: fall back to running every detector
        re.compile(source, flags)  # still refuse a bad regex now
        return None, False
    parsed = parse(source, flags)  # raises re.error, as compiling would
    folded = bool(parsed.state.flags & re.IGNORECASE)

    def needed(sequence: Any) -> tuple[str, ...] | None:
        nonlocal folded
        found: list[tuple[str, ...]] = []
        run: list[str] = []

        def flush() -> None:
            if len(run) >= 2:
                found.append(("".join(run),))
            run.clear()

        for op, value in sequence:
            if op is c.LITERAL:
                run.append(chr(value))
                continue
            flush()
            if op is c.SUBPATTERN:
                folded = folded or bool(value[1] & re.IGNORECASE)
                inner = needed(value[-1])
                if inner:
                    found.append(inner)
            elif op is c.BRANCH:
                branches = [needed(b) for b in value[1]]
                if all(branches):
                    found.append(tuple(x for b in branches if b for x in b))
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT) and value[0] >= 1:
                inner = needed(value[2])
                if inner:
                    found.append(inner)
        flush()
        return max(found, key=lambda f: min(len(x) for x in f)) if found else None

    needs = needed(parsed)
    return (
        (None, False)
        if needs is None
        else (tuple(n.lower() for n in needs) if folded else needs, folded)
    )


def installed_specs() -> list[PatternSpec]:
    """The patterns in use (to install the same in a worker process)."""
    _patterns()
    return list(_specs)


def installed_screens() -> list[Screen]:
    """The screens of the patterns in use, in their order (to install them again with
    `install` without parsing each pattern)."""
    return [(d.needs, d.folded) for d in _patterns()]


def _patterns() -> tuple[_Detector, ...]:
    if _installed is None:
        install(detector_patterns())
    assert _installed is not None
    return _installed


def find_secrets(text: str) -> list[Secret]:
    """The secrets in `text`, in order, overlaps merged (the first kind found is kept)."""
    spans: list[Secret] = []
    detectors = _patterns()
    lower = text.lower()
    credential_word = any(word in lower for word in _CREDENTIAL_WORDS)
    # Each distinct literal is looked for once; a detector runs only if one of its is there.
    exact, folded = _by_literal
    chosen = set(_always)
    for literal, indexes in exact.items():
        if literal in text:
            chosen.update(indexes)
    for literal, indexes in folded.items():
        if literal in lower:
            chosen.update(indexes)
    for index in sorted(chosen):
        detector = detectors[index]
        kind, group = detector.kind, detector.group
        if detector.gated and not credential_word:
            continue
        for match in _pattern(index, detector).finditer(text):
            start, end = match.span(group)
            if end - start < 4:
                continue
            if kind == "JSON Web Token":
                end = _JWT_TAIL.match(text, end).end()  # type: ignore[union-attr]
            elif kind == "Private Key":
                start -= 5 if text[max(0, start - 5) : start] == "-----" else 0
                tail = _KEY_END.search(text, end)
                end = tail.end() if tail else _end_of_value(text, end)
            elif group == 0 and text[end - 1 : end].isalnum():
                end = _TOKEN_CHAR.match(text, end).end()  # type: ignore[union-attr]
            spans.append(Secret(start=start, end=end, kind=kind))
    spans.sort(key=lambda s: (s.start, -s.end))
    merged: list[Secret] = []
    for span in spans:
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            merged[-1] = last._replace(end=max(last.end, span.end))
        else:
            merged.append(span)
    return merged


def _end_of_value(text: str, at: int) -> int:
    quote = text.find('"', at)
    return len(text) if quote < 0 else quote


def mask_secrets(text: str) -> str:
    """`text` with every secret replaced by `‹secret: KIND›` (short texts are remembered:
    a screen shows the same cells again and again)."""
    return _mask_short(text) if len(text) <= 4096 else _mask(text)


def _mask(text: str) -> str:
    return mask_counted(text)[0]


def mask_counted(text: str) -> tuple[str, int]:
    """`text` with its secrets masked, and how many there were."""
    secrets = find_secrets(text)
    if not secrets:
        return text, 0
    out, at = [], 0
    for secret in secrets:
        out.append(text[at : secret.start])
        out.append(f"‹secret: {secret.kind}›")
        at = secret.end
    out.append(text[at:])
    return "".join(out), len(secrets)


_mask_short = lru_cache(maxsize=8192)(_mask)
