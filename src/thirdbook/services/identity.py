"""Who is acting, from the operating system: the user and uid of this process and the SSH
origin of the session. Never a typed-in name."""

from __future__ import annotations

import os
import pwd

from thirdbook.domain.incidents import Actor


def ssh_origin(environ: dict[str, str] | None = None) -> str:
    """`ssh from ADDRESS:PORT` from SSH_CONNECTION (or SSH_CLIENT), else 'local'."""
    env = os.environ if environ is None else environ
    for name in ("SSH_CONNECTION", "SSH_CLIENT"):
        parts = env.get(name, "").split()
        if len(parts) >= 2:
            return f"ssh from {parts[0]}:{parts[1]}"
    return "local"


def current_actor() -> Actor:
    """This process's user (from the password database, not $USER), uid and origin."""
    uid = os.getuid()
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = f"uid-{uid}"
    return Actor(user=user, uid=uid, origin=ssh_origin())
