"""Waiting for a dependency at start-up: tries again with growing pauses, saying what it waits for."""

from __future__ import annotations

import logging

import pytest

from common.waiting import wait_for, where


async def test_tries_again_until_the_dependency_answers_and_says_what_it_waits_for(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tries = []

    async def attempt() -> str:
        tries.append(1)
        if len(tries) < 3:
            raise ConnectionRefusedError("connection refused")
        return "connected"

    with caplog.at_level(logging.WARNING):
        assert await wait_for("RabbitMQ at 127.0.0.1:5672", attempt, first_delay=0.01, max_delay=0.02) == "connected"

    assert len(tries) == 3
    # only this module's records: a background task another test left running may log meanwhile
    waits = [record.getMessage() for record in caplog.records if record.name == "common.waiting"]
    assert waits == [
        "waiting for RabbitMQ at 127.0.0.1:5672 (ConnectionRefusedError: connection refused); trying again in 0.0s",
        "waiting for RabbitMQ at 127.0.0.1:5672 (ConnectionRefusedError: connection refused); trying again in 0.0s",
    ]


def test_where_names_host_and_port_without_credentials() -> None:
    assert where("amqp://guest:secret@broker:5672/vhost") == "broker:5672"
    assert where("postgresql://postgres:pw@db/notifications") == "db"
    assert where(("amqp://u:pw@rmq-a:5672/v", "amqp://u:pw@rmq-b:5673/v")) == "rmq-a:5672, rmq-b:5673"
