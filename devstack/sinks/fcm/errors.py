"""FCM HTTP v1 error answers, shaped exactly like Google's (status, body, ``Retry-After``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo"


@dataclass(frozen=True)
class FieldViolation:
    """One wrong field of the request, in Google's ``google.rpc.BadRequest`` terms."""

    field: str
    description: str


@dataclass
class FcmError(Exception):
    """An error answer of the FCM API: HTTP status, canonical status name, message and FCM error code."""

    http_status: int
    status: str
    message: str
    error_code: str | None = None
    """The ``FcmError.errorCode`` detail (``UNREGISTERED``...) that firebase-admin maps to its exception types."""
    violations: tuple[FieldViolation, ...] = ()
    reason: str | None = None
    """The ``google.rpc.ErrorInfo`` reason, for authentication and permission errors."""
    retry_after: int | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        """The JSON body Google sends: ``{"error": {"code", "message", "status", "details"}}``."""
        details: list[dict[str, Any]] = []
        if self.error_code:
            details.append({"@type": FCM_ERROR_TYPE, "errorCode": self.error_code})
        if self.violations:
            details.append(
                {
                    "@type": BAD_REQUEST_TYPE,
                    "fieldViolations": [{"field": v.field, "description": v.description} for v in self.violations],
                }
            )
        if self.reason:
            details.append(
                {
                    "@type": ERROR_INFO_TYPE,
                    "reason": self.reason,
                    "domain": "googleapis.com",
                    "metadata": {
                        "service": "fcm.googleapis.com",
                        "method": "google.firebase.fcm.v1.FcmService.SendMessage",
                    },
                }
            )
        error: dict[str, Any] = {"code": self.http_status, "message": self.message, "status": self.status}
        if details:
            error["details"] = details
        return {"error": error}

    def headers(self) -> dict[str, str]:
        """Response headers: ``Retry-After`` when FCM would send one."""
        headers = dict(self.extra_headers)
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return headers


def invalid_json(violations: list[FieldViolation]) -> FcmError:
    """A body that does not parse as a ``SendMessageRequest`` (unknown field, wrong type): 400, no FCM code."""
    return FcmError(
        400,
        "INVALID_ARGUMENT",
        "\n".join(v.description for v in violations),
        violations=tuple(violations),
    )


def invalid_message(field_path: str, description: str) -> FcmError:
    """A message FCM parsed but refuses (no target, reserved data key, too big): 400 ``INVALID_ARGUMENT``."""
    return FcmError(
        400,
        "INVALID_ARGUMENT",
        description,
        error_code="INVALID_ARGUMENT",
        violations=(FieldViolation(field_path, description),),
    )


_AUTH_HELP = (
    "Expected OAuth 2 access token, login cookie or other valid authentication credential. "
    "See https://developers.google.com/identity/sign-in/web/devconsole-project."
)
_WWW_AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'}


def credentials_missing() -> FcmError:
    """No ``Authorization: Bearer`` header: 401 ``UNAUTHENTICATED``."""
    return FcmError(
        401,
        "UNAUTHENTICATED",
        f"Request is missing required authentication credential. {_AUTH_HELP}",
        reason="CREDENTIALS_MISSING",
        extra_headers=_WWW_AUTHENTICATE,
    )


def credentials_invalid() -> FcmError:
    """An unknown or expired access token: 401 ``UNAUTHENTICATED`` (firebase-admin then refreshes its token)."""
    return FcmError(
        401,
        "UNAUTHENTICATED",
        f"Request had invalid authentication credentials. {_AUTH_HELP}",
        reason="ACCESS_TOKEN_EXPIRED",
        extra_headers=_WWW_AUTHENTICATE,
    )


def permission_denied(project: str) -> FcmError:
    """A token of another project's service account: 403 ``PERMISSION_DENIED`` (not a sender-id mismatch)."""
    return FcmError(
        403,
        "PERMISSION_DENIED",
        f"Permission 'cloudmessaging.messages.create' denied on resource "
        f"'//cloudresourcemanager.googleapis.com/projects/{project}' (or it may not exist).",
        reason="IAM_PERMISSION_DENIED",
    )
