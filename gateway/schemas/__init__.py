"""Request and response bodies of the REST contract (docs/design.md §3 REST), with examples for the OpenAPI document."""
