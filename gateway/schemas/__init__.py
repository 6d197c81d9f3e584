"""Request and response bodies of the REST contract (CONTRACT.md), with examples for the OpenAPI document."""
