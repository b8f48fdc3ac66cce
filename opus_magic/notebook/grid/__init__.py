"""`%%opus --each`: a grid built from notebook values and run in a view, interactively, as provider
batches, or as a cascade."""
