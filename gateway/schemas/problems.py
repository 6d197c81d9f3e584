"""The error body of every failed request: RFC 9457 problem details plus ``request_id`` and ``errors``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    """One field that failed validation."""

    field: str = Field(examples=["variables.name"], description="The field's path, dotted, in REST naming.")
    message: str = Field(examples=["is required by the template"])


class Problem(BaseModel):
    """An RFC 9457 problem: what went wrong, for people (``title``, ``detail``) and programs (``status``)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "/problems/invalid-fields",
                    "title": "Unprocessable Content",
                    "status": 422,
                    "detail": "the request has invalid fields",
                    "instance": "/v1/notifications/send",
                    "request_id": "5f0c2a4e9b1d4c7e8a3f6b2d1c0e9f8a",
                    "errors": [{"field": "variables.name", "message": "is required by the template"}],
                }
            ]
        },
    )

    type: str = Field(
        default="about:blank",
        description="The kind of problem, for programs to branch on: `/problems/<name>` (docs/api.md lists them).",
    )
    title: str = Field(description="The HTTP reason phrase of the status.")
    status: int = Field(ge=400, le=599)
    detail: str = Field(description="What went wrong with this request.")
    instance: str = Field(description="The path of the request.")
    request_id: str | None = Field(default=None, description="The request's X-Request-ID, for support.")
    errors: list[FieldError] | None = Field(default=None, description="Validation errors, one per field.")


class ProblemTypeDescription(BaseModel):
    """What a problem ``type`` means."""

    type: str = Field(examples=["/problems/scope-missing"])
    title: str = Field(examples=["Forbidden"])
    status: int = Field(examples=[403])
    description: str
