"""The keys one send-gate call touches share a Redis Cluster hash slot whatever the recipient and the
Idempotency-Key hold (braces included: the application's tag comes first, and Redis hashes the first ``{…}``),
while applications, and a user token's limiter, spread over the slots."""

import uuid

from hypothesis import given
from hypothesis import strategies as st
from redis.crc import key_slot

from gateway.redis_keys import application_limiter, idempotency_record, recipient_limiter, user_token_limiter

ANY_TEXT = st.text(min_size=1, max_size=60)


@given(application=st.uuids(), user=ANY_TEXT, idempotency_key=ANY_TEXT)
def test_the_keys_of_one_gate_call_share_the_applications_slot(
    application: uuid.UUID, user: str, idempotency_key: str
) -> None:
    names = [
        application_limiter(str(application)),
        recipient_limiter(str(application), user),
        idempotency_record(str(application), idempotency_key),
    ]
    assert len({key_slot(name.encode()) for name in names}) == 1


def test_applications_and_user_token_limiters_spread_over_the_slots() -> None:
    applications = [str(uuid.uuid4()) for _ in range(200)]
    assert len({key_slot(application_limiter(a).encode()) for a in applications}) > 150
    tokens = {key_slot(user_token_limiter(applications[0], str(uuid.uuid4())).encode()) for _ in range(200)}
    assert len(tokens) > 150
