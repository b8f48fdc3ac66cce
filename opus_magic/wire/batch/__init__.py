"""Provider batch engines (Anthropic's Message Batches, OpenAI's Batch API) and their results
read one line at a time."""
