"""What an answer says, whichever API asks: written answers, prose, choices, judge replies, schema
values, tool calls, and the tokens a prompt's attachments and tool definitions count."""
