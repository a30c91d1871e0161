"""RELIABILITY D4: secrets are masked on screen and in the command line's output by default;
showing one is an explicit, audited action; the evidence keeps the raw bytes."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.helpers import event_line, ingest_once, source
from thirdbook.cli import main
from thirdbook.demo.runner import DemoServingLayer
from thirdbook.domain.errors import TriageRefusedError
from thirdbook.domain.secrets import find_secrets, mask_secrets
from thirdbook.domain.text import visible
from thirdbook.services.factory import Context, Services, open_services
from thirdbook.store import Store
from thirdbook.tui.app import ThirdbookApp
from thirdbook.tui.widgets.event_table import EventTable

AWS = "AKIAIOSFODNN7EXAMPLE"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
    "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
)
GITHUB = "ghp_" + ("a1B2c3D4e5F6g7H8i9J0" * 2)[:36]
KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAz5\n-----END RSA PRIVATE KEY-----"


@pytest.mark.parametrize(
    ("text", "secret", "kind"),
    [
        (f"creds {AWS} used", AWS, "AWS Access Key"),
        (f"Authorization: Bearer {JWT}", JWT, "JSON Web Token"),
        ("Authorization: Bearer abcdef123456ghijkl7890", "abcdef123456ghijkl7890", "Bearer token"),
        (f"token={GITHUB}", GITHUB, "GitHub Token"),
        (f"pem {KEY} end", KEY, "Private Key"),
        ('{"password": "hunter2!", "user": "bob"}', "hunter2!", "Secret Keyword"),
        (
            "slack xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx ok",
            "xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx",
            "Slack Token",
        ),
    ],
)
def test_each_kind_of_secret_is_masked_whole_and_the_rest_kept(
    text: str, secret: str, kind: str
) -> None:
    masked = mask_secrets(text)
    assert secret not in masked and f"‹secret: {kind}›" in masked
    # Nothing of the secret is left beside the mask (a JWT keeps no signature, a key no body).
    before, _, after = text.partition(secret)
    assert masked == f"{before}‹secret: {kind}›{after}" or kind == "Secret Keyword"
    assert [s.kind for s in find_secrets(text)] == [kind]


def test_hashes_ids_and_the_demo_traffic_are_not_taken_for_secrets(tmp_path: Path) -> None:
    layer = DemoServingLayer(tmp_path / "demo", seed=7, start=datetime(2026, 11, 27, tzinfo=UTC))
    layer.reset()
    layer.advance_to(200)  # all four situations, with their hashes, ids and prompts
    layer.close()
    lines = [line for path in layer.logs.glob("*.jsonl") for line in path.read_text().splitlines()]
    assert len(lines) > 500
    assert [line for line in lines if mask_secrets(line) != line] == []


def test_visible_masks_before_cutting_so_a_secret_across_the_cut_stays_hidden() -> None:
    text = "x" * 95 + AWS
    shown = visible(text, 100)
    assert "AKIA" not in shown and shown.endswith(f"…(+{len(text) - 100} chars)")
    assert AWS in visible(text, reveal=True)


@pytest.fixture
async def store_with_secret(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "thirdbook.db"
    store = await Store.open(path)
    log = tmp_path / "serving.jsonl"
    leaky = event_line(2).replace(
        b'"decision":"decline"', f'"decision":"decline","note":"key {AWS}"'.encode()
    )
    log.write_bytes(event_line(1) + leaky + event_line(3))
    await ingest_once(store, source(log))
    await store.close()
    return path


async def test_the_screen_masks_and_shows_a_secret_only_when_asked_with_a_reason(
    store_with_secret: Path,
) -> None:
    async def open_console() -> Services:
        return await open_services(Context.for_store(store_with_secret))

    app = ThirdbookApp(open_console, ingest=False, subtitle="test")
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(1500):
            await pilot.pause(0.02)
            if app.query_one(EventTable).row_count == 3:
                break
        await pilot.press("tab", "j", "r")  # the second newest event, its raw line
        await pilot.pause()
        detail = str(app.query_one("#detail").render())
        assert "‹secret: AWS Access Key›" in detail and AWS not in detail
        await pilot.press("S")
        await pilot.pause()
        await pilot.press("enter")  # no reason: refused in the dialog
        await pilot.pause()
        assert "A reason is required." in str(app.screen.query_one("#error").render())
        await pilot.press(*"rotate the leaked key", "enter")
        for _ in range(1500):
            await pilot.pause(0.02)
            if AWS in str(app.query_one("#detail").render()):
                break
        detail = str(app.query_one("#detail").render())
        assert AWS in detail and "SECRETS SHOWN (audited)" in detail
        await pilot.press("k", "j")  # moving off and back masks it again
        await pilot.pause()
        assert AWS not in str(app.query_one("#detail").render())
    store = await Store.open(store_with_secret)
    [record] = [r.content for r in await store.audit.records()]
    assert record["action"] == "reveal-secrets" and record["outcome"] == "done"
    assert record["detail"]["reason"] == "rotate the leaked key"
    assert record["detail"]["kinds"] == ["AWS Access Key"] and record["actor"]["user"]
    await store.close()


async def test_a_reveal_needs_a_reason_and_something_masked(store_with_secret: Path) -> None:
    console = await open_services(Context.for_store(store_with_secret))
    with pytest.raises(TriageRefusedError, match="needs a reason"):
        await console.queries.reveal_secrets(2, "  ")
    with pytest.raises(TriageRefusedError, match="nothing is masked"):
        await console.queries.reveal_secrets(1, "curious")
    event, kinds = await console.queries.reveal_secrets(2, "incident 4")
    assert AWS.encode() in event.raw and kinds == ["AWS Access Key"]
    outcomes = [r.content["outcome"] for r in await console.store.audit.records()]
    assert outcomes == ["refused", "refused", "done"]
    await console.close()


def test_events_command_masks_unless_told_why(store_with_secret: Path) -> None:
    env = {"THIRDBOOK_DATA_DIR": str(store_with_secret.parent)}
    runner = CliRunner()
    masked = runner.invoke(main, ["events", "--json"], env=env)
    assert masked.exit_code == 0 and AWS not in masked.output
    assert (
        "‹secret: AWS Access Key›"
        in json.loads(masked.output.splitlines()[1])["event"]["response"]["note"]
    )
    shown = runner.invoke(main, ["events", "--json", "--reveal-secrets", "rotating it"], env=env)
    assert shown.exit_code == 0 and AWS in shown.output
    refused = runner.invoke(main, ["events", "--reveal-secrets", " "], env=env)
    assert refused.exit_code == 2 and "reason" in refused.output

    async def audited() -> list[str]:
        store = await Store.open(store_with_secret)
        try:
            return [r.content["detail"]["reason"] for r in await store.audit.records()]
        finally:
            await store.close()

    assert asyncio.run(audited()) == ["rotating it"]


def test_the_patterns_are_cached_per_install_and_a_bad_cache_is_rebuilt(tmp_path: Path) -> None:
    import subprocess
    import sys

    from thirdbook.services.secret_patterns import load_secret_patterns

    load_secret_patterns(tmp_path)
    [cache] = list(tmp_path.glob("secret-patterns-*.json"))
    # A later start reads the cache and never imports detect-secrets (a quarter of a second).
    probe = (
        "import sys; from pathlib import Path; "
        "from thirdbook.services.secret_patterns import load_secret_patterns; "
        f"load_secret_patterns(Path({str(tmp_path)!r})); "
        "from thirdbook.domain.secrets import mask_secrets; "
        f"print(mask_secrets('k {AWS}'), 'detect_secrets' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["k", "‹secret:", "AWS", "Access", "Key›", "False"]
    kept = json.loads(cache.read_text())
    cache.write_text("[]")  # emptied (or tampered with): rebuilt from the library, not trusted
    load_secret_patterns(tmp_path)
    assert json.loads(cache.read_text()) == kept
    assert AWS not in mask_secrets(f"k {AWS}")
    # A screen edited (the AWS key's literal changed) fails the check: rebuilt, not trusted.
    edited = json.loads(cache.read_text())
    aws = next(i for i, p in enumerate(edited["patterns"]) if p[0] == "AWS Access Key")
    edited["screens"][aws] = [["NOT-IN-ANY-KEY"], False]
    cache.write_text(json.dumps(edited))
    load_secret_patterns(tmp_path)
    assert AWS not in mask_secrets(f"k2 {AWS}")
    assert json.loads(cache.read_text()) == kept


def test_the_literal_screen_respects_case_folding_inside_a_pattern() -> None:
    from thirdbook.domain import secrets

    try:
        secrets.install(
            [
                ("Test Token", r"(?i:tok)EN_[0-9]{6}", 0, 0, False),
                ("Exact", r"XY_[0-9]{6}", 0, 0, False),
            ]
        )
        assert secrets.mask_secrets("a TOKEN_123456 b") == "a ‹secret: Test Token› b"
        assert secrets.mask_secrets("a xy_123456 XY_123456") == "a xy_123456 ‹secret: Exact›"
    finally:
        secrets.install(secrets.detector_patterns())
