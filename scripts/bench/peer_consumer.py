"""The peer: a consumer written the way openedx/event-bus-kafka consumes, for comparison.

event-bus-kafka's pattern, kept on purpose: confluent-kafka, auto-commit off, one event at a
time (`poll`), one synchronous HTTP call per event, then a commit of that message. A failed call
is counted and the message committed all the same: event-bus-kafka records a processing error
and then commits the message anyway. The commit here is synchronous
(`consumer.commit(message=msg, asynchronous=False)`, the at-least-once form: the next event waits
until the offset is stored); event-bus-kafka itself calls `commit(message=msg)`, which is
asynchronous by default. The HTTP client is a `requests.Session` (keep-alive), as such a
consumer would use.

Each event becomes the same request as retirement-consumer's webhook (docs/contract.md#webhook):
`POST` of the compact JSON body with keys in alphabetical order (`email`, `event_id`, and when
present `requested_at`, `retired_email`, `retired_username`; `user_id`, `username`), headers
`Content-Type: application/json`, `Idempotency-Key: <ce_id>` and, with a secret,
`X-Retirement-Signature: sha256=<hex HMAC-SHA256 of the body>`.

    peer_consumer.py --bootstrap HOST:PORT --topic user-retirement --group peer \
        --webhook-url http://127.0.0.1:PORT/erase [--events N] [--secret S] [-X key=value ...]

Runs until it has processed N events (`--events`), or every assigned partition is drained
(position == high watermark, checked when a poll finds nothing), or `--timeout` passed. Prints one JSON line:
`{"events": …, "seconds": …, "events_per_second": …, …}` where `seconds` runs from the
partition assignment to the last synchronous commit, like the benchmark's own rows. Progress and
errors go to stderr and never hold a body, an email or a username.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import sys
import time

import requests
from confluent_kafka import OFFSET_INVALID, Consumer, KafkaError, TopicPartition

BODY_FIELDS = ("user_id", "username", "email", "retired_username", "retired_email", "requested_at")
REQUIRED = ("user_id", "username", "email")


def webhook_body(value: bytes, ce_id: str) -> bytes | None:
    """The webhook body for one event value, or None for bad input (not a v1 event's shape)."""
    try:
        event = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(event, dict):
        return None
    fields = {"event_id": ce_id}
    for name in BODY_FIELDS:
        field = event.get(name)
        if field is not None:
            fields[name] = field
    if any(name not in fields for name in REQUIRED) or type(fields["user_id"]) is not int:
        return None
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def header(headers: list[tuple[str, bytes]] | None, name: str) -> str | None:
    for key, value in headers or ():
        if key == name:  # the first occurrence counts
            return value.decode("utf-8", "replace") if value is not None else None
    return None


class Peer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.secret = args.secret.encode() if args.secret is not None else None
        self.session = requests.Session()
        self.assigned_at: float | None = None
        self.assignment: list[TopicPartition] = []
        config = {
            "bootstrap.servers": args.bootstrap,
            "group.id": args.group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
        for item in args.kafka_property:
            key, _, value = item.partition("=")
            config[key] = value
        self.consumer = Consumer(config)
        self.counts = {"events": 0, "failed": 0, "bad_input": 0}

    def on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if self.assigned_at is None:
            self.assigned_at = time.monotonic()
        self.assignment = list(partitions)

    def on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.assignment = []

    def drained(self) -> bool:
        """Every assigned partition read up to its high watermark (at the time of asking)."""
        if not self.assignment:
            return False
        positions = self.consumer.position(self.assignment)
        for tp in positions:
            low, high = self.consumer.get_watermark_offsets(tp, timeout=5.0, cached=False)
            if tp.offset == OFFSET_INVALID:  # nothing read yet: where reading would start
                committed = self.consumer.committed([tp], timeout=5.0)[0].offset
                if (committed if committed >= 0 else low) < high:
                    return False
            elif tp.offset < high:
                return False
        return True

    def call(self, body: bytes, ce_id: str) -> bool:
        headers = {"Content-Type": "application/json", "Idempotency-Key": ce_id}
        if self.secret is not None:
            headers["X-Retirement-Signature"] = (
                "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest()
            )
        try:
            reply = self.session.post(self.args.webhook_url, data=body, headers=headers, timeout=(5, 30))
            _ = reply.content  # read the whole answer so that the connection is reused
            return 200 <= reply.status_code < 300
        except requests.RequestException as error:
            print(f"peer: webhook call failed for {ce_id}: {type(error).__name__}", file=sys.stderr)
            return False

    def handle(self, msg) -> None:
        ce_id = header(msg.headers(), "ce_id") or ""
        body = webhook_body(msg.value() or b"", ce_id) if ce_id else None
        if body is None:
            self.counts["bad_input"] += 1
        elif not self.call(body, ce_id):
            self.counts["failed"] += 1
        self.counts["events"] += 1

    def run(self) -> dict:
        args = self.args
        started = time.monotonic()
        deadline = started + args.timeout
        last_commit = None
        self.consumer.subscribe([args.topic], on_assign=self.on_assign, on_revoke=self.on_revoke)
        try:
            while time.monotonic() < deadline:
                if args.events is not None and self.counts["events"] >= args.events:
                    break
                msg = self.consumer.poll(timeout=args.poll_timeout)
                if msg is None:
                    if self.drained():
                        break
                    continue
                if msg.error():
                    if msg.error().code() != KafkaError._PARTITION_EOF:
                        print(f"peer: consumer error: {msg.error()}", file=sys.stderr)
                    continue
                try:
                    self.handle(msg)
                finally:
                    self.consumer.commit(message=msg, asynchronous=False)
                    last_commit = time.monotonic()
        finally:
            self.consumer.close()
            self.session.close()
        timed_out = time.monotonic() >= deadline
        begin = self.assigned_at if self.assigned_at is not None else started
        seconds = (last_commit - begin) if last_commit is not None else 0.0
        events = self.counts["events"]
        return {
            "events": events,
            "seconds": round(seconds, 3),
            "events_per_second": round(events / seconds, 1) if seconds > 0 else 0.0,
            "failed": self.counts["failed"],
            "bad_input": self.counts["bad_input"],
            "timed_out": timed_out,
            "wall_seconds": round(time.monotonic() - started, 3),
        }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", required=True, help="bootstrap servers, host:port[,host:port]")
    parser.add_argument("--topic", default="user-retirement", help="topic to read (user-retirement)")
    parser.add_argument("--group", required=True, help="consumer group id")
    parser.add_argument("--webhook-url", required=True, help="URL of the webhook (POST)")
    parser.add_argument("--events", type=int, default=None, help="stop after this many events")
    parser.add_argument("--secret", default=None, help="sign the body (X-Retirement-Signature)")
    parser.add_argument(
        "--secret-env", default=None, help="name of an environment variable holding the secret"
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="give up after this many seconds")
    parser.add_argument("--poll-timeout", type=float, default=1.0, help="seconds one poll() may wait (1)")
    parser.add_argument(
        "-X",
        "--kafka-property",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra librdkafka consumer property (repeatable)",
    )
    args = parser.parse_args(argv)
    if args.secret_env is not None:
        if args.secret is not None:
            parser.error("give --secret or --secret-env, not both")
        if args.secret_env not in os.environ:
            parser.error(f"environment variable {args.secret_env} is not set")
        args.secret = os.environ[args.secret_env]
    if args.events is not None and args.events < 1:
        parser.error("--events must be >= 1")
    for item in args.kafka_property:
        if "=" not in item:
            parser.error(f"--kafka-property {item!r} is not KEY=VALUE")
    return args


def main(argv: list[str] | None = None) -> int:
    result = Peer(parse_args(argv)).run()
    print(json.dumps(result), flush=True)
    return 1 if result["timed_out"] else 0


if __name__ == "__main__":
    sys.exit(main())
