"""The providers' usage and cost reports, read with an admin key: what a report says for a UTC
day and the paging both share, then Anthropic's and OpenAI's endpoints."""
