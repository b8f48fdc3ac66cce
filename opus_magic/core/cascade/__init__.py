"""Cascades: each row to a cheap model first, on to the next model when its answer is not
accepted, and what the policy costs and keeps of the last model's quality."""
