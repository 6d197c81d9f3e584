"""Every Redis client of the system is made here, so that one setting moves every service onto a Redis Cluster
(docs/operations.md, "Redis Cluster").

A ``redis+cluster://host:port`` (or ``rediss+cluster://``) URL gives a :class:`RedisCluster`, which learns
the other nodes and the slot map from the node it is given and follows the cluster as it changes; any other
URL gives a plain :class:`Redis`. ``REDIS_CLUSTER=1`` turns a ``redis://`` URL into the cluster form
(:class:`common.settings.ServiceSettings`), so the URL alone says which client to make. Both clients take the
same commands, pipelines and Lua scripts, provided the keys of one script call or one transaction share a hash
slot, which the services' key names see to (gateway/redis_keys.py).
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError

RedisClient = Redis | RedisCluster
"""A client of a single Redis or of a Redis Cluster."""

REDIS_FAILURES: tuple[type[Exception], ...] = (RedisError, RedisClusterException)
"""What a client of either kind raises when Redis fails: a cluster's client also raises
:class:`RedisClusterException` (no node reachable, a slot no node serves), which is no :class:`RedisError`."""

CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
"""The URL schemes of a cluster, and the scheme of one of its nodes."""


def cluster_node_url(url: str) -> str | None:
    """The plain URL of the node a cluster URL names, or None when ``url`` is not a cluster URL."""
    scheme, separator, rest = url.partition("://")
    node_scheme = CLUSTER_SCHEMES.get(scheme.lower())
    if not separator or node_scheme is None:
        return None
    return f"{node_scheme}://{rest}"


def as_cluster_url(url: str) -> str:
    """``url`` (``redis://`` or ``rediss://``, or a cluster URL already) in its cluster form."""
    if cluster_node_url(url) is not None:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}+cluster://{rest}"


def redis_client(url: str, **options: Any) -> RedisClient:
    """A client of the Redis ``url`` names (a cluster for a cluster URL), with the connection ``options``
    (timeouts, retry) of the caller. No connection is made until the first command."""
    node = cluster_node_url(url)
    if node is not None:
        return RedisCluster.from_url(node, **options)
    return Redis.from_url(url, **options)
