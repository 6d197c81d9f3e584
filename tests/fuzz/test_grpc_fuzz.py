"""Every RPC of UserService and TemplateService (from the service descriptors) called with the internal key and
random requests built from the message descriptors (any text, numbers, enum values, nested messages): the
answer is a reply or a deliberate error code, never UNKNOWN or INTERNAL (docs/design.md §3: never UNKNOWN from our
code), so no caller input reaches an unhandled exception or a database error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.grpc.client import internal_channel
from notification.v1 import notification_pb2 as pb
from tests.support.template_service import RunningTemplateService
from tests.support.user_service import RunningUserService

METHODS = [method for service in pb.DESCRIPTOR.services_by_name.values() for method in service.methods]
REFUSED = {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNIMPLEMENTED}
MAX_DEPTH = 3
texts = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", " ", "\x00", "a\r\nb", "welcome", "en", "pt-BR", "ada@example.com", "' OR 1=1 --"]),
    st.uuids().map(str),
)
SCALARS: dict[int, st.SearchStrategy[Any]] = {
    FieldDescriptor.TYPE_STRING: texts,
    FieldDescriptor.TYPE_BYTES: st.binary(max_size=30),
    FieldDescriptor.TYPE_BOOL: st.booleans(),
    FieldDescriptor.TYPE_INT32: st.integers(min_value=-(2**31), max_value=2**31 - 1),
    FieldDescriptor.TYPE_INT64: st.integers(min_value=-(2**63), max_value=2**63 - 1),
    FieldDescriptor.TYPE_UINT32: st.integers(min_value=0, max_value=2**32 - 1),
    FieldDescriptor.TYPE_DOUBLE: st.floats(allow_nan=True, allow_infinity=True),
}


def value_of(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if field.enum_type is not None:
        return st.sampled_from([value.number for value in field.enum_type.values] + [99])
    if field.message_type is not None:
        return messages(field.message_type, depth + 1)
    return SCALARS[field.type]


def messages(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[Message]:
    """Random instances of ``descriptor``: each field set or left out, maps and lists short, nesting bounded."""
    message_class = GetMessageClass(descriptor)
    if descriptor.full_name == "google.protobuf.Struct":
        return st.dictionaries(texts, st.one_of(texts, st.floats(), st.booleans(), st.none()), max_size=3).map(
            lambda values: _struct(message_class, values)
        )
    if depth > MAX_DEPTH:
        return st.just(message_class())

    @st.composite
    def build(draw: st.DrawFn) -> Message:
        message = message_class()
        for field in descriptor.fields:
            if not draw(st.booleans()):
                continue
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                key_field, value_field = (
                    field.message_type.fields_by_name["key"],
                    field.message_type.fields_by_name["value"],
                )
                entries = draw(st.dictionaries(value_of(key_field, depth), value_of(value_field, depth), max_size=3))
                target = getattr(message, field.name)
                for key, value in entries.items():
                    if value_field.type == FieldDescriptor.TYPE_MESSAGE:
                        target[key].CopyFrom(value)
                    else:
                        target[key] = value
            elif field.is_repeated:
                items = draw(st.lists(value_of(field, depth), max_size=3))
                getattr(message, field.name).extend(items)
            elif field.type == FieldDescriptor.TYPE_MESSAGE:
                getattr(message, field.name).CopyFrom(draw(value_of(field, depth)))
            else:
                setattr(message, field.name, draw(value_of(field, depth)))
        return message

    return build()


def _struct(message_class: type[Message], values: dict[str, Any]) -> Message:
    struct = message_class()
    struct.update(values)  # type: ignore[attr-defined]
    return struct


@pytest.fixture(scope="module")
async def channels(
    fuzz_user_service: RunningUserService, fuzz_template_service: RunningTemplateService
) -> AsyncIterator[dict[str, grpc.aio.Channel]]:
    """A channel sending the internal key to each service, by service name."""
    async with (
        internal_channel(fuzz_user_service.target, fuzz_user_service.settings.internal_api_key) as users,
        internal_channel(fuzz_template_service.target, fuzz_template_service.settings.internal_api_key) as templates,
    ):
        yield {"UserService": users, "TemplateService": templates}


async def status_of(channel: grpc.aio.Channel, method: MethodDescriptor, request: Message) -> grpc.StatusCode:
    call = channel.unary_unary(
        f"/{method.containing_service.full_name}/{method.name}",
        request_serializer=lambda message: message.SerializeToString(),
        response_deserializer=GetMessageClass(method.output_type).FromString,
    )
    try:
        await call(request, timeout=10)
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


@pytest.mark.parametrize("method", METHODS, ids=[f"{m.containing_service.name}.{m.name}" for m in METHODS])
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
async def test_random_requests_never_end_in_unknown_or_internal(
    channels: dict[str, grpc.aio.Channel], method: MethodDescriptor, data: st.DataObject
) -> None:
    request = data.draw(messages(method.input_type), label="request")
    code = await status_of(channels[method.containing_service.name], method, request)
    assert code not in REFUSED, f"{method.name} answered {code.name}"
