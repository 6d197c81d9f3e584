"""One-click unsubscribe (RFC 8058, docs/api.md "Unsubscribe"): the email worker signs a token into each
non-transactional email's ``List-Unsubscribe`` URL, the gateway's ``/u/{token}`` verifies it. One module for
both, so the two can never disagree on the format."""
