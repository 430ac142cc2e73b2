"""
End to end with encrypted personal fields (docs/encryption.md): LMS plugin -> Kafka ->
retirement-consumer -> webhook.

1. ``retirement-consumer keys generate`` writes the keyring (Swift makes the key, Python
   encrypts with it, Swift decrypts: both directions of the interop).
2. The plugin publishes 2 retirements in clear (encryption not yet on), then 8 with
   ``ENCRYPTION_KEYRING_FILE`` set: a site turning encryption on without a flag day.
   One tampered copy (a flipped ciphertext bit) is produced beside them.
3. ``retirement-consumer run`` with ``encryption.keyring_file`` erases all 10 at a webhook that
   checks it receives the clear email and username; the tampered record is dead-lettered with
   ``decryption_failed``.
4. A byte scan of the retirement topic and the dead-letter topic finds no email, username or
   name of an encrypted learner; nor does the consumer's log.

``test_reader_encrypted_end_to_end``: the same with the out-of-band reader as the producer
(``openedx-retirement-reader --keyring-file``, reading a fake LMS API): its records hold only
envelopes, and the consumer, with the same keyring, erases every learner.

Runs only when RETIREMENT_CONSUMER_BIN points to the built Swift binary.
"""

import base64
import json
import os
import signal
import subprocess
import time
import uuid
from types import SimpleNamespace

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from openedx_retirement_kafka.encryption import PERSONAL_FIELDS
from openedx_retirement_kafka.events import ce_id_for

from ..conftest import kafka_settings
from ..lms_api_fake import FakeLms, api_row
from ..test_reader import days_ago, no_django, reader_env, run_reader  # noqa: F401
from ..test_receiver import retire_misc
from .test_end_to_end import BIN, Child, Webhook, q, start_consumer, wait_for_webhook

pytestmark = pytest.mark.skipif(
    not BIN, reason="needs RETIREMENT_CONSUMER_BIN (the built retirement-consumer)"
)

TOPIC = "user-retirement"
DLQ = TOPIC + ".dlq"
PARTITIONS = 2
SECRET = "e2e-encrypted-webhook-secret-0123456789"


@pytest.fixture
def children():
    started = []
    yield started
    for child in reversed(started):
        child.stop()


def read_topic(brokers: str, topic: str) -> list:
    """Every record of ``topic`` (key, headers, value), low to high watermark."""
    consumer = Consumer(
        {
            "bootstrap.servers": brokers,
            "group.id": f"scan-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "log_level": 3,
        }
    )
    try:
        ends, starts = {}, []
        for partition in consumer.list_topics(topic, timeout=10).topics[topic].partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            if high > low:
                ends[partition] = high
                starts.append(TopicPartition(topic, partition, low))
        records = []
        if not starts:
            return records
        consumer.assign(starts)
        deadline = time.monotonic() + 30
        while ends and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is None or message.error():
                continue
            records.append((message.key(), message.headers() or [], message.value()))
            if message.offset() + 1 >= ends.get(message.partition(), 0):
                ends.pop(message.partition(), None)
        assert not ends, f"could not read all of {topic}"
        return records
    finally:
        consumer.close()


def write_config(path, brokers: str, webhook_url: str, keyring_path) -> None:
    path.write_text(f"""\
kafka:
  bootstrap_servers: {q(brokers)}
  topic: {q(TOPIC)}
  group_id: "e2e-encrypted"
  dead_letter_topic: {q(DLQ)}
  properties:
    session.timeout.ms: "6000"
    heartbeat.interval.ms: "500"
    auto.offset.reset: "earliest"
processing:
  shutdown_grace: "5s"
http:
  listen: "127.0.0.1:0"
encryption:
  keyring_file: {q(str(keyring_path))}
destinations:
  - name: "e2e-webhook"
    type: "webhook"
    url: {q(webhook_url)}
    secret_env: "E2E_WEBHOOK_SECRET"
""")


@pytest.mark.django_db
def test_encrypted_end_to_end(settings, make_retirement, tmp_path, children):
    brokers = start_cluster(tmp_path, children)

    # 1. The keyring, made by the consumer's CLI.
    keyring = tmp_path / "keyring.json"
    made = subprocess.run(
        [BIN, "keys", "generate", "--keyring", str(keyring), "--id", "e2e-2026"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    assert json.loads(keyring.read_text())["current"] == "e2e-2026"

    # 2. Two learners in clear, then encryption on for eight more.
    learners = [
        make_retirement(
            username=f"e2e_secret_user_{i}",
            email=f"e2e-secret-{i}@mail.example.net",
            name=f"Secret Learner {i}",
            user_id=8000 + i,
        )
        for i in range(10)
    ]
    settings.RETIREMENT_KAFKA = kafka_settings(brokers, TOPIC, DELIVERY_TIMEOUT_SECONDS=15)
    for status in learners[:2]:
        assert retire_misc(status.original_username) == (204, ""), status.user_id
    settings.RETIREMENT_KAFKA = kafka_settings(
        brokers, TOPIC, DELIVERY_TIMEOUT_SECONDS=15, ENCRYPTION_KEYRING_FILE=str(keyring)
    )
    for status in learners[2:]:
        assert retire_misc(status.original_username) == (204, ""), status.user_id
    encrypted = learners[2:]
    expected_ids = {s.user_id: ce_id_for("lms.example.org", s.user_id, s.id) for s in learners}

    # A tampered copy of one encrypted event: a flipped bit in its ciphertext.
    originals = read_topic(brokers, TOPIC)
    assert len(originals) == 10
    key, headers, value = next(r for r in originals if r[0] == str(encrypted[0].user_id).encode())
    doc = json.loads(value)
    assert set(doc) >= {"user_id", "encrypted"} and "email" not in doc
    raw = bytearray(base64.b64decode(doc["encrypted"]["ciphertext"]))
    raw[0] ^= 1
    doc["encrypted"]["ciphertext"] = base64.b64encode(bytes(raw)).decode()
    tampered_value = json.dumps(doc, separators=(",", ":")).encode()
    producer = Producer({"bootstrap.servers": brokers, "log_level": 3})
    producer.produce(TOPIC, key=key, value=tampered_value, headers=headers)
    assert producer.flush(10) == 0

    # 3. The consumer.
    webhook = Webhook(SECRET)
    try:
        config = tmp_path / "consumer.yaml"
        write_config(config, brokers, webhook.url, keyring)
        env = dict(os.environ, E2E_WEBHOOK_SECRET=SECRET)
        consumer = start_consumer(config, tmp_path / "consumer.log", env, children)
        wait_for_webhook(webhook, len(learners), consumer)
        assert not webhook.problems, webhook.problems
        assert set(webhook.seen) == set(expected_ids), consumer.stderr()
        for status in learners:
            doc = webhook.seen[status.user_id]
            assert doc["event_id"] == expected_ids[status.user_id]
            assert doc["email"] == status.original_email, "the webhook receives the clear email"
            assert doc["username"] == status.original_username

        deadline = time.monotonic() + 30
        dead = read_topic(brokers, DLQ)
        while time.monotonic() < deadline and not dead:
            time.sleep(0.5)
            dead = read_topic(brokers, DLQ)
        assert len(dead) == 1, dead
        dead_headers = {k: v.decode() for k, v in dead[0][1]}
        assert dead_headers["x-retirement-error"].startswith("decryption_failed"), dead_headers
        assert dead[0][2] == tampered_value, "the dead letter keeps the envelope untouched"

        consumer.proc.send_signal(signal.SIGTERM)
        assert consumer.proc.wait(30) == 0, consumer.stderr()
    finally:
        webhook.close()

    # 4. Nothing personal of an encrypted learner in the topics or the log.
    needles = []
    for status in encrypted:
        needles += [status.original_email, status.original_username, status.original_name]
        needles += [status.retired_email, status.retired_username]
    for topic in (TOPIC, DLQ):
        for key, headers, value in read_topic(brokers, topic):
            blob = (key or b"") + (value or b"") + b"".join(v or b"" for _, v in headers)
            for needle in needles:
                assert needle.encode() not in blob, f"{topic} holds a personal value in clear"
    log = (tmp_path / "consumer.log").read_bytes() + "\n".join(consumer.all_lines).encode()
    for needle in needles:
        assert needle.encode() not in log, "the consumer logged a personal value"
    # The plain events are there in clear (encryption was off for them): the scan can see values.
    plain_blob = b"".join(v for _, _, v in read_topic(brokers, TOPIC))
    assert learners[0].original_email.encode() in plain_blob


# At least 32 bytes: consumers refuse shorter webhook secrets.
READER_SECRET = "e2e-reader-webhook-secret-0123456789abcdef"


def start_cluster(tmp_path, children) -> str:
    cluster = Child(
        [
            BIN,
            "dev-cluster",
            "--topic",
            TOPIC,
            "--partitions",
            str(PARTITIONS),
            "--topic",
            DLQ,
            "--partitions",
            "1",
        ],
        tmp_path / "dev-cluster.log",
    )
    children.append(cluster)
    first = cluster.first_line(timeout=30)
    assert first.startswith("BROKERS="), first
    return first[len("BROKERS=") :]


def test_reader_encrypted_end_to_end(no_django, tmp_path, children):  # noqa: F811
    brokers = start_cluster(tmp_path, children)
    keyring = tmp_path / "keyring.json"
    made = subprocess.run(
        [BIN, "keys", "generate", "--keyring", str(keyring), "--id", "e2e-reader"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr

    # 1. The reader publishes 6 learners from the LMS API, encrypted.
    rows = [
        api_row(
            300 + i,
            9000 + i,
            "COMPLETE" if i % 2 else "LMS_MISC_COMPLETE",
            days_ago(8 + i),
            last_state="LMS_COMPLETE" if i % 2 else "RETIRING_LMS_MISC",
            username=f"e2e_reader_user_{i}",
            email=f"e2e-reader-{i}@mail.example.net",
            name=f"Reader Learner {i}",
        )
        for i in range(6)
    ]
    with FakeLms(rows) as lms:
        env = reader_env(no_django, lms, SimpleNamespace(bootstrap=brokers), TOPIC)
        result = run_reader(
            env, "--start-date", days_ago(20).date().isoformat(), "--keyring-file", str(keyring)
        )
    assert result.returncode == 0, result.stderr
    needles = [row[k] for row in rows for k in ("original_username", "original_email", "original_name")]
    needles += [row[k] for row in rows for k in ("retired_username", "retired_email")]

    # 2. The topic holds envelopes only.
    records = read_topic(brokers, TOPIC)
    assert len(records) == len(rows)
    for key, headers, value in records:
        doc = json.loads(value)
        assert doc.get("encrypted", {}).get("kid") == "e2e-reader", doc
        assert not set(doc) & set(PERSONAL_FIELDS), doc
        blob = (key or b"") + value + b"".join(v or b"" for _, v in headers)
        for needle in needles:
            assert needle.encode() not in blob, "the reader put a personal value in clear on the topic"

    # 3. The consumer, with the same keyring, erases every learner at the webhook.
    expected = {row["user"]["id"]: ce_id_for("lms.example.org", row["user"]["id"], row["id"]) for row in rows}
    webhook = Webhook(READER_SECRET)
    try:
        config = tmp_path / "consumer.yaml"
        write_config(config, brokers, webhook.url, keyring)
        consumer = start_consumer(
            config, tmp_path / "consumer.log", dict(os.environ, E2E_WEBHOOK_SECRET=READER_SECRET), children
        )
        wait_for_webhook(webhook, len(rows), consumer)
        assert not webhook.problems, webhook.problems
        assert set(webhook.seen) == set(expected), consumer.stderr()
        for row in rows:
            doc = webhook.seen[row["user"]["id"]]
            assert doc["event_id"] == expected[row["user"]["id"]]
            assert doc["email"] == row["original_email"] and doc["username"] == row["original_username"]
        consumer.proc.send_signal(signal.SIGTERM)
        assert consumer.proc.wait(30) == 0, consumer.stderr()
    finally:
        webhook.close()
    assert read_topic(brokers, DLQ) == [], "nothing was dead-lettered"

    # 4. No personal value in either log.
    log = (
        (tmp_path / "consumer.log").read_text(errors="replace")
        + "\n".join(consumer.all_lines)
        + result.stderr
    )
    for needle in needles:
        assert needle not in log, "a personal value in a log"
