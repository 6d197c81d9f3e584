"""Issue 14, finding 1, end to end: a stored template that grows a string past the render limit one uninterruptible
step at a time (bytes round trips, doubling macros, ``caller()``, set, filter and block captures, a lazy
sequence made a list) is refused with 422 on the preview (template_svc: INVALID_ARGUMENT) and on the send (the
gateway renders in-process), and ten such renders at once raise neither process's peak RSS by 50 MB. A method
printed instead of called is refused too, and loops nested deeper than Python compiles are a 422 at creation."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import grpc
import httpx
import pytest

from common.channels import Channel
from common.grpc.client import internal_channel
from devstack.stack import HOST, Stack
from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from tests.fuzz.problems import assert_problem
from tests.integration.security.conftest import SecuredStack
from tests.support.amplifying_templates import AMPLIFIERS, NESTED_LOOPS, PRINTED_FUNCTION

PEAK_GROWTH_LIMIT_KIB = 50 * 1024
REFUSALS = ("over the limit of 262144", "not allowed")
"""What the description of each refusal says (the services run with the default limit)."""


@pytest.fixture(scope="module")
async def stored(secured: SecuredStack) -> dict[str, str]:
    """A recipient's id (``user``) and, by name, the slug of a stored email template of each amplifier and of
    :data:`PRINTED_FUNCTION`; each compiles, so it is accepted."""
    email = f"amplify-{uuid.uuid4().hex[:12]}@example.com"
    body = {"name": "Ada", "email": email, "password": secured.secrets.user_password}
    user = await secured.api.post("/v1/users", json=body)
    assert user.status_code == 201, user.text
    slugs = {"user": user.json()["id"]}
    for name, source in {**AMPLIFIERS, "printed function": PRINTED_FUNCTION}.items():
        slug = f"amplify-{uuid.uuid4().hex[:10]}"
        template = {"slug": slug, "channel": "email", "subject": "Hi", "body": source}
        created = await secured.api.post("/v1/templates", json=template)
        assert created.status_code == 201, (name, created.text)
        slugs[name] = slug
    return slugs


async def preview(secured: SecuredStack, slug: str) -> httpx.Response:
    return await secured.api.post(f"/v1/templates/{slug}/render", json={"channel": "email", "variables": {}})


async def send(secured: SecuredStack, user_id: str, slug: str) -> httpx.Response:
    return await secured.api.post(
        "/v1/notifications/send", json={"user_id": user_id, "channel": "email", "template": slug}
    )


def assert_refused(response: httpx.Response) -> None:
    errors = assert_problem(response, 422)["errors"]
    assert errors[0]["field"] == "body", errors
    assert any(refusal in errors[0]["message"] for refusal in REFUSALS), errors


def service_pid(stack: Stack, name: str) -> int:
    """The pid of the Python process running ``name`` (honcho starts it under a shell that leads its group)."""
    group = stack.processes[name].service_pid()
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
            command = (status.parent / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile
        if int(fields[2]) == group and command[1:3] == [b"-m", name.encode()]:
            return int(status.parent.name)
    raise AssertionError(f"no process of {name} in process group {group}")


def memory_kib(pid: int, field: str) -> int:
    """``VmRSS`` (now) or ``VmHWM`` (the peak since the last reset) of process ``pid``, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def reset_peak_memory(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM starts again from the current RSS


@pytest.mark.parametrize("name", AMPLIFIERS)
async def test_an_amplifying_template_is_refused_on_the_preview_and_the_send(
    secured: SecuredStack, stored: dict[str, str], name: str
) -> None:
    assert_refused(await preview(secured, stored[name]))
    assert_refused(await send(secured, stored["user"], stored[name]))


@pytest.mark.parametrize("name", AMPLIFIERS)
async def test_template_svc_answers_invalid_argument(secured: SecuredStack, stored: dict[str, str], name: str) -> None:
    target = f"{HOST}:{secured.stack.environment['TEMPLATE_SVC_PORT']}"
    async with internal_channel(target, secured.secrets.internal_key) as channel:
        request = pb.RenderTemplateRequest(slug=stored[name], channel=Channel.EMAIL.proto)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await pb_grpc.TemplateServiceStub(channel).RenderTemplate(request, timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert any(refusal in (caught.value.details() or "") for refusal in REFUSALS), caught.value.details()


async def test_ten_amplifying_renders_at_once_stay_within_50_mb_in_each_process(
    secured: SecuredStack, stored: dict[str, str]
) -> None:
    slugs = [stored[name] for name in [*AMPLIFIERS, *AMPLIFIERS][:10]]
    pids = {name: service_pid(secured.stack, name) for name in ("gateway", "template_svc")}
    before = {name: memory_kib(pid, "VmRSS") for name, pid in pids.items()}
    for pid in pids.values():
        reset_peak_memory(pid)

    previews = [preview(secured, slug) for slug in slugs]  # rendered by template_svc
    sends = [send(secured, stored["user"], slug) for slug in slugs]  # rendered by the gateway
    responses = await asyncio.gather(*previews, *sends)

    growth = {name: memory_kib(pid, "VmHWM") - before[name] for name, pid in pids.items()}
    for response in responses:
        assert_refused(response)
    assert all(kib < PEAK_GROWTH_LIMIT_KIB for kib in growth.values()), f"peak RSS growth in KiB: {growth}"


async def test_a_method_printed_instead_of_called_is_refused(secured: SecuredStack, stored: dict[str, str]) -> None:
    for response in (
        await preview(secured, stored["printed function"]),
        await send(secured, stored["user"], stored["printed function"]),
    ):
        errors = assert_problem(response, 422)["errors"]
        assert errors == [
            {"field": "body", "message": "line 1: printing a value: a function or method is not allowed here (call it)"}
        ]


async def test_loops_nested_deeper_than_python_compiles_are_refused_at_creation(secured: SecuredStack) -> None:
    template = {"slug": f"nested-{uuid.uuid4().hex[:10]}", "channel": "email", "subject": "Hi", "body": NESTED_LOOPS}
    created = await secured.api.post("/v1/templates", json=template)
    errors = assert_problem(created, 422)["errors"]
    assert errors == [{"field": "body", "message": "too complex to compile (too many statically nested blocks)"}]
