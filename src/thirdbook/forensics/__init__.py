"""Investigation: baselines of known-good, the chain diff against them, and replay of
decisions against two model versions."""
