"""Trigger rules and their incremental evaluation (no I/O)."""
