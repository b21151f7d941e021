"""The rules engine's answer checks: citations, support, answer kinds, polarity, time."""
