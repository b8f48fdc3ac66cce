"""Message Batches and OpenAI batches: held, answered when their delay is up, served as results."""
