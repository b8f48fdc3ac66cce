"""A cell's runs, live and as text: one run's panel, state, HTML and controls, a fan-out across
models in columns, a tool loop step by step, and attachments as chips."""
