"""Every RPC of UserService and TemplateService (read from the service descriptors, so a new RPC is covered
the day it is added) refuses a caller without the internal key, or with a wrong one, as UNAUTHENTICATED; the
same call with the key gets past the check. Health stays open, as load balancers need it."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message_factory import GetMessageClass
from grpc_health.v1 import health_pb2, health_pb2_grpc

from devstack.stack import HOST
from notification.v1 import notification_pb2 as pb
from tests.integration.security.conftest import SecuredStack

SERVICES: dict[str, ServiceDescriptor] = dict(pb.DESCRIPTOR.services_by_name)
PORTS = {"UserService": "USER_SVC_PORT", "TemplateService": "TEMPLATE_SVC_PORT"}
METHODS = [(name, method) for name, service in SERVICES.items() for method in service.methods]


def test_every_service_of_the_contract_is_covered() -> None:
    assert set(SERVICES) == set(PORTS)
    assert len(METHODS) >= 18


async def call(target: str, method: MethodDescriptor, metadata: tuple[tuple[str, str], ...]) -> grpc.StatusCode:
    """The status of ``method`` called with an empty request and ``metadata``."""
    assert not method.client_streaming, "streaming RPCs need their own caller"
    assert not method.server_streaming, "streaming RPCs need their own caller"
    request_class = GetMessageClass(method.input_type)
    response_class = GetMessageClass(method.output_type)
    async with grpc.aio.insecure_channel(target) as channel:
        stub = channel.unary_unary(
            f"/{method.containing_service.full_name}/{method.name}",
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )
        try:
            await stub(request_class(), metadata=metadata, timeout=5)
        except grpc.aio.AioRpcError as error:
            return error.code()
        return grpc.StatusCode.OK


@pytest.mark.parametrize(("service", "method"), METHODS, ids=[f"{s}.{m.name}" for s, m in METHODS])
async def test_an_rpc_without_the_internal_key_is_unauthenticated(
    secured: SecuredStack, service: str, method: MethodDescriptor
) -> None:
    target = f"{HOST}:{secured.stack.environment[PORTS[service]]}"
    key = secured.secrets.internal_key
    assert await call(target, method, ()) == grpc.StatusCode.UNAUTHENTICATED
    assert await call(target, method, (("x-internal-api-key", key[:-1] + "x"),)) == grpc.StatusCode.UNAUTHENTICATED
    assert await call(target, method, (("x-internal-api-key", ""),)) == grpc.StatusCode.UNAUTHENTICATED
    with_key = await call(target, method, (("x-internal-api-key", key),))
    assert with_key not in (
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.INTERNAL,
    )


LIST_SERVICES = b"\x3a\x00"
"""A ServerReflectionRequest asking for ``list_services``, serialized."""


def reflection(channel: grpc.aio.Channel) -> grpc.aio.StreamStreamMultiCallable:
    return channel.stream_stream(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        request_serializer=bytes,
        response_deserializer=bytes,
    )


async def list_services(channel: grpc.aio.Channel, metadata: tuple[tuple[str, str], ...]) -> list[bytes]:
    return [reply async for reply in reflection(channel)(iter([LIST_SERVICES]), metadata=metadata, timeout=5)]


async def keyless_reflection_status(channel: grpc.aio.Channel) -> grpc.StatusCode:
    """How a reflection stream opened without the key ends. Nothing is written: a request racing the server's
    refusal made the client report its own failed write (INTERNAL) instead of the server's status."""
    code: grpc.StatusCode = await reflection(channel)(timeout=5).code()
    return code


@pytest.mark.parametrize("service", sorted(PORTS))
async def test_health_needs_no_key_and_reflection_does(secured: SecuredStack, service: str) -> None:
    target = f"{HOST}:{secured.stack.environment[PORTS[service]]}"
    async with grpc.aio.insecure_channel(target) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        assert await keyless_reflection_status(channel) == grpc.StatusCode.UNAUTHENTICATED
        listed = await list_services(channel, (("x-internal-api-key", secured.secrets.internal_key),))
    assert f"notification.v1.{service}".encode() in b"".join(listed)
