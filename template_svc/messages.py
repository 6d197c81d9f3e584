"""Repository records as protobuf messages."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from common.channels import Channel
from notification.v1 import notification_pb2 as pb
from template_svc.repository import TemplateVersion


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
    )
