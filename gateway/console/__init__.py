"""The operator's web console at ``/console`` (docs/design.md §7 "The console"): server-rendered pages that call
the gateway's REST API in process with the signed-in key, never a database."""
