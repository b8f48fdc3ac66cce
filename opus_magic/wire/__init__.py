"""Wire: endpoints and the HTTP client, stream state, status explanations, retries and the circuit breaker."""
