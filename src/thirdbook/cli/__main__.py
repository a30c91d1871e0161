"""`python -m thirdbook.cli`: the same command line as `thirdbook`."""

import sys

from thirdbook.cli import main

sys.exit(main())
