"""Tools: definitions from the notebook checked and counted, notebook functions described to the
model, the tool loop (a chain of model calls with the functions run between them), its cost, and
its records."""
