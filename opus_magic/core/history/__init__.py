"""What the history views show, asked of the history: runs by filter, totals per group, grids."""
