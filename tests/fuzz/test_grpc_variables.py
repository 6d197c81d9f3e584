"""template_svc's RenderTemplate from any gRPC client, not only the gateway: a ``Struct`` can carry NaN and
infinities, which JSON cannot; they are INVALID_ARGUMENT on ``variables``, never INTERNAL."""

from __future__ import annotations

import math
import uuid

import grpc
import pytest
from google.protobuf import struct_pb2

from common.grpc.errors import field_violations
from notification.v1 import notification_pb2 as pb
from tests.support.template_service import RunningTemplateService


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
async def test_a_struct_holding_a_number_json_has_not_is_invalid(
    fuzz_template_service: RunningTemplateService, number: float
) -> None:
    slug = f"nan-{uuid.uuid4().hex[:8]}"
    variables = struct_pb2.Struct()
    variables.update({"count": number})
    async with fuzz_template_service.stub() as templates:
        await templates.CreateTemplate(
            pb.CreateTemplateRequest(slug=slug, channel=pb.CHANNEL_EMAIL, subject="s", body="{{ count }}")
        )
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await templates.RenderTemplate(
                pb.RenderTemplateRequest(slug=slug, channel=pb.CHANNEL_EMAIL, variables=variables)
            )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [violation.field for violation in field_violations(refused.value)] == ["variables"]
