"""The sink's state: the stored messages (``.eml`` files in a folder) and the failure rules."""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

ANY_RECIPIENT = "*"
BOUNCE_ADDRESS = re.compile(r"^bounce-(?P<code>[45]\d\d)(?:[+.].*)?@", re.IGNORECASE)
SINK_HEADERS = ("X-Sink-Mail-From", "X-Sink-Recipients", "X-Sink-Authenticated-As")
"""Headers the sink prepends to each stored file to keep the SMTP envelope (as an MTA's Return-Path would)."""


@dataclass
class FailureRule:
    """Refuse a recipient with ``code`` for ``remaining`` more attempts (None: until cleared)."""

    code: int
    message: str
    remaining: int | None = None


def default_reply(code: int, address: str) -> str:
    """The reply text for a refusal: an enhanced status code and a readable reason."""
    if code >= 500:
        return f"5.1.1 <{address}>: mailbox unavailable (dev SMTP sink)"
    return f"4.3.0 <{address}>: temporarily unavailable, try again later (dev SMTP sink)"


class Failures:
    """Which recipients are refused, by rule or by the ``bounce-<code>@`` address convention."""

    def __init__(self) -> None:
        self._rules: dict[str, FailureRule] = {}

    def add(self, recipient: str, code: int, times: int | None = None, message: str | None = None) -> None:
        """Refuse ``recipient`` (``*``: everyone) with ``code`` ``times`` times (None: until cleared)."""
        self._rules[recipient.lower()] = FailureRule(code, message or "", times)

    def rules(self) -> dict[str, FailureRule]:
        """The rules by recipient."""
        return dict(self._rules)

    def clear(self) -> None:
        """Forget every rule."""
        self._rules.clear()

    def refusal(self, address: str) -> str | None:
        """The SMTP reply that refuses ``address`` now (spending one of its rule's times), or None to accept."""
        key = address.lower()
        rule = self._rules.get(key) or self._rules.get(ANY_RECIPIENT)
        if rule is not None:
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._rules = {k: r for k, r in self._rules.items() if r is not rule}
            return f"{rule.code} {rule.message or default_reply(rule.code, address)}"
        match = BOUNCE_ADDRESS.match(address)
        if match:
            code = int(match["code"])
            return f"{code} {default_reply(code, address)}"
        return None


def _content(part: Any) -> str | None:
    """A text part's content with plain newlines, or None when there is no such part."""
    return None if part is None else str(part.get_content()).replace("\r\n", "\n")


class Mailbox:
    """Stores each accepted message as ``<time>-<n>.eml`` in ``directory`` and lists them, oldest first."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._names = sorted(path.name for path in directory.glob("*.eml"))
        self._sequence = itertools.count(1)
        self._parsed: dict[str, dict[str, Any]] = {}

    def store(self, mail_from: str, recipients: list[str], content: bytes, login: str | None = None) -> str:
        """Write one message (``login``: the AUTH user, when the client logged in); returns its id."""
        name = f"{time.time_ns()}-{next(self._sequence):06d}.eml"
        envelope = f"X-Sink-Mail-From: {mail_from}\r\nX-Sink-Recipients: {', '.join(recipients)}\r\n"
        if login:
            envelope += f"X-Sink-Authenticated-As: {login.replace(chr(13), '').replace(chr(10), '')}\r\n"
        (self.directory / name).write_bytes(envelope.encode() + content)
        self._names.append(name)
        return name.removesuffix(".eml")

    def messages(self, recipient: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """The stored messages, oldest first, optionally only those for ``recipient`` and the newest ``limit``."""
        found = [self._summary(name) for name in list(self._names)]
        if recipient:
            wanted = recipient.lower()
            found = [item for item in found if wanted in (r.lower() for r in item["recipients"])]
        return found[-limit:] if limit else found

    def count(self) -> int:
        """How many messages are stored."""
        return len(self._names)

    def clear(self) -> None:
        """Delete every stored message."""
        for name in self._names:
            (self.directory / name).unlink(missing_ok=True)
        self._names.clear()
        self._parsed.clear()

    def _summary(self, name: str) -> dict[str, Any]:
        if name not in self._parsed:
            path = self.directory / name
            message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            text = message.get_body(("plain",))
            html = message.get_body(("html",))
            self._parsed[name] = {
                "id": name.removesuffix(".eml"),
                "received_at": datetime.fromtimestamp(int(name.split("-")[0]) / 1e9, UTC).isoformat(),
                "mail_from": str(message.get("X-Sink-Mail-From", "")),
                "recipients": [r.strip() for r in str(message.get("X-Sink-Recipients", "")).split(",") if r.strip()],
                "authenticated_as": message.get("X-Sink-Authenticated-As"),
                "subject": message.get("Subject"),
                "message_id": message.get("Message-ID"),
                "headers": {key: str(value) for key, value in message.items() if key not in SINK_HEADERS},
                "text": _content(text),
                "html": _content(html),
                "file": str(path),
            }
        return self._parsed[name]
