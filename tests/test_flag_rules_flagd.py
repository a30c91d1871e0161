"""A restore's flag rules resolved by the real OpenFeature flagd provider (in-process, FILE
mode): for every request the demo serves, the provider's variant is the demo's route."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cbor2
import mmh3
import pytest
from openfeature import api
from openfeature.contrib.provider.flagd import FlagdProvider
from openfeature.contrib.provider.flagd.config import ResolverType
from openfeature.evaluation_context import EvaluationContext

from thirdbook.actuators.flag_rules import write_conditions
from thirdbook.demo.clock import DemoClock
from thirdbook.demo.control_files import FLAG_FILE, ControlFiles, write_initial_control
from thirdbook.demo.estate import MODEL, Estate, Serving
from thirdbook.domain.control import serving_flag_key
from thirdbook.domain.flag_targeting import FlagCondition, cbor, murmur3_32, parse_filter

CONDITIONS = [
    FlagCondition(filters=(parse_filter("income>=40000"),), cohort_pct=30, outside="human"),
    FlagCondition(cohort_pct=10, outside="fallback"),
    FlagCondition(filters=(parse_filter("amount<8000"), parse_filter("template=credit-decision"))),
]


def _served(control: Path, requests: int) -> list[tuple[dict[str, Any], str, str]]:
    """(attributes, route the rule picked, route logged) of each demo request served."""
    files = ControlFiles(control)
    seen: list[tuple[dict[str, Any], str]] = []

    def serving() -> Serving:
        now = files.serving()
        assert now.route_of is not None, "the flag file has no targeting rule"
        route_of = now.route_of

        def recording(attributes: dict[str, Any]) -> str:
            route = route_of(attributes)
            seen.append((attributes, route))
            return route

        return Serving(now.route, now.version, now.weights_hash, now.agent_route, recording)

    clock = DemoClock(1.0, origin=datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    estate = Estate(7, clock, requests_per_second=50.0)
    logged = [
        e["route"]
        for stream, e in estate.run_until(requests / 50.0, serving)
        if stream == "serving" and e.get("kind") == "inference"
    ]
    assert len(logged) == len(seen)
    return [(a, r, lg) for (a, r), lg in zip(seen, logged, strict=True)]


@pytest.mark.parametrize("condition", CONDITIONS, ids=str)
def test_flagd_provider_resolves_the_route_the_demo_serves(
    tmp_path: Path, condition: FlagCondition
) -> None:
    write_initial_control(tmp_path)
    write_conditions(tmp_path / FLAG_FILE, MODEL, condition)
    served = _served(tmp_path, 1200)
    assert len(served) >= 1000

    provider = FlagdProvider(
        resolver_type=ResolverType.FILE, offline_flag_source_path=str(tmp_path / FLAG_FILE)
    )
    api.set_provider_and_wait(provider)  # the file read and its flags loaded
    try:
        client = api.get_client()
        assert client.get_provider_status().value == "READY"
        routes = set()
        for attributes, route, logged in served:
            context = dict(attributes)
            key = context.pop("targetingKey")
            details = client.get_string_details(
                serving_flag_key(MODEL), "provider-default", EvaluationContext(key, context)
            )
            assert details.error_code is None, details.error_message
            assert details.value == route == logged, (attributes, details)
            routes.add(route)
    finally:
        api.shutdown()
    # Both sides of the condition were served: the rule routes, it does not just default.
    assert routes == {"model", condition.outside}


def test_bucketing_key_hashes_as_the_flagd_evaluator_does() -> None:
    """The demo's own MurmurHash3 and CBOR (no runtime dependency) agree with the libraries
    the flagd provider buckets with, on keys of every length class."""
    for n in (0, 1, 3, 4, 5, 23, 24, 255, 256, 70000):
        key = ["credit-scorer-route", "applicant-" + "é9"[n % 2] * n]
        assert cbor(key) == cbor2.dumps(key, canonical=True)
        assert murmur3_32(cbor(key)) == mmh3.hash(cbor(key), signed=False)
