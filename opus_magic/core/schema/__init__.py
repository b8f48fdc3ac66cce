"""Answers with a shape: the JSON schema a cell asks for (`--schema`), and answers checked
against it."""
