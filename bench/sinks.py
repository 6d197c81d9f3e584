"""What reached the dev sinks: the SMTP sink's count (HTTP) and its stored files (for duplicates, by
``Message-ID``, which the email worker derives from the notification id), and the FCM server's messages."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import httpx

from devstack.stack import Stack


async def mail_count(http: httpx.AsyncClient, stack: Stack) -> int:
    response = await http.get(f"{stack.url('smtp_sink')}/messages/count")
    response.raise_for_status()
    return int(response.json()["count"])


def mail_ids(folder: Path) -> Counter[str]:
    """How many stored messages carry each notification id (from the ``Message-ID`` header ``<id@domain>``)."""
    found: Counter[str] = Counter()
    with os.scandir(folder) as entries:
        for entry in entries:
            if not entry.name.endswith(".eml"):
                continue
            with open(entry.path, "rb") as file:
                head = file.read(4096)
            for line in head.split(b"\r\n"):
                if line[:11].lower() == b"message-id:":
                    found[line[11:].strip().strip(b"<>").split(b"@")[0].decode()] += 1
                    break
                if not line:
                    found["(no Message-ID)"] += 1
                    break
    return found


async def push_stats(http: httpx.AsyncClient, stack: Stack) -> dict[str, int | None]:
    """What the FCM server accepted in all: ``accepted`` and ``duplicates`` (a notification id, its collapse
    key, sent to the same token twice)."""
    response = await http.get(f"{stack.url('fcm_server')}/messages/stats")
    response.raise_for_status()
    stats: dict[str, int | None] = response.json()
    return stats
