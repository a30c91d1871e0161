"""thirdbook: the third runbook, a terminal console for AI incident response."""

__version__ = "0.1.0"
