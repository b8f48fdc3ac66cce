"""The opus-magic command line."""
