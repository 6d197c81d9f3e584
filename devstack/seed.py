"""The demo data of the local stack, through the public REST API: a demo user with an email address and a
device, `welcome` email + push templates in `en` and `pt-BR`, the domain of `SMTP_FROM` as a sending domain of
the default application (with a generated DKIM key, so the stack's mail is signed), and a webhook endpoint of
the default application at the dev webhook receiver, subscribed to every notification event (the receiver is
told its secret, so it verifies each delivery). Safe to run again: an existing demo endpoint gets a fresh
secret, the sending domain keeps its key.

``python -m devstack.seed [--url http://127.0.0.1:8080] [--wait SECONDS]`` waits for the gateway to be ready,
seeds, and prints where everything listens, the operator's key, the default application's key and two curl
commands to try.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from common.applications import DEFAULT_APPLICATION_ID
from common.settings import DEV_GATEWAY_ADMIN_API_KEY

API_KEY = os.environ.get("GATEWAY_API_KEYS", "dev-api-key").split(",")[0].strip()
ADMIN_API_KEY = os.environ.get("GATEWAY_ADMIN_API_KEY", DEV_GATEWAY_ADMIN_API_KEY)
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password"  # noqa: S105 - the documented demo account of the local stack
DEMO_DEVICE = "demo-device-token"
DEMO_WEBHOOK_PATH = "/hooks/demo"
SENDER_DOMAIN = os.environ.get("SMTP_FROM", "notifications@example.com").rpartition("@")[2].strip(" >").lower()
NOTIFICATION_STATUSES = ("queued", "scheduled", "sending", "delivered", "retrying", "failed", "skipped", "cancelled")
NOTIFICATION_EVENTS = [f"notification.{status}" for status in (*NOTIFICATION_STATUSES, "bounced")]

TEMPLATES: list[dict[str, Any]] = [
    {
        "slug": "welcome",
        "channel": "email",
        "locale": "en",
        "subject": "Welcome, {{ name }}!",
        "body": "Hello {{ name }},\n\nwelcome aboard. Start here: {{ link }}\n",
        "html_body": '<p>Hello {{ name }},</p><p>welcome aboard. <a href="{{ link }}">Start here</a>.</p>',
    },
    {
        "slug": "welcome",
        "channel": "email",
        "locale": "pt-BR",
        "subject": "Bem-vindo, {{ name }}!",
        "body": "Olá {{ name }},\n\nseja bem-vindo. Comece aqui: {{ link }}\n",
        "html_body": '<p>Olá {{ name }},</p><p>seja bem-vindo. <a href="{{ link }}">Comece aqui</a>.</p>',
    },
    {"slug": "welcome", "channel": "push", "locale": "en", "title": "Welcome, {{ name }}!", "body": "Tap to start."},
    {"slug": "welcome", "channel": "push", "locale": "pt-BR", "title": "Bem-vindo, {{ name }}!", "body": "Toque."},
]


def call(base: str, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """One JSON request to the gateway (or a dev sink) with the dev API key; returns the status and the decoded
    body."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - the local gateway
        base + path, data=data, method=method, headers={"X-API-Key": API_KEY, "Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def wait_ready(base: str, seconds: float) -> None:
    """Wait until the gateway's /ready answers 200, or exit with what is still down."""
    deadline = time.monotonic() + seconds
    last: Any = "no answer"
    while time.monotonic() < deadline:
        try:
            status, last = call(base, "GET", "/ready")
            if status == 200:
                return
        except OSError as error:
            last = str(error)
        time.sleep(1)
    sys.exit(f"seed: the gateway was not ready after {seconds:.0f}s: {last}")


def seed(base: str) -> str:
    """Create (or find) the demo user, its device and the templates, and turn both of its channels on (whatever
    was done to it since the last seed); returns the demo user's id."""
    status, body = call(base, "POST", "/v1/users", {"name": "Demo", "email": DEMO_EMAIL, "password": DEMO_PASSWORD})
    if status not in (201, 409):
        sys.exit(f"seed: creating the demo user failed: {status} {body}")
    status, token = call(base, "POST", "/v1/auth/login", {"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
    if status != 200:
        sys.exit(f"seed: logging in as the demo user failed: {status} {token}")
    user_id = str(body["id"]) if status == 201 and isinstance(body, dict) and "id" in body else _subject(token)
    status, body = call(base, "PUT", f"/v1/users/{user_id}/preferences", {"email": True, "push": True})
    if status != 200:
        sys.exit(f"seed: turning the demo user's channels on failed: {status} {body}")
    call(base, "POST", f"/v1/users/{user_id}/devices", {"token": DEMO_DEVICE, "platform": "android"})
    for template in TEMPLATES:
        status, body = call(base, "POST", "/v1/templates", template)
        if status not in (201, 409):
            sys.exit(f"seed: creating template {template['channel']}/{template['locale']} failed: {status} {body}")
    return user_id


def seed_sending_domain(base: str) -> dict[str, Any]:
    """The default sender's domain as a sending domain of the default application (its key is generated on the
    first seed and kept after); the DKIM record a real domain would publish."""
    status, body = call(base, "PUT", f"/v1/sending-domains/{SENDER_DOMAIN}")
    if status not in (200, 201):
        sys.exit(f"seed: adding the sending domain {SENDER_DOMAIN} failed: {status} {body}")
    record: dict[str, Any] = body["dns_record"]
    return record


def seed_webhook(base: str, receiver: str) -> dict[str, Any]:
    """Register (or re-key) the demo endpoint at ``receiver`` and tell the receiver its secret; returns the
    endpoint with its secret."""
    url = receiver + DEMO_WEBHOOK_PATH
    status, listing = call(base, "GET", "/v1/webhooks")
    if status != 200:
        sys.exit(f"seed: listing webhook endpoints failed: {status} {listing}")
    existing = [item for item in listing.get("items", listing) if item.get("url") == url]
    if existing:
        endpoint = existing[0]
        status, body = call(base, "POST", f"/v1/webhooks/{endpoint['id']}/rotate-secret")
        endpoint = {**endpoint, **(body if isinstance(body, dict) else {})}
        action = "rotating the demo webhook's secret"
    else:
        status, endpoint = call(
            base,
            "POST",
            "/v1/webhooks",
            {"url": url, "events": NOTIFICATION_EVENTS, "description": "the dev webhook receiver (make up)"},
        )
        action = "creating the demo webhook"
    if status not in (200, 201) or not isinstance(endpoint, dict) or "secret" not in endpoint:
        sys.exit(f"seed: {action} failed: {status} {endpoint}")
    status, body = call(receiver, "POST", "/secrets", {"path_prefix": DEMO_WEBHOOK_PATH, "secret": endpoint["secret"]})
    if status != 204:
        sys.exit(f"seed: telling the webhook receiver the demo secret failed: {status} {body}")
    return endpoint


def _subject(token: dict[str, Any]) -> str:
    import base64

    payload = token["access_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["sub"])


def port(variable: str, default: int) -> str:
    """The port a service of the stack listens on: its variable, else its default."""
    return os.environ.get(variable, str(default))


def banner(base: str, user_id: str, webhook: dict[str, Any], receiver: str, dkim: dict[str, Any]) -> str:
    """Where everything listens, and two curl commands that work as printed."""
    send = (
        f"ID=$(curl -s -X POST {base}/v1/notifications/send -H 'X-API-Key: {API_KEY}' "
        f'-H \'Content-Type: application/json\' -d \'{{"user_id": "{user_id}", "channel": "email", '
        f'"template": "welcome", "variables": {{"name": "Ada", "link": "https://example.com"}}}}\' '
        "| python3 -c 'import json,sys; print(json.load(sys.stdin)[\"notification_id\"])'); echo $ID"
    )
    status = f"curl -s {base}/v1/notifications/$ID -H 'X-API-Key: {API_KEY}'"
    return f"""
================================================================================
 The notification stack is up.
   gateway (REST, docs at /docs)  {base}
   user_svc gRPC                  127.0.0.1:{port("USER_SVC_PORT", 50051)}
   template_svc gRPC              127.0.0.1:{port("TEMPLATE_SVC_PORT", 50052)}
   email_worker                   http://127.0.0.1:{port("EMAIL_WORKER_PORT", 2525)}
   push_worker                    http://127.0.0.1:{port("PUSH_WORKER_PORT", 8081)}
   webhook_worker                 http://127.0.0.1:{port("WEBHOOK_WORKER_PORT", 8082)}
   SMTP sink                      127.0.0.1:{port("SMTP_SINK_PORT", 1025)}, \
messages at http://127.0.0.1:{port("SMTP_SINK_HTTP_PORT", 1080)}/messages
   FCM server                     http://127.0.0.1:{port("FCM_SINK_PORT", 9099)}, messages at /messages
   webhook receiver               {receiver}, deliveries at /deliveries
 Operator key (GATEWAY_ADMIN_API_KEY, manages applications and keys): {ADMIN_API_KEY}
 Default application {DEFAULT_APPLICATION_ID}, its key (GATEWAY_API_KEYS): {API_KEY}
 Demo user: {user_id} ({DEMO_EMAIL})
 Mail from {SENDER_DOMAIN} is DKIM-signed; a real domain would publish the TXT record {dkim["name"]}

 Send an email, then read its status:
   {send}
   {status}
 Demo webhook {webhook["id"]} → {webhook["url"]} (notification.*), secret {webhook["secret"]}
   its deliveries, as the receiver saw and verified them:
   curl -s '{receiver}/deliveries?path_prefix={DEMO_WEBHOOK_PATH}&limit=2'
 Ctrl-C stops everything.
================================================================================
"""


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack.seed")
    parser.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('GATEWAY_PORT', '8080')}")
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for the gateway")
    parser.add_argument(
        "--receiver", default=f"http://127.0.0.1:{port('WEBHOOK_RECEIVER_PORT', 9098)}", help="the webhook receiver"
    )
    args = parser.parse_args()
    wait_ready(args.url, args.wait)
    user_id = seed(args.url)
    dkim = seed_sending_domain(args.url)
    print(banner(args.url, user_id, seed_webhook(args.url, args.receiver), args.receiver, dkim), flush=True)


if __name__ == "__main__":
    main()
