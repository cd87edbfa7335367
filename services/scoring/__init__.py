"""scoring: turns stored events into indicator counts, incrementally (contributions and deltas)."""
