"""Claude's Messages API as the simulator writes it: the answer's blocks, its event stream, prompt
caching, tools and server tools, and the API-version rules for sampling parameters."""
