"""The producer configuration the LMS plugin, the backfill and the out-of-band reader share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def idempotent_producer_config(
    bootstrap_servers: str, client_id: str, delivery_timeout_seconds: float, overrides: Mapping[str, Any]
) -> dict:
    """confluent-kafka Producer settings: idempotent, acks=all, whatever the overrides say.

    librdkafka gives up on a message at the same time the caller stops waiting for its delivery
    report, so a message reported as failed is not delivered much later.
    """
    timeout_ms = int(delivery_timeout_seconds * 1000)
    conf = {
        "bootstrap.servers": bootstrap_servers,
        "client.id": client_id,
        "linger.ms": 5,
        "message.timeout.ms": timeout_ms,
        "socket.connection.setup.timeout.ms": min(timeout_ms, 30000),
    }
    conf.update(overrides)
    conf["enable.idempotence"] = True
    conf["acks"] = "all"
    return conf
