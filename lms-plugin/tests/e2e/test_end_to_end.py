"""
End to end: LMS plugin -> Kafka (the consumer's dev-cluster) -> retirement-consumer -> webhook.

Runs only when RETIREMENT_CONSUMER_BIN points to the built Swift binary (CI sets it).

1. ``$RETIREMENT_CONSUMER_BIN dev-cluster --topic user-retirement --partitions 4``; its first
   stdout line is ``BROKERS=host:port,...``.
2. The plugin's receiver fires for N=20 learners (through the retire_misc view double),
   producing to those brokers.
3. ``$RETIREMENT_CONSUMER_BIN run --config FILE`` with one webhook destination pointing at a
   local HTTP server that verifies the signature with the Standard Webhooks reference package
   (``standardwebhooks``) and the deprecated X-Retirement-Signature
   (docs/contract.md#webhook-signature).
4. Wait until the webhook saw all 20 user ids, then until the group's committed offsets equal
   the high watermarks, then SIGTERM the consumer: it must exit 0 within 30 s.
"""

import base64
import hashlib
import hmac
import json
import os
import queue
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import standardwebhooks
from confluent_kafka import Consumer, TopicPartition

from openedx_retirement_kafka.events import ce_id_for

from ..conftest import kafka_settings
from ..test_receiver import retire_misc

BIN = os.environ.get("RETIREMENT_CONSUMER_BIN", "")
pytestmark = pytest.mark.skipif(
    not BIN,
    reason="end-to-end test needs the Swift consumer: set RETIREMENT_CONSUMER_BIN to the built "
    "retirement-consumer binary (e.g. .build/release/retirement-consumer)",
)

TOPIC = "user-retirement"
PARTITIONS = 4
GROUP = "e2e-retirement-consumer"
N = 20
SECRET = "whsec_" + base64.b64encode(b"e2e-webhook-secret-of-32-bytes!!").decode()


class Child:
    """A child process whose stdout lines are collected by a thread (the pipe never fills)."""

    def __init__(self, args, log_path: Path, env=None, stdin=subprocess.PIPE):
        self.log_path = log_path
        self.stderr_file = open(log_path, "wb")  # pylint: disable=consider-using-with
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
            args,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=self.stderr_file,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.all_lines = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.all_lines.append(line)
            self.lines.put(line)

    def first_line(self, timeout: float) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no output within {timeout}s; stderr: {self.stderr()}") from None

    def stderr(self) -> str:
        self.stderr_file.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:  # pragma: no cover
                pass
        if self.proc.stdin:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        self.stderr_file.close()


@pytest.fixture
def children():
    started = []
    yield started
    for child in reversed(started):
        child.stop()


class Webhook:
    def __init__(self, secret: str):
        # The key as docs/contract.md#webhook-signature defines it; the reference package takes
        # a key as whsec_<base64>.
        if secret.startswith("whsec_"):
            self.secret = base64.b64decode(secret[len("whsec_") :])
        else:
            self.secret = secret.encode()
        self.verifier = standardwebhooks.Webhook("whsec_" + base64.b64encode(self.secret).decode())
        self.seen = {}  # user_id -> event_id
        self.problems = []
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                signature = self.headers.get("X-Retirement-Signature", "")
                expected = "sha256=" + hmac.new(hook.secret, body, hashlib.sha256).hexdigest()
                problem = None
                try:
                    doc = json.loads(body)
                except ValueError:
                    doc, problem = {}, "body is not JSON"
                try:
                    # Checks the signature over "id.timestamp.body" and the timestamp's age.
                    hook.verifier.verify(body, dict(self.headers.items()), json_parse=False)
                except standardwebhooks.WebhookVerificationError:
                    problem = problem or "bad signature"
                checks = [
                    (hmac.compare_digest(signature, expected), "bad signature"),
                    (
                        self.headers.get("webhook-id") == doc.get("event_id"),
                        "webhook-id differs from event_id",
                    ),
                    (
                        self.headers.get("Content-Type", "").split(";")[0].strip() == "application/json",
                        "bad content type",
                    ),
                    (
                        doc.get("event_id") == self.headers.get("Idempotency-Key"),
                        "Idempotency-Key differs from event_id",
                    ),
                ]
                for passed, why in checks:
                    if problem is None and not passed:
                        problem = why
                with hook.lock:
                    if problem:
                        hook.problems.append(problem)
                    else:
                        hook.seen[doc["user_id"]] = doc
                self.send_response(401 if problem == "bad signature" else 200 if not problem else 400)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/erase"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def q(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid YAML double-quoted scalar


def write_config(path: Path, brokers: str, webhook_url: str) -> None:
    path.write_text(f"""\
kafka:
  bootstrap_servers: {q(brokers)}
  topic: {q(TOPIC)}
  group_id: {q(GROUP)}
  dead_letter_topic: {q(TOPIC + ".dlq")}
  properties:
    session.timeout.ms: "6000"
    heartbeat.interval.ms: "500"
    auto.offset.reset: "earliest"
processing:
  shutdown_grace: "5s"
http:
  listen: "127.0.0.1:0"
destinations:
  - name: "e2e-webhook"
    type: "webhook"
    url: {q(webhook_url)}
    secret_env: "E2E_WEBHOOK_SECRET"
""")


def committed_and_high(brokers: str):
    consumer = Consumer(
        {"bootstrap.servers": brokers, "group.id": GROUP, "enable.auto.commit": False, "log_level": 3}
    )
    try:
        partitions = [TopicPartition(TOPIC, p) for p in range(PARTITIONS)]
        committed = {tp.partition: tp.offset for tp in consumer.committed(partitions, timeout=10)}
        high = {
            p: consumer.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)[1]
            for p in range(PARTITIONS)
        }
        return committed, high
    finally:
        consumer.close()


@pytest.mark.django_db
def start_consumer(config, log, env, children) -> Child:
    """`retirement-consumer run --config CONFIG` as a child process (stopped by the fixture)."""
    consumer = Child([BIN, "run", "--config", str(config)], log, env=env, stdin=subprocess.DEVNULL)
    children.append(consumer)
    return consumer


def wait_for_webhook(webhook, count: int, consumer: Child, timeout: float = 60) -> None:
    """Waits until the webhook saw `count` learners; fails at once if the consumer exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(webhook.seen) < count:
        assert consumer.proc.poll() is None, f"consumer exited early: {consumer.stderr()}"
        time.sleep(0.25)


def test_end_to_end(settings, make_retirement, tmp_path, children):
    # 1. The Kafka cluster.
    cluster = Child(
        [BIN, "dev-cluster", "--topic", TOPIC, "--partitions", str(PARTITIONS)], tmp_path / "dev-cluster.log"
    )
    children.append(cluster)
    first = cluster.first_line(timeout=30)
    assert first.startswith("BROKERS="), first
    brokers = first[len("BROKERS=") :]

    # 2. The plugin publishes N retirements.
    settings.RETIREMENT_KAFKA = kafka_settings(brokers, TOPIC, DELIVERY_TIMEOUT_SECONDS=15)
    statuses = [
        make_retirement(
            username=f"e2e_learner_{i}", email=f"e2e{i}@foo.invalid", name=f"Learner {i}", user_id=7000 + i
        )
        for i in range(N)
    ]
    for status in statuses:
        assert retire_misc(status.original_username) == (204, ""), status.user_id
    expected_ids = {s.user_id: ce_id_for("lms.example.org", s.user_id, s.id) for s in statuses}

    # 3. The consumer with a webhook destination.
    webhook = Webhook(SECRET)
    try:
        config = tmp_path / "consumer.yaml"
        write_config(config, brokers, webhook.url)
        env = dict(os.environ, E2E_WEBHOOK_SECRET=SECRET)
        consumer = start_consumer(config, tmp_path / "consumer.log", env, children)

        # 4a. Every learner reaches the webhook, correctly signed.
        wait_for_webhook(webhook, N, consumer)
        assert not webhook.problems, webhook.problems
        assert set(webhook.seen) == set(expected_ids), (
            f"missing {set(expected_ids) - set(webhook.seen)}; consumer log: {consumer.stderr()}"
        )
        by_user = {s.user_id: s for s in statuses}
        for uid, doc in webhook.seen.items():
            assert doc["event_id"] == expected_ids[uid]
            assert doc["username"] == by_user[uid].original_username
            assert doc["email"] == by_user[uid].original_email

        # 4b. The group's committed offsets reach the high watermarks.
        deadline = time.monotonic() + 30
        committed, high = committed_and_high(brokers)
        while time.monotonic() < deadline and committed != high:
            time.sleep(0.5)
            committed, high = committed_and_high(brokers)
        assert sum(high.values()) == N
        assert committed == high, f"committed {committed} high {high}"

        # 4c. SIGTERM: a clean exit.
        consumer.proc.send_signal(signal.SIGTERM)
        try:
            code = consumer.proc.wait(30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"consumer did not exit within 30 s of SIGTERM; log: {consumer.stderr()}")
        assert code == 0, consumer.stderr()
    finally:
        webhook.close()
