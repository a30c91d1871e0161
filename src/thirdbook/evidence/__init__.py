"""Evidence: the audit chain's verification and checkpoints, content-addressed objects."""
