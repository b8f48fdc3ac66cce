"""Benchmarks of opus_magic against the bare SDK, the stdlib floor and peer tools (`run.py`)."""
