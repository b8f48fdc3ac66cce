"""One run: what a cell asks for, its plan and pre-flight, the engine that streams it, its record."""
