"""Core: run requests and plans, messages, tools, the engine, budget, session, fan-out and conversations."""
