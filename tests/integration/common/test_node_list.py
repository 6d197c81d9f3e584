"""Connecting over a node list (``RABBITMQ_URLS``): the first node that answers is used, and a list where none
answers fails with a connection error (the services' start-up then waits and tries again)."""

from __future__ import annotations

import pytest
from yarl import URL

from common.amqp.connection import connect
from devstack.infra import Infra
from devstack.stack import free_port


def _dead_node() -> str:
    return f"amqp://guest:guest@127.0.0.1:{free_port()}/"


async def test_a_node_that_does_not_answer_is_passed_over(infra: Infra) -> None:
    connection = await connect([_dead_node(), infra.rabbitmq_url], name="tests")
    try:
        assert connection.url.port == URL(infra.rabbitmq_url).port
        channel = await connection.channel()
        await channel.close()
    finally:
        await connection.close()


async def test_no_node_answering_is_a_connection_error() -> None:
    with pytest.raises(ConnectionError):
        await connect([_dead_node(), _dead_node()], name="tests")
