"""Grids: variants × models × rows, their checks, pacing within rate limits, summaries and batches."""
