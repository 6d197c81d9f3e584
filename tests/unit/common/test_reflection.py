"""common.grpc.reflection builds on grpcio-reflection's private aio servicer (the public API serialises
descriptors without their comments). grpcio-reflection is pinned for that; these tests fail when an upgrade
moves or changes what the module relies on, before grpcurl users lose the documentation."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import _base, reflection_pb2
from grpc_reflection.v1alpha._async import ReflectionServicer

from common.grpc.reflection import DocumentedReflectionServicer

CONTRACT = "notification/v1/notification.proto"


def parameters(function: Callable[..., Any]) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_the_private_names_keep_their_signatures() -> None:
    assert parameters(_base._collect_transitive_dependencies) == ["descriptor", "seen_files"]
    assert parameters(_base._not_found_error) == ["original_request"]
    assert parameters(ReflectionServicer.__init__) == ["self", "service_names", "pool"]
    assert parameters(ReflectionServicer._file_by_filename) == ["self", "request", "filename"]
    assert parameters(ReflectionServicer._file_containing_symbol) == ["self", "request", "fully_qualified_name"]
    assert DocumentedReflectionServicer(["x.Y"])._pool is not None  # the pool the base class keeps


async def ask(*requests: reflection_pb2.ServerReflectionRequest) -> list[reflection_pb2.ServerReflectionResponse]:
    async def stream() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
        for request in requests:
            yield request

    servicer = DocumentedReflectionServicer(["notification.v1.UserService"])
    return [reply async for reply in servicer.ServerReflectionInfo(stream(), None)]


def files_of(reply: reflection_pb2.ServerReflectionResponse) -> dict[str, descriptor_pb2.FileDescriptorProto]:
    found = [
        descriptor_pb2.FileDescriptorProto.FromString(raw)
        for raw in reply.file_descriptor_response.file_descriptor_proto
    ]
    return {file.name: file for file in found}


@pytest.mark.parametrize(
    "request_",
    [
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="notification.v1.UserService"),
        reflection_pb2.ServerReflectionRequest(file_by_filename=CONTRACT),
    ],
)
async def test_the_contract_is_answered_with_its_comments_and_imports(
    request_: reflection_pb2.ServerReflectionRequest,
) -> None:
    (reply,) = await ask(request_)
    files = files_of(reply)
    assert "google/protobuf/timestamp.proto" in files
    comments = [location.leading_comments for location in files[CONTRACT].source_code_info.location]
    assert any(comment.strip() for comment in comments)


async def test_an_unknown_symbol_is_not_found() -> None:
    (reply,) = await ask(reflection_pb2.ServerReflectionRequest(file_containing_symbol="no.such.Service"))
    assert reply.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]
