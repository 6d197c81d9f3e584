"""No secret ever shows in a log line or an error body. The whole stack runs at DEBUG with secrets of its own
(API key, JWT secret, internal key, SMTP password, the FCM service account's private key, a user's password
and the token it logs in for); the test walks every path that handles one of them, the failing ones above
all, and then looks for each secret in every line every process printed and in every body it was answered."""

from __future__ import annotations

import asyncio
import base64
import uuid
from typing import Any

import grpc
import httpx
import jwt

from devstack.stack import HOST
from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from tests.integration.security.conftest import SecuredStack

DELIVERY_TIMEOUT_SECONDS = 20.0
FORGING_SECRET = "not-the-jwt-secret-but-as-long-as-one"


class Answers:
    """Every response body (and header) the test received, to search them afterwards."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.tokens: list[str] = []
        """Bodies that hand out an access token, as a login must (searched for every other secret)."""

    def keep(self, response: httpx.Response) -> httpx.Response:
        self.texts.append(response.text)
        self.texts.extend(f"{name}: {value}" for name, value in response.headers.items())
        return response


def private_key_lines(account: dict[str, Any]) -> list[str]:
    """The base64 lines of the service account's PEM private key (each is 64 characters of the secret)."""
    return [line for line in account["private_key"].splitlines() if line and not line.startswith("-----")]


async def wait_final(api: httpx.AsyncClient, notification_id: str) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + DELIVERY_TIMEOUT_SECONDS
    while True:
        body: dict[str, Any] = (await api.get(f"/v1/notifications/{notification_id}")).json()
        if body.get("status") in {"delivered", "failed", "skipped"}:
            return body
        assert asyncio.get_running_loop().time() < deadline, body
        await asyncio.sleep(0.05)


async def exercise_users_and_logins(secured: SecuredStack, answers: Answers) -> str:
    """Create a user, fail and succeed to log in, use good and bad credentials; returns the access token."""
    api, password = secured.api, secured.secrets.user_password
    email = f"sec-{uuid.uuid4().hex[:12]}@example.com"
    user = answers.keep(await api.post("/v1/users", json={"name": "Ada", "email": email, "password": password}))
    assert user.status_code == 201, user.text
    answers.keep(await api.post("/v1/users", json={"name": "Ada", "email": email, "password": password}))  # 409
    answers.keep(await api.post("/v1/users", json={"name": "", "email": "nope", "password": password}))  # 422
    answers.keep(await api.post("/v1/users", json={"name": "Ada", "email": email, "password": [password]}))  # 422
    anonymous = {"X-API-Key": ""}
    for attempt in range(6):  # wrong passwords until the throttle answers 429
        wrong = f"{password}-wrong-{attempt}"
        answers.keep(await api.post("/v1/auth/login", json={"email": email, "password": wrong}, headers=anonymous))
    answers.keep(await api.post("/v1/auth/login", json={"email": f"x{email}", "password": password}, headers=anonymous))
    other = f"sec-{uuid.uuid4().hex[:12]}@example.com"
    created = await api.post("/v1/users", json={"name": "Bob", "email": other, "password": password})
    assert created.status_code == 201, created.text
    login = await api.post("/v1/auth/login", json={"email": other, "password": password}, headers=anonymous)
    assert login.status_code == 200, login.text
    answers.tokens.append(login.text)
    token = str(login.json()["access_token"])
    user_id = created.json()["id"]
    as_user = {"X-API-Key": "", "Authorization": f"Bearer {token}"}
    assert answers.keep(await api.get(f"/v1/users/{user_id}", headers=as_user)).status_code == 200
    answers.keep(await api.get(f"/v1/users/{user.json()['id']}", headers=as_user))  # 403: not its own
    forged = jwt.encode({"sub": user_id, "iat": 0, "exp": 2**31}, FORGING_SECRET, algorithm="HS256")
    answers.keep(await api.get(f"/v1/users/{user_id}", headers={"X-API-Key": "", "Authorization": f"Bearer {forged}"}))
    answers.keep(await api.get("/v1/users", headers={"X-API-Key": secured.secrets.api_key[:-1]}))  # 401
    return token


async def exercise_deliveries(secured: SecuredStack, answers: Answers) -> None:
    """One email through SMTP AUTH and one push through the service account's OAuth, both delivered."""
    api = secured.api
    slug = f"sec-{uuid.uuid4().hex[:10]}"
    for template in (
        {"slug": slug, "channel": "email", "subject": "Hi {{ user.name }}", "body": "Hello {{ user.name }}"},
        {"slug": slug, "channel": "push", "title": "Hi {{ user.name }}", "body": "Hello"},
    ):
        assert answers.keep(await api.post("/v1/templates", json=template)).status_code == 201
    email = f"sec-{uuid.uuid4().hex[:12]}@example.com"
    user = (
        await api.post("/v1/users", json={"name": "Eve", "email": email, "password": secured.secrets.user_password})
    ).json()
    device = f"sec-device-{uuid.uuid4().hex}"
    assert (await api.post(f"/v1/users/{user['id']}/devices", json={"token": device, "platform": "android"})).is_success
    for channel in ("email", "push"):
        sent = answers.keep(
            await api.post("/v1/notifications/send", json={"user_id": user["id"], "channel": channel, "template": slug})
        )
        assert sent.status_code == 202, sent.text
        final = await wait_final(api, sent.json()["notification_id"])
        assert final["status"] == "delivered", final
    async with httpx.AsyncClient(base_url=secured.stack.url("smtp_sink")) as sink:
        delivered = (await sink.get("/messages", params={"recipient": email})).json()
    assert delivered[0]["authenticated_as"] == secured.secrets.smtp_username  # the worker did log in


async def exercise_internal_key(secured: SecuredStack, answers: Answers) -> None:
    """The worker's operator-key endpoint and the gRPC services, with a wrong key and the right one."""
    worker = secured.stack.url("email_worker")
    key = secured.secrets.internal_key
    test_key = secured.secrets.email_test_key
    body = {"to": "ops@example.com", "subject": "check"}
    async with httpx.AsyncClient(base_url=worker, timeout=10) as http:
        refused = answers.keep(await http.post("/test-email", json=body, headers={"X-Test-Key": test_key[:-1]}))
        assert refused.status_code == 401, refused.text
        sent = answers.keep(await http.post("/test-email", json=body, headers={"X-Test-Key": test_key}))
        assert sent.status_code == 200, sent.text
    target = f"{HOST}:{secured.stack.environment['USER_SVC_PORT']}"
    async with grpc.aio.insecure_channel(target) as channel:
        users = pb_grpc.UserServiceStub(channel)
        for metadata in ((("x-internal-api-key", key[:-1]),), (("x-internal-api-key", key),)):
            try:
                await users.GetUser(pb.GetUserRequest(user_id=str(uuid.uuid4())), metadata=metadata, timeout=5)
            except grpc.aio.AioRpcError as error:
                answers.texts.append(error.details() or "")
                answers.texts.extend(str(value) for _, value in error.trailing_metadata() or ())


def occurrences(secret: str, texts: dict[str, str]) -> list[str]:
    """``where: line`` for every line of ``texts`` holding ``secret`` (or its base64)."""
    encoded = base64.b64encode(secret.encode()).decode().rstrip("=")
    return [
        f"{where}: {line[:300]}"
        for where, text in texts.items()
        for line in text.splitlines()
        if secret in line or encoded in line
    ]


async def test_no_secret_reaches_a_log_line_or_a_response(secured: SecuredStack) -> None:
    answers = Answers()
    token = await exercise_users_and_logins(secured, answers)
    await exercise_deliveries(secured, answers)
    await exercise_internal_key(secured, answers)
    await asyncio.sleep(0.5)  # the last log lines of the workers reach their files

    logs = secured.logs()
    assert sum(len(text.splitlines()) for text in logs.values()) > 100, "the stack logged next to nothing"
    bodies = {f"response {index}": text for index, text in enumerate(answers.texts)}
    logins = {f"login response {index}": text for index, text in enumerate(answers.tokens)}
    searched = {**logs, **bodies, **logins}
    key_lines = private_key_lines(secured.service_account())
    named = {
        "GATEWAY_API_KEYS": secured.secrets.api_key,
        "JWT_SECRET": secured.secrets.jwt_secret,
        "GATEWAY_ADMIN_API_KEY": secured.secrets.admin_key,
        "INTERNAL_API_KEY": secured.secrets.internal_key,
        "EMAIL_WORKER_TEST_KEY": secured.secrets.email_test_key,
        "BOUNCE_SIGNING_KEY": secured.secrets.bounce_signing_key,
        "DKIM_KEY_SECRET": secured.secrets.dkim_key_secret,
        "SMTP_PASSWORD": secured.secrets.smtp_password,
        "a user's password": secured.secrets.user_password,
        **{f"service-account key line {n}": line for n, line in enumerate(key_lines)},
    }
    leaks = {name: found for name, secret in named.items() if (found := occurrences(secret, searched))}
    if found := occurrences(token, {**logs, **bodies}):
        leaks["a user's access token"] = found
    assert not leaks, "\n".join(f"{name}:\n  " + "\n  ".join(found[:5]) for name, found in leaks.items())
    hashes = [line for text in searched.values() for line in text.splitlines() if "$argon2" in line]
    assert not hashes, hashes[:5]
