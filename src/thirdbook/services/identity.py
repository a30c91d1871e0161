"""Who is acting, from the operating system: the user and uid of this process and where the
session is used from (SSH, a browser through `thirdbook serve`, or this machine). Never a
typed-in name."""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass

from thirdbook.domain.incidents import Actor


@dataclass(frozen=True)
class Session:
    """Where one console session is used from, and why it only looks when it was asked to.

    The default is a terminal session: its origin from SSH_CONNECTION, else 'local'."""

    origin: str | None = None
    """The origin recorded with each action (None: from the SSH environment)."""
    read_only_why: str | None = None
    """Why this session may only look, as a sentence's subject and verb ("this browser
    session is read-only (…)"); None: it was not asked to (or not for a reason of its own)."""


TERMINAL = Session()


def browser_session(address: str, *, allow_actions: bool) -> Session:
    """A console that `thirdbook serve` started for one browser connection from `address`
    (host:port as the server saw it): its actions, where allowed, have the origin
    `browser from ADDRESS`; without `--allow-actions` it only looks."""
    why = (
        None
        if allow_actions
        else "this browser session is read-only (`thirdbook serve` was started without "
        "--allow-actions)"
    )
    return Session(origin=f"browser from {address}", read_only_why=why)


def ssh_origin(environ: dict[str, str] | None = None) -> str:
    """`ssh from ADDRESS:PORT` from SSH_CONNECTION (or SSH_CLIENT), else 'local'."""
    env = os.environ if environ is None else environ
    for name in ("SSH_CONNECTION", "SSH_CLIENT"):
        parts = env.get(name, "").split()
        if len(parts) >= 2:
            return f"ssh from {parts[0]}:{parts[1]}"
    return "local"


def current_actor(session: Session = TERMINAL) -> Actor:
    """This process's user (from the password database, not $USER), uid and the session's
    origin."""
    uid = os.getuid()
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = f"uid-{uid}"
    return Actor(user=user, uid=uid, origin=session.origin or ssh_origin())
