"""peer_consumer.py: the request it builds, and a whole run against librdkafka's mock cluster
(hosted by this test process through confluent-kafka's `test.mock.num.brokers`) and
webhook_server.py."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from peer_consumer import webhook_body
from test_webhook_server import EXAMPLE_BODY, EXAMPLE_KEY, EXAMPLE_SIGNATURE

# The contract's value example (docs/contract.md#event-value) and its event id.
EXAMPLE_VALUE = (
    b'{"user_id": 5213599, "username": "retirement_test", "email": "orig@foo.invalid",'
    b' "full_name": "Retirement Test", "retired_username": "retired__user_88ad1f6f5ac2d2d26b4e",'
    b' "retired_email": "retired__user_d0891fd1b3f5d37c7f6c@retired.invalid", "retirement_id": 46,'
    b' "requested_at": "2018-10-18T20:35:52.349757Z"}'
)
EXAMPLE_CE_ID = "168726d1-9e87-59dd-861f-1be5dcbb6eaf"
EVENT_TYPE = b"org.openedx.learning.user.retirement.requested.v1"
HERE = Path(__file__).resolve().parent
SESSION = ["-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=300"]


def test_body_and_signature_are_the_contracts_worked_example():
    body = webhook_body(EXAMPLE_VALUE, EXAMPLE_CE_ID)
    assert body == EXAMPLE_BODY
    signature = "sha256=" + hmac.new(EXAMPLE_KEY.encode(), body, hashlib.sha256).hexdigest()
    assert signature == EXAMPLE_SIGNATURE


def test_minimal_event_is_the_contracts_second_example():
    value = b'{"user_id":42,"username":"retirement_test","email":"orig@foo.invalid"}'
    body = webhook_body(value, "f75da042-62c1-5621-a97a-8a5942ec11d7")
    assert body == (
        b'{"email":"orig@foo.invalid","event_id":"f75da042-62c1-5621-a97a-8a5942ec11d7",'
        b'"user_id":42,"username":"retirement_test"}'
    )
    signature = hmac.new(EXAMPLE_KEY.encode(), body, hashlib.sha256).hexdigest()
    assert signature == "168ef50582f379ff61b9fda8d8418e26d89d1053f338cf1689f7bbd82f4db75a"


def test_null_fields_are_left_out_and_bad_input_gives_no_body():
    with_null = b'{"user_id":42,"username":"u","email":"e","retired_email":null}'
    assert webhook_body(with_null, "x") == b'{"email":"e","event_id":"x","user_id":42,"username":"u"}'
    for bad in [
        b"",
        b"[]",
        b"{",
        b'{"user_id":"42","username":"u","email":"e"}',
        b'{"user_id":42.0,"username":"u","email":"e"}',
        b'{"user_id":42,"email":"e"}',
    ]:
        assert webhook_body(bad, "x") is None, bad


@pytest.fixture
def mock_cluster():
    """A mock cluster hosted by a producer of this process; yields (producer, bootstrap servers)."""
    producer = Producer({"test.mock.num.brokers": 1, "log_level": 3})
    brokers = producer.list_topics(timeout=10).brokers.values()
    yield producer, ",".join(f"{broker.host}:{broker.port}" for broker in brokers)
    producer.flush(5)


def fill(producer: Producer, topic: str, count: int) -> None:
    for user_id in range(1000, 1000 + count):
        value = json.dumps({"user_id": user_id, "username": f"u{user_id}", "email": f"u{user_id}@x.invalid"})
        ce_id = str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"openedx-retirement://lms.test/users/{user_id}/retirements/1")
        )
        headers = [("ce_type", EVENT_TYPE), ("ce_id", ce_id.encode()), ("content-type", b"application/json")]
        producer.produce(topic, key=str(user_id).encode(), value=value.encode(), headers=headers)
    assert producer.flush(10) == 0


def committed(bootstrap: str, topic: str, group: str) -> tuple[int, int]:
    """(sum of the group's committed offsets, sum of the high watermarks) over the topic."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "log_level": 3})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        tps = [TopicPartition(topic, p) for p in partitions]
        offsets = consumer.committed(tps, timeout=10)
        highs = [consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in tps]
        return sum(max(tp.offset, 0) for tp in offsets), sum(highs)
    finally:
        consumer.close()


def run_peer(*args: str) -> dict:
    result = subprocess.run(
        [sys.executable, str(HERE / "peer_consumer.py"), "--timeout", "60", *SESSION, *args],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0])


def test_processes_the_whole_topic_and_commits_every_event(mock_cluster, webhook_server):
    producer, bootstrap = mock_cluster
    fill(producer, "user-retirement", 50)
    server = webhook_server("--latency-ms", "5", "--secret", "s3cret")
    result = run_peer(
        "--bootstrap", bootstrap, "--group", "peer", "--webhook-url", server.url, "--secret", "s3cret"
    )
    assert (result["events"], result["failed"], result["bad_input"], result["timed_out"]) == (50, 0, 0, False)
    # 50 calls of at least 5 ms one after another.
    assert result["seconds"] >= 0.25
    assert result["events_per_second"] == pytest.approx(50 / result["seconds"], rel=0.01)
    stats = server.stats()
    assert (stats["erase_requests"], stats["distinct_user_ids"], stats["unauthorized"]) == (50, 50, 0)
    assert stats["connections"] <= 3  # one keep-alive session (and the /stats requests)
    assert committed(bootstrap, "user-retirement", "peer") == (50, 50)


def test_stops_after_n_events_and_counts_failures(mock_cluster, webhook_server):
    producer, bootstrap = mock_cluster
    fill(producer, "other", 50)
    # A wrong secret: every call answered 401, counted as failed, committed all the same.
    server = webhook_server("--latency-ms", "0", "--secret", "s3cret")
    result = run_peer(
        "--bootstrap", bootstrap, "--topic", "other", "--group", "g2", "--webhook-url", server.url,
        "--secret", "wrong", "--events", "20",
    )  # fmt: skip
    assert (result["events"], result["failed"], result["timed_out"]) == (20, 20, False)
    assert server.stats()["unauthorized"] == 20
    assert committed(bootstrap, "other", "g2") == (20, 50)
