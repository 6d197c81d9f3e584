"""What the gateway opens once at start-up and shares between requests: the Redis client, the database
pool, the RabbitMQ connection and publisher, the gRPC channels, and the background tasks."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aio_pika.abc import AbstractRobustConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from common.amqp.connection import connect
from common.amqp.publisher import Publisher
from common.dead_letter_mover import DeadLetterMover
from common.dead_letter_replay import DeadLetterReplayer
from common.dead_letter_store import DeadLetterStore
from common.dkim_keys import KeySealer
from common.redis_client import RedisClient, redis_client
from gateway.accepting import SendService
from gateway.auth import Authenticator
from gateway.backends import Backends
from gateway.batch import BatchService
from gateway.broadcasts.fanout import FanOut
from gateway.broadcasts.ids import id_key
from gateway.broadcasts.service import BroadcastService
from gateway.broadcasts.store import BroadcastStore
from gateway.content_retention import ContentEraser
from gateway.database import create_pool
from gateway.events import subscribe_to_changes
from gateway.limits import SendGate, UserTokenLimit
from gateway.login_limits import LoginThrottle
from gateway.pages import PageWriter
from gateway.partition_maintenance import PartitionMaintenance
from gateway.profiles import ProfileCache
from gateway.publishing import EnvelopePublisher, PublishedStamper
from gateway.reconciler import Reconciler
from gateway.scheduling.scheduler import Scheduler
from gateway.send import NotificationSender
from gateway.sending_domains import SendingDomainStore
from gateway.settings import GatewaySettings
from gateway.slots import Slots
from gateway.stats import Stats
from gateway.store import NotificationStore
from gateway.suppressions import SuppressionStore
from gateway.template_cache import TemplateCache
from gateway.tenancy.changes import CredentialChanges
from gateway.tenancy.key_cache import CredentialCache
from gateway.tenancy.key_store import ApplicationStore
from gateway.tenancy.purge import ApplicationPurger
from gateway.tenancy.usage import KeyUsage
from gateway.unsubscribing import Unsubscriber
from gateway.user_access import UserAccess
from gateway.webhooks.store import WebhookStore
from templating import RenderLimits, TemplateRenderer

REDIS_RETRY = Retry(NoBackoff(), retries=1, supported_errors=(RedisConnectionError,))
"""A command on a pooled connection Redis closed (it restarted) is sent once more on a new one, so no send
fails on a stale connection and no idempotency claim is left behind. Timeouts are not retried."""


@dataclass
class Resources:
    """The shared clients and services of one gateway process."""

    settings: GatewaySettings
    redis: RedisClient
    db: Any
    """The asyncpg pool of the notifications database."""
    read_db: Any
    """The asyncpg pool of its read replica (``NOTIFICATIONS_READ_DATABASE_URL``), or None."""
    amqp: AbstractRobustConnection
    backends: Backends
    store: NotificationStore
    authenticator: Authenticator
    applications: ApplicationStore
    credentials: CredentialCache
    credential_changes: CredentialChanges
    key_usage: KeyUsage
    purger: ApplicationPurger
    user_access: UserAccess
    gate: SendGate
    login_throttle: LoginThrottle
    login_slots: Slots
    send_slots: Slots
    profiles: ProfileCache
    templates: TemplateCache
    renderer: TemplateRenderer
    publisher: EnvelopePublisher
    stamper: PublishedStamper
    send_service: SendService
    batch_service: BatchService
    broadcast_service: BroadcastService
    fan_out: FanOut
    reconciler: Reconciler
    scheduler: Scheduler
    content_eraser: ContentEraser
    partition_maintenance: PartitionMaintenance
    webhooks: WebhookStore
    suppressions: SuppressionStore
    sending_domains: SendingDomainStore
    unsubscriber: Unsubscriber
    dead_letters: DeadLetterStore
    replayer: DeadLetterReplayer
    stats: Stats

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, settings: GatewaySettings) -> AsyncIterator[Resources]:
        """Open everything and start the background tasks; on exit, close each in the reverse order of opening."""
        async with contextlib.AsyncExitStack() as stack:
            renderer = TemplateRenderer(
                RenderLimits(
                    max_chars=settings.render_max_output_chars,
                    time_limit=settings.render_timeout_seconds,
                    threads=2,
                    cache_size=max(64, settings.template_cache_size * 4),
                )
            )
            stack.callback(renderer.close)
            db = await create_pool(settings.database_url, settings.db_pool_size)
            stack.push_async_callback(db.close)
            read_db = None
            if settings.read_database_url:
                read_db = await create_pool(settings.read_database_url, settings.db_pool_size)
                stack.push_async_callback(read_db.close)
            redis = redis_client(settings.redis_url, socket_connect_timeout=2, socket_timeout=5, retry=REDIS_RETRY)
            stack.push_async_callback(redis.aclose)
            backends = Backends.open(settings)
            stack.push_async_callback(backends.close)
            amqp = await connect(settings.rabbitmq_nodes, name="gateway")
            stack.push_async_callback(amqp.close)
            amqp_publisher = await Publisher.create(amqp, settings.rabbitmq_queue_type)
            publisher = EnvelopePublisher(amqp_publisher, settings.publish_timeout_seconds)
            store = NotificationStore(db, read_pool=read_db, linger_seconds=settings.db_batch_linger_ms / 1000)
            applications = ApplicationStore(db)
            credentials = CredentialCache(
                applications, ttl_seconds=settings.key_cache_seconds, size=settings.key_cache_size
            )
            key_usage = KeyUsage(applications, settings.key_usage_flush_seconds)
            profiles = ProfileCache(
                backends.users,
                timeout=backends.timeout,
                ttl_seconds=settings.profile_cache_seconds,
                size=settings.profile_cache_size,
            )
            stack.push_async_callback(profiles.close)
            templates = TemplateCache(
                backends.templates,
                timeout=backends.timeout,
                ttl_seconds=settings.template_cache_seconds,
                size=settings.template_cache_size,
            )
            await subscribe_to_changes(
                amqp,
                profiles if settings.profile_cache_seconds > 0 else None,
                templates if settings.template_cache_seconds > 0 else None,
                credentials,
            )
            stamper = PublishedStamper(store, settings.published_flush_seconds)
            writer = PageWriter(store, publisher, stamper)
            broadcasts = BroadcastStore(db)
            sender = NotificationSender(profiles, templates, renderer, store, publisher, stamper)
            writer = PageWriter(store, publisher, stamper)
            gate = SendGate(
                redis,
                application_limit=settings.rate_limit_key_per_minute,
                user_limit=settings.rate_limit_user_per_minute,
                window_seconds=settings.rate_limit_window_seconds,
                idempotency_ttl_seconds=settings.idempotency_ttl_seconds,
                claim_seconds=settings.idempotency_lock_seconds,
            )
            resources = cls(
                settings=settings,
                redis=redis,
                db=db,
                read_db=read_db,
                amqp=amqp,
                backends=backends,
                store=store,
                authenticator=Authenticator(
                    settings.api_key_list(),
                    settings.jwt_secret,
                    admin_key=settings.admin_api_key,
                    credentials=credentials,
                    usage=key_usage,
                ),
                applications=applications,
                credentials=credentials,
                credential_changes=CredentialChanges(amqp_publisher, credentials),
                key_usage=key_usage,
                purger=ApplicationPurger(
                    db,
                    backends,
                    interval_seconds=settings.purge_interval_seconds,
                    batch_size=settings.purge_batch_size,
                ),
                user_access=UserAccess(
                    UserTokenLimit(
                        redis,
                        limit=settings.rate_limit_user_token_per_minute,
                        window_seconds=settings.rate_limit_window_seconds,
                    ),
                    profiles,
                ),
                gate=gate,
                login_throttle=LoginThrottle(
                    redis,
                    max_failures=settings.login_max_failures,
                    address_max_failures=settings.login_address_max_failures,
                    window_seconds=settings.login_window_seconds,
                ),
                login_slots=Slots(settings.login_concurrency, "logins"),
                send_slots=Slots(settings.max_sends_in_flight, "sends"),
                profiles=profiles,
                templates=templates,
                renderer=renderer,
                publisher=publisher,
                stamper=stamper,
                send_service=SendService(gate, sender),
                batch_service=BatchService(gate, sender, profiles, writer),
                broadcast_service=BroadcastService(
                    gate, sender, broadcasts, store, backends.users, timeout=backends.timeout
                ),
                fan_out=FanOut(
                    broadcasts,
                    store,
                    backends.users,
                    sender,
                    writer,
                    id_key=id_key(settings.jwt_secret),
                    owner=f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
                    page_size=settings.broadcast_page_size,
                    lease_seconds=settings.broadcast_lease_seconds,
                    interval_seconds=settings.broadcast_interval_seconds,
                    timeout=backends.timeout,
                ),
                reconciler=Reconciler(
                    store,
                    publisher,
                    age_seconds=settings.reconciler_age_seconds,
                    interval_seconds=settings.reconciler_interval_seconds,
                    batch_size=settings.reconciler_batch_size,
                ),
                scheduler=Scheduler(
                    store,
                    sender,
                    profiles,
                    writer,
                    stamper,
                    interval_seconds=settings.scheduler_interval_seconds,
                    batch_size=settings.scheduler_batch_size,
                    concurrency=settings.scheduler_concurrency,
                    lookahead_seconds=settings.scheduler_lookahead_seconds,
                ),
                content_eraser=ContentEraser(
                    db,
                    days=settings.content_days,
                    interval_seconds=settings.content_erase_interval_seconds,
                    batch_size=settings.content_erase_batch_size,
                ),
                partition_maintenance=PartitionMaintenance(
                    db, retention_days=settings.retention_days, interval_seconds=settings.partition_interval_seconds
                ),
                webhooks=WebhookStore(db),
                suppressions=SuppressionStore(db),
                sending_domains=SendingDomainStore(db, KeySealer.of(settings.dkim_key_secret)),
                unsubscriber=Unsubscriber(
                    settings.unsubscribe_keys, backends.users, profiles, db, timeout=backends.timeout
                ),
                dead_letters=DeadLetterStore(db),
                replayer=DeadLetterReplayer(db, amqp_publisher),
                stats=Stats(db, redis, amqp, DeadLetterStore(db), settings.stats_cache_seconds),
            )
            tasks = [
                asyncio.create_task(stamper.run(), name="published-stamper"),
                asyncio.create_task(key_usage.run(), name="key-usage"),
            ]
            if settings.purge_interval_seconds > 0:
                tasks.append(asyncio.create_task(resources.purger.run(), name="application-purger"))
            if settings.reconciler_interval_seconds > 0:
                tasks.append(asyncio.create_task(resources.reconciler.run(), name="reconciler"))
            if settings.scheduler_enabled:
                tasks.append(asyncio.create_task(resources.scheduler.run(), name="scheduler"))
            if settings.broadcast_interval_seconds > 0:
                tasks.append(asyncio.create_task(resources.fan_out.run(), name="broadcast-fan-out"))
            if settings.content_erase_interval_seconds > 0:
                tasks.append(asyncio.create_task(resources.content_eraser.run(), name="content-eraser"))
            if settings.partition_interval_seconds > 0:
                tasks.append(asyncio.create_task(resources.partition_maintenance.run(), name="partition-maintenance"))
            stack.push_async_callback(_stop, tasks)
            if settings.dead_letter_mover_enabled:
                mover = DeadLetterMover(amqp, resources.dead_letters)
                await mover.start()
                stack.push_async_callback(mover.stop)
            # Registered last, so closed first: late confirms still stamp their rows in the stamper's last flush.
            stack.push_async_callback(publisher.close)
            yield resources


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel the background tasks and wait for them to end."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
