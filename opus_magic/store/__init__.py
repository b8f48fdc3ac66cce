"""Store: the run history (SQLite, or PostgreSQL when shared), migrations, every query, export."""
