"""The shared gRPC server helper on a real grpc.aio server: internal-key auth, health, reflection, error
mapping with rich details, and the correlation id."""

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from common.grpc.client import internal_channel
from common.grpc.errors import FieldViolation, InvalidArgument, NotFound, field_violations
from common.grpc.server import GrpcServer, build_server
from common.log import request_id_var
from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc

KEY = "test-internal-key"
GRPCURL = str(Path(sys.executable).with_name("grpcurl"))


class EchoUsers(pb_grpc.UserServiceServicer):
    """A UserService whose GetUser answers from the id: enough to exercise the server helper."""

    async def GetUser(self, request: pb.GetUserRequest, context: grpc.aio.ServicerContext) -> pb.GetUserResponse:
        if request.user_id == "bad":
            raise InvalidArgument.field("user_id", "must be a UUID")
        if request.user_id == "missing":
            raise NotFound("user missing does not exist")
        if request.user_id == "boom":
            raise RuntimeError("a bug")
        return pb.GetUserResponse(user=pb.User(id=request.user_id, name=request_id_var.get() or ""))


@pytest.fixture
async def server() -> AsyncIterator[GrpcServer]:
    def register(srv: grpc.aio.Server) -> None:
        pb_grpc.add_UserServiceServicer_to_server(EchoUsers(), srv)
        pb_grpc.add_TemplateServiceServicer_to_server(pb_grpc.TemplateServiceServicer(), srv)

    built = build_server(
        register=register,
        service_names=[pb.DESCRIPTOR.services_by_name[name].full_name for name in ("UserService", "TemplateService")],
        internal_key=KEY,
        address="127.0.0.1:0",
    )
    await built.server.start()
    await built.set_serving(True)
    yield built
    await built.server.stop(0)


def target(server: GrpcServer) -> str:
    return f"127.0.0.1:{server.port}"


@pytest.mark.parametrize("metadata", [(), (("x-internal-api-key", "wrong"),)])
async def test_a_call_without_the_right_key_is_unauthenticated(server: GrpcServer, metadata: tuple) -> None:
    async with grpc.aio.insecure_channel(target(server)) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await pb_grpc.UserServiceStub(channel).GetUser(pb.GetUserRequest(user_id="u1"), metadata=metadata)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_the_right_key_is_accepted_and_carries_the_request_id(server: GrpcServer) -> None:
    async with internal_channel(target(server), KEY) as channel:
        token = request_id_var.set("req-42")
        try:
            reply = await pb_grpc.UserServiceStub(channel).GetUser(pb.GetUserRequest(user_id="u1"))
        finally:
            request_id_var.reset(token)
    assert reply.user.id == "u1"
    assert reply.user.name == "req-42"


async def test_health_answers_without_a_key(server: GrpcServer) -> None:
    async with grpc.aio.insecure_channel(target(server)) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for service in ("", "notification.v1.UserService"):
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=service))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        await server.set_serving(False)
        reply = await stub.Check(health_pb2.HealthCheckRequest(service="notification.v1.UserService"))
        assert reply.status == health_pb2.HealthCheckResponse.NOT_SERVING


async def test_field_violations_travel_as_rich_status_details(server: GrpcServer) -> None:
    async with internal_channel(target(server), KEY) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await pb_grpc.UserServiceStub(channel).GetUser(pb.GetUserRequest(user_id="bad"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(caught.value) == [FieldViolation("user_id", "must be a UUID")]


@pytest.mark.parametrize(
    ("user_id", "code"),
    [("missing", grpc.StatusCode.NOT_FOUND), ("boom", grpc.StatusCode.INTERNAL)],
)
async def test_errors_map_to_their_codes_never_unknown(server: GrpcServer, user_id: str, code: grpc.StatusCode) -> None:
    async with internal_channel(target(server), KEY) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await pb_grpc.UserServiceStub(channel).GetUser(pb.GetUserRequest(user_id=user_id))
    assert caught.value.code() == code
    assert field_violations(caught.value) == []


def grpcurl(server: GrpcServer, *args: str, key: str | None = KEY) -> subprocess.CompletedProcess[str]:
    headers = ["-H", f"x-internal-api-key: {key}"] if key else []
    return subprocess.run(
        [GRPCURL, "-plaintext", *headers, target(server), *args], capture_output=True, text=True, timeout=30
    )


async def test_grpcurl_lists_and_describes_the_services_through_reflection(server: GrpcServer) -> None:
    listed = await asyncio.to_thread(grpcurl, server, "list")
    assert listed.returncode == 0, listed.stderr
    assert "notification.v1.UserService" in listed.stdout.split()
    assert "notification.v1.TemplateService" in listed.stdout.split()

    described = await asyncio.to_thread(grpcurl, server, "describe", "notification.v1.UserService")
    assert "Returns one user with preferences and devices" in described.stdout
    described = await asyncio.to_thread(grpcurl, server, "describe", "notification.v1.MessageEnvelope")
    assert "The notification's id, a UUIDv7." in described.stdout

    refused = await asyncio.to_thread(grpcurl, server, "list", key=None)
    assert refused.returncode != 0
    assert "Unauthenticated" in refused.stderr
