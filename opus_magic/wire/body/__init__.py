"""What a request body is written from, whatever the API, and its parts written each API's way:
tool turns, schemas fitted to structured outputs, attachments and their base64 bytes."""
