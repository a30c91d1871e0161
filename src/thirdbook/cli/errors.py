"""The command line's last line of defence: any failure is one sentence and a non-zero exit.

A command's own refusals are already sentences (`click.ClickException`). Anything else that
reaches the top is turned into one here, by what it is (a damaged or full store, a file that
cannot be written, ...); its traceback is saved to a log file whose path the sentence names,
or, with `--debug`, shown as Python would.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from thirdbook import __version__
from thirdbook.domain.errors import ConfigError, StoreError

# What only a failure needs (making text visible, writing a traceback) is imported when one
# happens: every command, `--help` first, imports this module.


class ThirdbookGroup(click.Group):
    """The `thirdbook` group: a failure anywhere below it ends in one sentence."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            # The reader went away (`thirdbook events | head -1`): not a failure of ours.
            # Quiet, as a tool killed by SIGPIPE is, and nothing left to flush at exit.
            _stdout_to_devnull()
            raise click.exceptions.Exit(141) from None
        except Exception as exc:
            if ctx.params.get("debug"):
                raise
            raise click.ClickException(failure_sentence(exc, ctx)) from exc


def _stdout_to_devnull() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def failure_sentence(exc: BaseException, ctx: click.Context) -> str:
    """One line that says what failed and, unless it was foreseen, where the traceback is."""
    from thirdbook.domain.text import visible

    obj: dict[str, Any] = ctx.obj if isinstance(ctx.obj, dict) else {}
    command = ctx.invoked_subcommand or "console"
    if isinstance(exc, StoreError | ConfigError):  # already a sentence that says why
        return visible(str(exc), 1000)
    # Only on a failure: importing these on every start would cost every command.
    from thirdbook.services.factory import crash_dir
    from thirdbook.services.failures import explain

    what = explain(exc, _store_path(obj)) or f"an unexpected error ({type(exc).__name__}: {exc})"
    log = save_traceback(exc, crash_dir(obj.get("data_dir")))
    where = f"the traceback is in {log}" if log else "no log file could be written"
    # Cut a long message, never the log file's name.
    return f"{visible(f'{command} failed: {what}', 1500)} ({visible(where)}; --debug shows it here)"


def _store_path(obj: dict[str, Any]) -> Path | None:
    from thirdbook.services.factory import Context

    try:
        return Context.load(
            obj.get("data_dir"), obj.get("config"), demo=bool(obj.get("demo"))
        ).store_path
    except Exception:  # the config itself may be what failed
        return None


def save_traceback(exc: BaseException, crashes: Path) -> Path | None:
    """Write the traceback to a new file readable only by this user, in `crashes` (inside
    the data directory, when that exists), else in a private directory in $TMPDIR; None if
    none can be."""
    import tempfile
    import traceback

    from thirdbook.domain import clock

    stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
    private = Path(tempfile.gettempdir()) / f"thirdbook-{os.geteuid()}"
    candidates = [crashes] if crashes.parent.is_dir() else []
    for directory in [*candidates, private]:
        try:
            directory.mkdir(mode=0o700, exist_ok=True)
            st = directory.lstat()
            if not directory.is_dir() or directory.is_symlink() or st.st_uid != os.geteuid():
                continue  # not ours: someone else's directory, or a link planted in $TMPDIR
            path = directory / f"crash-{stamp}-{os.getpid()}.log"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except OSError:
            continue
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as out:
            out.write(f"thirdbook {__version__} at {stamp}\nargv: {sys.argv!r}\n\n")
            out.write("".join(traceback.format_exception(exc)))
        return path
    return None
