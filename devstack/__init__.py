"""Dev tooling: the local stack runner, infrastructure helpers, the dev SMTP sink, the FCM-compatible server and
the demo seed. Tests and the bench import it; no production package does, and the wheel leaves it out."""
