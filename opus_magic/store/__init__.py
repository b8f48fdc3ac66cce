"""Store: the history database, its migrations, every SQL query, and export."""
