"""Grids live and as text: progress, cells, the summary with intervals and verdict, a sample's
projection, cascades over a grid, a grid's batches, and grids read back from the history."""
