"""Template versions the gateway renders in-process (with ``templating``, the renderer template_svc
uses), fetched from template_svc and kept for a while.

A send looks its template up by application, slug, channel and wanted locale; a miss asks template_svc for what
``RenderTemplate`` would render (``GetTemplate`` with ``fallback``: the locale chain is template_svc's). Every
template write publishes ``TemplateChanged`` on ``notifications.events``; the gateway then forgets every
cached locale of that slug and channel in that application (it does the same at once for the writes it
proxies), so a change applies to the next send, and the lifetime bounds staleness only while the broker is
unreachable.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

from common.channels import Channel
from gateway.schemas.categories import TRANSACTIONAL
from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from templating import Sender, template_parts


@dataclass(frozen=True, slots=True)
class TemplateVersion:
    """What a send renders: the locale and version found, the parts by name, the push data keys, the email
    sender, and the version's category with that category's transactional flag."""

    locale: str
    version: int
    parts: dict[str, str]
    data_keys: tuple[str, ...]
    sender: Sender
    category: str = TRANSACTIONAL
    transactional: bool = True

    @classmethod
    def of(cls, template: pb.Template) -> TemplateVersion:
        data = dict(template.data)
        parts = template_parts(
            subject=template.subject, body=template.body, html_body=template.html_body, title=template.title, data=data
        )
        category = template.category or TRANSACTIONAL
        sender = Sender.of(template)
        return cls(template.locale, template.version, parts, tuple(data), sender, category, template.transactional)


TemplateKey = tuple[str, str, str, str]
"""(application id, slug, channel, wanted locale)"""


class TemplateCache:
    """Active template versions by (application, slug, channel, wanted locale), each for 75-100 % of ``ttl_seconds`` (0:
    always ask)."""

    def __init__(
        self, templates: pb_grpc.TemplateServiceStub, *, timeout: float, ttl_seconds: float, size: int
    ) -> None:
        self._templates = templates
        self._timeout = timeout
        self._ttl = ttl_seconds
        self._size = size
        self._entries: dict[TemplateKey, tuple[TemplateVersion, float]] = {}
        self._evictions = 0

    def cached(self, application_id: str, slug: str, channel: str, locale: str) -> TemplateVersion | None:
        """The version held for this lookup when a fresh one is held."""
        entry = self._entries.get((application_id, slug, channel, locale))
        return entry[0] if entry is not None and entry[1] >= time.monotonic() else None

    async def get(self, application_id: str, slug: str, channel: str, locale: str) -> TemplateVersion:
        """The active version of the application's ``slug`` on ``channel`` for ``locale`` (after fallback);
        raises the backend's ``AioRpcError`` (NOT_FOUND when no locale of the chain has the template)."""
        key = (application_id, slug, channel, locale)
        entry = self._entries.get(key)
        if entry is not None:
            if entry[1] >= time.monotonic():
                return entry[0]
            self._entries.pop(key, None)
        evictions = self._evictions
        reply = await self._templates.GetTemplate(
            pb.GetTemplateRequest(
                application_id=application_id,
                slug=slug,
                channel=Channel(channel).proto,
                locale=locale,
                fallback=True,
            ),
            timeout=self._timeout,
        )
        found = TemplateVersion.of(reply.template)
        if self._ttl > 0 and evictions == self._evictions:
            if len(self._entries) >= self._size:
                self._entries.pop(next(iter(self._entries)))
            lifetime = self._ttl * random.uniform(0.75, 1.0)  # noqa: S311 - jitter, not secrecy
            self._entries[key] = (found, time.monotonic() + lifetime)
        return found

    def evict(self, application_id: str, slug: str, channel: str) -> None:
        """Forget every cached locale of the application's ``slug`` on ``channel`` (it changed)."""
        self._evictions += 1
        for key in [key for key in self._entries if key[:3] == (application_id, slug, channel)]:
            del self._entries[key]

    def clear(self, *_: Any) -> None:
        """Forget every template (change events may have been missed)."""
        self._evictions += 1
        self._entries.clear()
