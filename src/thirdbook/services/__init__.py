"""The one API over everything else, called by the TUI, the CLI and the tests alike."""
