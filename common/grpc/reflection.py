"""Server reflection that keeps the contract's comments, so ``grpcurl describe`` shows its documentation.

Generated modules drop the proto's source info, and grpcio-reflection serialises descriptors from the pool,
so it would too. ``make gen`` writes a descriptor set with source info beside the generated code; this
servicer answers file requests with those original bytes.

The public API (``enable_server_reflection``) cannot: it serialises with ``FileDescriptor.CopyToProto``,
which leaves ``source_code_info`` out. So this subclasses the private aio servicer and overrides its file
lookups; grpcio-reflection is pinned exactly and tests/unit/common/test_reflection.py checks what is used.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib.resources import files
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import _base, reflection_pb2
from grpc_reflection.v1alpha._async import ReflectionServicer


def _add_with_dependencies(pool: descriptor_pool.DescriptorPool, file: Any) -> None:
    """Add a generated module's file descriptor to ``pool`` after the files it imports."""
    try:
        pool.FindFileByName(file.name)
        return
    except KeyError:
        pass
    for dependency in file.dependencies:
        _add_with_dependencies(pool, dependency)
    proto = descriptor_pb2.FileDescriptorProto()
    file.CopyToProto(proto)
    pool.Add(proto)


@cache
def _contract() -> tuple[descriptor_pool.DescriptorPool, dict[str, bytes]]:
    pool = descriptor_pool.DescriptorPool()
    documented: dict[str, bytes] = {}
    descriptor_set = descriptor_pb2.FileDescriptorSet.FromString(
        files("notification.v1").joinpath("notification.binpb").read_bytes()
    )
    for file in descriptor_set.file:
        pool.Add(file)
        documented[file.name] = file.SerializeToString()
    # BadRequest too, so grpcurl decodes the field violations in our error details.
    for module in (health_pb2, reflection_pb2, error_details_pb2):
        _add_with_dependencies(pool, module.DESCRIPTOR)
    return pool, documented


class DocumentedReflectionServicer(ReflectionServicer):
    """The standard aio reflection servicer, answering with descriptors that keep their comments."""

    def __init__(self, service_names: Iterable[str]) -> None:
        pool, self._documented = _contract()
        super().__init__(service_names, pool=pool)

    def _respond(self, descriptor: Any, request: Any) -> reflection_pb2.ServerReflectionResponse:
        found: dict[str, Any] = {}
        _base._collect_transitive_dependencies(descriptor, found)
        serialized = []
        for name, file in found.items():
            if name in self._documented:
                serialized.append(self._documented[name])
            else:
                proto = descriptor_pb2.FileDescriptorProto()
                file.CopyToProto(proto)
                serialized.append(proto.SerializeToString())
        return reflection_pb2.ServerReflectionResponse(
            file_descriptor_response=reflection_pb2.FileDescriptorResponse(file_descriptor_proto=serialized),
            original_request=request,
        )

    def _file_by_filename(self, request: Any, filename: str) -> Any:
        try:
            return self._respond(self._pool.FindFileByName(filename), request)
        except KeyError:
            return _base._not_found_error(request)

    def _file_containing_symbol(self, request: Any, fully_qualified_name: str) -> Any:
        try:
            return self._respond(self._pool.FindFileContainingSymbol(fully_qualified_name), request)
        except KeyError:
            return _base._not_found_error(request)
