"""Reconciling the history with what the providers billed."""
