"""Repository records as protobuf messages."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from common.channels import Channel
from notification.v1 import notification_pb2 as pb
from template_svc.repository import Category, TemplateVersion
from template_svc.tables import TRANSACTIONAL


def timestamp(moment: datetime) -> Timestamp:
    """A protobuf timestamp of ``moment``."""
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def now() -> Timestamp:
    """A protobuf timestamp of the current time."""
    stamp = Timestamp()
    stamp.GetCurrentTime()
    return stamp


def template_message(record: TemplateVersion) -> pb.Template:
    """The ``Template`` message of one version."""
    content = record.content
    return pb.Template(
        slug=record.key.slug,
        channel=Channel(record.key.channel).proto,
        locale=record.key.locale,
        version=record.version,
        active_version=record.active_version,
        subject=content.subject,
        body=content.body,
        html_body=content.html_body,
        title=content.title,
        data=content.data,
        from_name=content.from_name,
        from_email=content.from_email,
        reply_to=content.reply_to,
        created_at=timestamp(record.created_at),
        updated_at=timestamp(record.version_created_at),
        category=content.category,
        transactional=record.transactional,
    )


BUILT_IN_CATEGORY = pb.Category(key=TRANSACTIONAL, name="Transactional", transactional=True)
"""The category every application has; its times are left unset."""


def category_message(record: Category) -> pb.Category:
    """The ``Category`` message of a stored category."""
    return pb.Category(
        key=record.key,
        name=record.name,
        transactional=record.transactional,
        created_at=timestamp(record.created_at),
        updated_at=timestamp(record.updated_at),
    )
