"""`python -m tests.multi_event_cli ARGS`: the thirdbook command line with the test format
of `tests.multi_event_format` registered (a separate module, so that parse workers import the
format by that module's name rather than as `__main__`)."""

from __future__ import annotations

import sys

import tests.multi_event_format  # noqa: F401  (registers the format)
from thirdbook.cli import main

if __name__ == "__main__":
    sys.exit(main())
