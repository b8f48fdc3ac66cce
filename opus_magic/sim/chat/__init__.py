"""OpenAI chat completions as the simulator writes them: the SSE chunks and tool calls."""
