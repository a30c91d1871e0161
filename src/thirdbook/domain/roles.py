"""An incident's roles: who commands it, who keeps its record (the scribe) and who speaks for
it (communications); each given by someone at a time. Pure: what a role holder is and which
names a role may hold."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from thirdbook.domain.errors import TriageRefusedError

Role = Literal["commander", "scribe", "communications"]
ROLES: tuple[str, ...] = ("commander", "scribe", "communications")
"""The roles, in the order they are shown."""

MAX_USER_CHARS = 64
"""A role holder is a person's name or login, not a sentence."""


class RoleHolder(BaseModel):
    """Who holds a role of an incident, who gave it to them, and when."""

    model_config = ConfigDict(frozen=True)

    role: Role
    user: str
    by_user: str
    at: datetime
    declared: bool = Field(
        default=False,
        description="The declarer as commander: no one has handed the incident over yet.",
    )


def role_holder_name(role: str, user: str) -> tuple[Role, str]:
    """The role and the name it goes to, checked: a known role, and one short, printable
    name (what was typed, stripped)."""
    if role not in ROLES:
        raise TriageRefusedError(f"{role!r} is not a role ({', '.join(ROLES)})")
    name = user.strip()
    if not name:
        raise TriageRefusedError(f"the {role} role needs someone to hold it")
    if len(name) > MAX_USER_CHARS:
        raise TriageRefusedError(f"a {role}'s name is at most {MAX_USER_CHARS} characters")
    if not name.isprintable():
        raise TriageRefusedError(f"a {role}'s name cannot hold control characters")
    return cast("Role", role), name


def handover_text(role: str, before: str | None, after: str, by_user: str) -> str:
    """The timeline's line for a role given: "commander: alice -> bob (handed over by
    alice)", or "scribe: carol (assigned by alice)" when no one held it before."""
    if before is None:
        return f"{role}: {after} (assigned by {by_user})"
    return f"{role}: {before} -> {after} (handed over by {by_user})"
