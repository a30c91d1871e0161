"""`thirdbook.toml`: the one configuration file, validated by pydantic.

A bad file is reported with the exact key that is wrong and why; nothing starts on a config
that does not validate.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

# ConfigError is raised here and defined below every layer (the CLI tells it without pydantic).
from thirdbook.domain.errors import ConfigError as ConfigError
from thirdbook.domain.formats import DEFAULT_FORMAT, UnknownFormatError, format_named
from thirdbook.domain.regulatory import RegulatoryConfig
from thirdbook.domain.rules import TriggerSettings


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(_Section):
    """A watched source: paths or globs of log files in one format."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    paths: list[str] = Field(min_length=1)
    format: str = Field(
        default=DEFAULT_FORMAT,
        description="The format of its lines, by name (thirdbook.domain.formats).",
    )
    olddirs: list[str] = Field(
        default_factory=list,
        description="Directories where rotations of these files land besides their own "
        "(logrotate's olddir); searched for the unread rest of a rotated file.",
    )

    @field_validator("format")
    @classmethod
    def _known_format(cls, name: str) -> str:
        try:
            format_named(name)
        except UnknownFormatError as exc:
            raise ValueError(str(exc)) from None
        return name


class StoreConfig(_Section):
    """Where the store lives (default: `thirdbook.db` in the data directory)."""

    path: Path | None = None
    busy_timeout_ms: int = Field(default=10_000, ge=100)


class IngestConfig(_Section):
    """How the tailer reads."""

    max_line_bytes: int = Field(default=1 << 20, ge=1024)
    batch_lines: int = Field(default=10_000, ge=1, le=100_000)
    read_chunk_bytes: int = Field(default=1 << 20, ge=4096)
    debounce_ms: int = Field(default=150, ge=10, le=5000)
    poll_interval_s: float = Field(default=1.0, gt=0, le=60)
    release_after_s: float = Field(default=2.0, ge=0)
    rotation_wait_s: float = Field(
        default=10.0,
        ge=0,
        description="How long the rest of a truncated or vanished file is looked for (its "
        "copy, its compressed rotation) before what is missing is recorded as a gap.",
    )
    lease_ttl_s: float = Field(default=5.0, gt=0.5)


class DemoConfig(_Section):
    """The built-in demo estate."""

    seed: int = 7
    speed: float = Field(default=5.0, gt=0, le=10_000)
    requests_per_second: float = Field(default=4.0, gt=0, le=10_000)


class ConsoleConfig(_Section):
    """How the console looks and which keys do what."""

    theme: str = Field(default="thirdbook-dark", min_length=1)
    keymap: dict[str, str] = Field(
        default_factory=dict, description="binding id -> keys, e.g. declare = 'D'"
    )
    runbooks_dir: Path | None = Field(
        default=None, description="Your runbooks; default: 'runbooks' beside this file."
    )
    themes_dir: Path | None = Field(
        default=None, description="Your themes; default: 'themes' beside this file."
    )


HookAction = Literal["kill-switch", "rollback", "quarantine"]


class HookConfig(_Section):
    """A command to run or a webhook to call when a containment action is taken."""

    action: HookAction = Field(description="The containment action this hook serves.")
    command: list[str] | None = Field(
        default=None, min_length=1, description="argv to run (no shell); JSON on stdin."
    )
    url: str | None = Field(
        default=None, pattern=r"^https?://", description="URL to POST the JSON to."
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="Webhook headers; ${NAME} is read from the environment."
    )
    timeout_s: float = Field(default=10, gt=0, le=600, description="Then it is stopped.")
    when: Literal["also", "instead"] = Field(
        default="also",
        description="'also': after thirdbook's own change; 'instead': in place of it.",
    )

    @model_validator(mode="after")
    def _one_target(self) -> HookConfig:
        if (self.command is None) == (self.url is None):
            raise ValueError("give exactly one of command or url")
        return self

    @property
    def target(self) -> str:
        """What it runs or calls, for people."""
        return " ".join(self.command) if self.command else str(self.url)


class ContainmentConfig(_Section):
    """What the serving layer reads, so snapshots can keep it and containment can change it."""

    registry: Path | None = Field(default=None, description="The model registry file.")
    flag_file: Path | None = Field(default=None, description="The flagd kill-switch file.")
    weights_dir: Path | None = Field(
        default=None, description="Weights as <dir>/<model>/<version>/*: re-hashed by snapshots."
    )
    window_before_s: float = Field(
        default=900, ge=0, description="How far before the first alert a snapshot reaches."
    )
    follow_control_symlinks: bool = Field(
        default=False,
        description="A flag file, registry or quarantine list that is a symbolic link: read, "
        "copy and write the file it points at (default: refuse the link).",
    )
    hooks: list[HookConfig] = Field(
        default_factory=list, description="Commands or webhooks run by containment actions."
    )


class ReplayEndpointConfig(_Section):
    """Where one model version answers a replay: an OpenAI-compatible chat-completions
    endpoint (`url`, the base URL as OpenAI clients take it) or a command (one JSON object
    on stdin, one on stdout)."""

    url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="Base URL, e.g. http://127.0.0.1:8000/v1 (POST {url}/chat/completions).",
    )
    command: list[str] | None = Field(default=None, min_length=1, description="argv (no shell).")
    model: str | None = Field(
        default=None, description="The model name sent in the request (default: the version)."
    )
    api_key_env: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="The environment variable holding the API key (never stored or shown).",
    )
    timeout_s: float = Field(default=30, gt=0, le=600, description="Per request.")

    @model_validator(mode="after")
    def _one_target(self) -> ReplayEndpointConfig:
        if (self.command is None) == (self.url is None):
            raise ValueError("give exactly one of command or url")
        return self


class ReplayExtractConfig(_Section):
    """How the decision is read from an answer: a JSON path into a JSON answer (default:
    its `decision` field), a regular expression over the text (its first group), or a
    command (the answer's JSON on stdin, the decision on stdout)."""

    json_path: str | None = Field(
        default="decision", description="Dotted path, e.g. result.decision"
    )
    regex: str | None = None
    command: list[str] | None = Field(default=None, min_length=1)


class ReplayConfig(_Section):
    """Replay of logged decisions against model versions (`thirdbook replay`)."""

    endpoints: dict[str, ReplayEndpointConfig] = Field(
        default_factory=dict, description="Model version -> where it answers."
    )
    concurrency: int = Field(default=8, ge=1, le=256, description="Requests in flight.")
    retries: int = Field(default=3, ge=0, le=10, description="On 429, 5xx and timeouts.")
    max_answer_bytes: int = Field(default=1 << 20, ge=1024, description="Larger is refused.")
    seed: int = Field(default=7, description="Sent with temperature 0.")
    extract: ReplayExtractConfig = ReplayExtractConfig()
    check_command: list[str] | None = Field(
        default=None,
        min_length=1,
        description="Says the expected decision of an input (its record's JSON on stdin).",
    )


class Settings(_Section):
    """Everything `thirdbook.toml` can say."""

    store: StoreConfig = StoreConfig()
    ingest: IngestConfig = IngestConfig()
    sources: list[SourceConfig] = Field(default_factory=list)
    triggers: TriggerSettings = TriggerSettings()
    demo: DemoConfig = DemoConfig()
    console: ConsoleConfig = ConsoleConfig()
    containment: ContainmentConfig = ContainmentConfig()
    replay: ReplayConfig = ReplayConfig()
    report: RegulatoryConfig = RegulatoryConfig()


def _location(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        else:
            parts.append(item)
    return ".".join(parts) or "(top level)"


def parse_settings(text: str, origin: str = "thirdbook.toml") -> Settings:
    """Settings from TOML text; raises `ConfigError` naming each bad key."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: not valid TOML: {exc}") from exc
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{origin}: {exc.error_count()} problem(s):"]
        for err in exc.errors():
            message = err["msg"].removeprefix("Value error, ")  # our own sentence, whole
            lines.append(f"  {_location(err['loc'])}: {message}")
        raise ConfigError("\n".join(lines)) from exc
    names = [s.name for s in settings.sources]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{origin}: sources: duplicate name(s): {', '.join(duplicates)}")
    return settings


def load_settings(path: Path) -> Settings:
    """Settings from a file; a missing file means the defaults."""
    return read_settings(path)[0]


def read_settings(path: Path) -> tuple[Settings, bytes | None]:
    """`load_settings`, with the bytes the settings were read from (None: no file)."""
    try:
        data = path.read_bytes()
        text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")  # as read_text
    except FileNotFoundError:
        return Settings(), None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    return parse_settings(text, str(path)), data


EXAMPLE_CONFIG = """\
# thirdbook.toml: the console's configuration.
# Default location: $XDG_CONFIG_HOME/thirdbook/thirdbook.toml (override: --config or
# THIRDBOOK_CONFIG). Every key is optional; the values shown are the defaults.

[store]
# The SQLite store. Default: thirdbook.db in the data directory
# ($XDG_DATA_HOME/thirdbook, override: --data-dir or THIRDBOOK_DATA_DIR).
# It must be on a local disk: a network filesystem is refused (WAL needs one host).
# path = "/var/lib/thirdbook/thirdbook.db"
busy_timeout_ms = 10000

[ingest]
# A line longer than this is rejected with its reason (the first bytes are kept).
max_line_bytes = 1048576
# Rows committed per transaction, together with the new file offset.
batch_lines = 10000
read_chunk_bytes = 1048576
# File-watch debounce, and the periodic stat that backs the watcher up.
debounce_ms = 150
poll_interval_s = 1.0
# A file renamed out of the watched paths or deleted is read to its end, then released
# once it has not grown for this long.
release_after_s = 2.0
# Exactly one process ingests a store; another takes over once the holder's heartbeat
# is this old.
lease_ttl_s = 5.0

# Watched sources: paths or globs, each with a format ("thirdbook" JSON lines, v1).
[[sources]]
name = "serving"
paths = ["/var/log/ai-serving/*.jsonl"]
format = "thirdbook"

# Triggers: bands, patterns and lanes are declared, never guessed.
# A metric of a model (version) outside its band for N consecutive windows:
[[triggers.drift]]
name = "credit-scorer accuracy"
model = "credit-scorer"
metric = "accuracy"
low = 0.85
consecutive = 3

# At least `count` reports of one category against one model or agent within a window:
[[triggers.feedback]]
name = "wrong declines"
category = "wrong_decline"
count = 5
window_s = 600

# What an autonomous agent may do; anything else is an alert on its first occurrence:
[[triggers.lanes]]
agent = "support-agent"
tools = ["lookup_account", "send_email", "issue_refund"]
targets = ["acct-*"]
max_amount = 100

# An inquiry about a decision whose record is missing, or lacks any of the four things on
# tape (model version with weights hash, prompt as sent, response, downstream action):
[triggers]
unexplainable = true

[console]
# A theme from themes/ (shipped: thirdbook-dark, thirdbook-light, thirdbook-high-contrast,
# thirdbook-mono) or from your own themes directory. NO_COLOR=1 picks thirdbook-mono.
theme = "thirdbook-dark"
# Your runbooks and themes (default: the 'runbooks' and 'themes' directories beside this
# file). A runbook of yours with a shipped runbook's name replaces it.
# runbooks_dir = "~/.config/thirdbook/runbooks"
# themes_dir = "~/.config/thirdbook/themes"

# Remap keys by binding id (the help screen, '?', lists every id):
[console.keymap]
# declare = "D"
# dismiss = "X,delete"

# What the serving layer reads: snapshots keep copies, containment changes them.
[containment]
# registry = "/etc/ai-serving/registry.json"
# flag_file = "/etc/ai-serving/killswitch.flagd.json"
# weights_dir = "/srv/models"        # <dir>/<model>/<version>/*, re-hashed by snapshots
# A snapshot reaches this far before the incident's first alert:
window_before_s = 900
# A control file (flag file, registry, quarantine list) that is a symbolic link is refused,
# unread. true: use the file it points at (read, copied by snapshots, written atomically in
# its own directory, and named as what was written). The lock beside it is never a link.
follow_control_symlinks = false

# A containment action can also (or instead) run a command or call a webhook. It gets the
# incident and the action as JSON (stdin or POST body); its exit status or HTTP status and
# its output are recorded on the timeline (the whole output as an evidence object).
# [[containment.hooks]]
# action = "kill-switch"             # kill-switch | rollback | quarantine
# command = ["/usr/local/bin/page-review-desk", "--urgent"]
# timeout_s = 10
# when = "also"                      # also: after thirdbook's own change; instead: in its place
# [[containment.hooks]]
# action = "rollback"
# url = "https://deploy.internal/hooks/rollback"
# headers = { Authorization = "Bearer ${DEPLOY_HOOK_TOKEN}" }

# What the post-incident report (`thirdbook report`) cannot read from the store; a field
# left out says "to complete" in the report.
[report]
# system_id = "credit-scorer"
# organisation = "Acme Lending Ltd"  # the reporter, and the deployer unless `deployer` says
# sector = "consumer credit"
# developer = "Acme Models Ltd"
# autonomy_level = "Autonomy2"       # CSET: Autonomy1 (no human), 2, or 3
# harm_domain = "financial"
# stakeholders = "loan applicants"

[demo]
seed = 7
# Demo seconds per real second.
speed = 5.0
# Credit decisions per demo second.
requests_per_second = 4.0
"""
