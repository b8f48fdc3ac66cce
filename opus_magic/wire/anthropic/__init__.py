"""Claude's native Messages API: the transport and the anthropic-version a body needs, its event
stream read into the shared stream events, and the Files API that uploads attachments once."""
