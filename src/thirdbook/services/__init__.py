"""The one API over everything else, called by the TUI, the CLI and the tests alike: plain
services with their dependencies passed in, all built by `factory`."""
