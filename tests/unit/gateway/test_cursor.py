"""The notification listing's cursor: the last id of the page before, and cursors handed out before keep
working; anything else is a 422 naming ``cursor``."""

from __future__ import annotations

import uuid

import pytest

from gateway.errors import ProblemError
from gateway.routes.notifications import decode_cursor, encode_cursor

ISSUED = "AZL11HsefMOaUT8NK45KEA"
"""A cursor the gateway returned before the shared page-token helper, and the id it carries."""
ISSUED_ID = uuid.UUID("0192f5d4-7b1e-7cc3-9a51-3f0d2b8e4a10")


def test_an_issued_cursor_still_decodes_and_encodes_the_same() -> None:
    assert decode_cursor(ISSUED) == ISSUED_ID
    assert encode_cursor(ISSUED_ID) == ISSUED


def test_a_cursor_round_trips() -> None:
    notification_id = uuid.uuid4()
    assert decode_cursor(encode_cursor(notification_id)) == notification_id


@pytest.mark.parametrize("bad", ["%%%", "é", ISSUED[:-2], str(ISSUED_ID)])
def test_anything_else_is_a_422_naming_cursor(bad: str) -> None:
    with pytest.raises(ProblemError) as caught:
        decode_cursor(bad)
    assert caught.value.status == 422
    assert caught.value.errors == [{"field": "cursor", "message": "is not a cursor this API returned"}]
