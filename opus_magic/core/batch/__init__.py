"""Provider batch engines: submitting planned runs at the batch price, polling and collecting them."""
