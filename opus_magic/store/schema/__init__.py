"""The history's schema, as append-only named migrations (`store/migrations.py` applies them)."""
