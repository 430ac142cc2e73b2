"""
Publishing retirement events: one idempotent confluent-kafka producer per process.

The producer is created lazily on first use (not at import or start-up, so it is created
after uWSGI/gunicorn fork their workers), shared by all threads, and flushed at exit.

:func:`publish` waits until the broker has acknowledged every event (acks=all) or raises
:class:`RetirementPublishError`. Exception messages and log lines carry user id,
retirement id and ce_id only, never names or addresses.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from confluent_kafka import KafkaError, KafkaException, Producer

from .events import RetirementEvent

if TYPE_CHECKING:  # conf imports Django; the out-of-band reader uses this module without it
    from .conf import RetirementKafkaConfig

log = logging.getLogger(__name__)

ERROR_LOG_INTERVAL_SECONDS = 60.0


class RetirementPublishError(Exception):
    """An event was not confirmed by Kafka. The message holds no personal data."""


@dataclass
class Delivery:
    event: RetirementEvent
    done: bool = False
    error: KafkaError | None = None
    partition: int | None = None
    offset: int | None = None


class RetirementPublisher:
    def __init__(self, config: RetirementKafkaConfig):
        self.config = config
        conf = dict(config.producer_config())
        conf.setdefault("error_cb", self._on_error)
        conf.setdefault("logger", logging.getLogger("openedx_retirement_kafka.librdkafka"))
        self._last_error_log: dict = {}
        self.fatal = False
        self._producer = Producer(conf)

    def _on_error(self, err: KafkaError) -> None:
        # Client-level errors (broker down, auth failure...). No personal data in these.
        # librdkafka repeats them on every reconnect: log each kind at most once a minute.
        if err.fatal():
            self.fatal = True
        now = time.monotonic()
        if now - self._last_error_log.get(err.code(), -1e9) >= ERROR_LOG_INTERVAL_SECONDS or err.fatal():
            self._last_error_log[err.code()] = now
            log.warning("Kafka client error: %s (%s)", err.name(), err.str())

    def publish(self, events: Sequence[RetirementEvent], timeout: float | None = None) -> list[Delivery]:
        """Produce ``events`` and wait for all delivery reports; raise if any is not confirmed."""
        timeout = self.config.delivery_timeout_seconds if timeout is None else timeout
        # The deadline leaves librdkafka a moment to report its own message timeout first.
        deadline = time.monotonic() + timeout + 1.0
        deliveries = [Delivery(event) for event in events]

        for delivery in deliveries:
            self._produce(delivery, deadline)

        while not all(d.done for d in deliveries):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._producer.poll(min(0.1, remaining))

        failed = [d for d in deliveries if not d.done or d.error is not None]
        for d in failed:
            reason = f"not confirmed within {timeout:.1f}s" if not d.done else f"{d.error.name()}"
            log.error(
                "Retirement event not published: user_id=%s retirement_id=%s ce_id=%s topic=%s reason=%s",
                d.event.user_id,
                d.event.retirement_id,
                d.event.ce_id,
                self.config.topic,
                reason,
            )
            if d.error is not None and d.error.fatal():
                self.fatal = True
        if failed:
            first = failed[0]
            reason = (
                f"not confirmed within {timeout:.1f}s"
                if not first.done
                else f"Kafka error {first.error.name()}"
            )
            raise RetirementPublishError(
                f"retirement event for user_id={first.event.user_id} "
                f"retirement_id={first.event.retirement_id} ce_id={first.event.ce_id} "
                f"was not published to topic {self.config.topic!r}: {reason}"
                + (f" ({len(failed)} of {len(deliveries)} events failed)" if len(deliveries) > 1 else "")
            )
        for d in deliveries:
            log.info(
                "Published retirement event user_id=%s retirement_id=%s ce_id=%s topic=%s "
                "partition=%s offset=%s",
                d.event.user_id,
                d.event.retirement_id,
                d.event.ce_id,
                self.config.topic,
                d.partition,
                d.offset,
            )
        return deliveries

    def _produce(self, delivery: Delivery, deadline: float) -> None:
        def on_delivery(err, msg, delivery=delivery):
            delivery.error = err
            if err is None:
                delivery.partition = msg.partition()
                delivery.offset = msg.offset()
            delivery.done = True

        event = delivery.event
        while True:
            try:
                self._producer.produce(
                    self.config.topic,
                    key=event.key,
                    value=event.value,
                    headers=list(event.headers),
                    on_delivery=on_delivery,
                )
                return
            except BufferError:
                # Local queue full: serve delivery reports and try again until the deadline.
                if time.monotonic() >= deadline:
                    delivery.done = False
                    return
                self._producer.poll(0.1)
            except KafkaException as exc:
                err = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
                if err is not None and err.fatal():
                    self.fatal = True
                raise RetirementPublishError(
                    f"retirement event for user_id={event.user_id} retirement_id={event.retirement_id} "
                    f"ce_id={event.ce_id} could not be queued: "
                    f"{err.name() if err is not None else type(exc).__name__}"
                ) from None

    def flush(self, timeout: float) -> int:
        return self._producer.flush(timeout)


_lock = threading.Lock()
_publisher: RetirementPublisher | None = None


def get_publisher(config: RetirementKafkaConfig) -> RetirementPublisher:
    """The process-wide publisher (created on first use; re-created after a fatal error)."""
    global _publisher
    publisher = _publisher
    if publisher is not None and not publisher.fatal and publisher.config is config:
        return publisher
    with _lock:
        if _publisher is not None and (_publisher.fatal or _publisher.config is not config):
            old, _publisher = _publisher, None
            try:
                old.flush(1.0)
            except Exception:  # pragma: no cover - best effort
                pass
        if _publisher is None:
            _publisher = RetirementPublisher(config)
        return _publisher


def publish(config: RetirementKafkaConfig, events: Sequence[RetirementEvent]) -> list[Delivery]:
    """Publish and wait for confirmation; raise RetirementPublishError otherwise."""
    return get_publisher(config).publish(events)


def reset_publisher(flush_timeout: float = 5.0) -> None:
    """Flush and drop the process-wide producer (at exit, and in tests)."""
    global _publisher
    with _lock:
        publisher, _publisher = _publisher, None
    if publisher is not None:
        remaining = publisher.flush(flush_timeout)
        if remaining:
            log.warning("%s retirement event(s) still unconfirmed at producer shutdown", remaining)


@atexit.register
def _flush_at_exit() -> None:
    try:
        reset_publisher(flush_timeout=5.0)
    except Exception:  # pragma: no cover - never fail interpreter shutdown
        pass
