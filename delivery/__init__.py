"""The worker runtime: everything a delivery worker does except talking to its provider (consuming, claims,
status rows and history, retries, dead letters, the breaker, the rate ceiling, metrics, the HTTP side, a
graceful shutdown). docs/workers.md says how to write a worker on it."""
