"""gRPC errors: exceptions a servicer raises, turned into the right status code, with field violations as
``google.rpc.BadRequest`` rich status details (docs/design.md §3). One encoder and one decoder for the whole mesh."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

DETAILS_METADATA_KEY = "grpc-status-details-bin"


@dataclass(frozen=True)
class FieldViolation:
    """One wrong field: its path in REST naming (``variables.name``) and what is wrong with it."""

    field: str
    description: str


class ServiceError(Exception):
    """An error a servicer raises on purpose; the server answers with ``code`` and the message."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, message: str, violations: Iterable[FieldViolation] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.violations = tuple(violations)


class InvalidArgument(ServiceError):
    """A field is wrong; ``violations`` says which."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    @classmethod
    def field(cls, field: str, description: str) -> InvalidArgument:
        """The error for one wrong field."""
        return cls(f"{field}: {description}", [FieldViolation(field, description)])


class NotFound(ServiceError):
    """The named entity does not exist."""

    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(ServiceError):
    """The entity to create exists already."""

    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(ServiceError):
    """The system is not in a state that allows the call."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class ResourceExhausted(ServiceError):
    """The service is at capacity and refuses more work for now; the caller may retry shortly."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(ServiceError):
    """A dependency (database, cache, broker) is down; the caller may retry."""

    code = grpc.StatusCode.UNAVAILABLE


def to_status(code: grpc.StatusCode, message: str, violations: Iterable[FieldViolation] = ()) -> grpc.Status:
    """A status with ``violations`` packed as a ``google.rpc.BadRequest`` detail when there are any."""
    details = []
    violations = list(violations)
    if violations:
        detail = any_pb2.Any()
        detail.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                    for v in violations
                ]
            )
        )
        details.append(detail)
    proto = status_pb2.Status(code=code.value[0], message=message, details=details)
    return rpc_status.to_status(proto)


def field_violations(error: grpc.aio.AioRpcError | grpc.RpcError) -> list[FieldViolation]:
    """The field violations a failed call carried in its rich status details (empty when none)."""
    trailing = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    for key, value in trailing or ():
        if key == DETAILS_METADATA_KEY and isinstance(value, bytes):
            proto = status_pb2.Status.FromString(value)
            violations: list[FieldViolation] = []
            for detail in proto.details:
                if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                    bad_request = error_details_pb2.BadRequest()
                    detail.Unpack(bad_request)
                    violations.extend(FieldViolation(v.field, v.description) for v in bad_request.field_violations)
            return violations
    return []
