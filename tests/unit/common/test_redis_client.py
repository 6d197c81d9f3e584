"""``REDIS_URL`` and ``REDIS_CLUSTER``: a cluster URL (or the flag) gives every service a Redis Cluster client, a
plain URL a plain one, and a setting a cluster cannot honour is refused at start-up, naming the variable."""

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from common.redis_client import redis_client
from common.settings import SettingsError, load_settings
from delivery.settings import WorkerSettings
from gateway.settings import GatewaySettings


def test_a_plain_url_gives_a_plain_client_and_a_cluster_url_a_cluster_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/3")
    settings = load_settings(GatewaySettings)
    assert (settings.redis_url, settings.redis_cluster) == ("redis://cache:6379/3", False)
    assert type(redis_client(settings.redis_url)) is Redis
    monkeypatch.setenv("REDIS_URL", "redis+cluster://node-1:7000")
    settings = load_settings(GatewaySettings)
    assert settings.redis_cluster is True
    assert isinstance(redis_client(settings.redis_url), RedisCluster)


@pytest.mark.parametrize("flag", ["1", "true"])
def test_redis_cluster_puts_the_url_in_its_cluster_form(monkeypatch: pytest.MonkeyPatch, flag: str) -> None:
    monkeypatch.setenv("REDIS_URL", "rediss://user:secret@node-1:7000/0")
    monkeypatch.setenv("REDIS_CLUSTER", flag)
    settings = load_settings(GatewaySettings)
    assert settings.redis_url == "rediss+cluster://user:secret@node-1:7000/0"
    client = redis_client(settings.redis_url)
    assert isinstance(client, RedisCluster)
    assert client.connection_kwargs["password"] == "secret"


@pytest.mark.parametrize(
    ("url", "flag", "complaint"),
    [
        ("redis+cluster://node-1:7000/2", "0", "only database 0"),
        ("redis://node-1:7000/2", "1", "only database 0"),
        ("unix:///run/redis.sock", "1", "REDIS_CLUSTER=1 needs a redis:// URL"),
        ("http://node-1:7000", "0", "REDIS_URL"),
    ],
)
def test_what_a_cluster_cannot_take_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, url: str, flag: str, complaint: str
) -> None:
    monkeypatch.setenv("REDIS_URL", url)
    monkeypatch.setenv("REDIS_CLUSTER", flag)
    with pytest.raises(SettingsError, match=complaint):
        load_settings(WorkerSettings)
