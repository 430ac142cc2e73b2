"""
One pass of the reader, and the ``--follow`` loop.

A pass reads request days from ``first_day`` to ``last_day``, one day at a time; for each day
it asks the API for every state (plus ERRORED), keeps the eligible rows
(:func:`..lms_api.classify_row`), leaves out what the cursor already holds, publishes the rest
in one batch, waits for Kafka's acknowledgement of every event, and only then records them in
the cursor and saves it. A stop request (SIGTERM) is honoured between days and states, never in
the middle of a publish.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from ..events import EventBuildError, build_event
from ..lms_api import (
    ELIGIBLE,
    SKIP_ERRORED_BEFORE,
    SKIP_REDACTED,
    LmsApiError,
    LmsRetirementApi,
    classify_row,
    query_states,
)
from ..producer import RetirementPublisher, RetirementPublishError
from .cursor import Cursor
from .options import ReaderOptions

log = logging.getLogger("openedx_retirement_kafka.reader")

# retirement_archive_and_cleanup.py's default --cool_off_days: COMPLETE rows are redacted and
# deleted this many days after the request.
CLEANUP_DAYS = 37


@dataclass
class PassStats:
    published: int = 0
    already_published: int = 0
    redacted: int = 0
    errored_before: int = 0
    unusable: int = 0
    complete: bool = False

    def add(self, other: PassStats) -> None:
        for name in ("published", "already_published", "redacted", "errored_before", "unusable"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def utc_today() -> date:
    return datetime.now(UTC).date()


def _days(first: date, last: date):
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


class Reader:
    def __init__(
        self,
        options: ReaderOptions,
        cursor: Cursor,
        api: LmsRetirementApi | None = None,
        publisher: RetirementPublisher | None = None,
        stop: threading.Event | None = None,
    ):
        self.options = options
        self.cursor = cursor
        self.stop = stop or threading.Event()
        self.api = api or LmsRetirementApi(
            options.lms_url,
            options.client_id,
            options.client_secret,
            timeout=options.http_timeout_seconds,
            max_attempts=options.max_attempts,
            initial_backoff=options.initial_backoff_seconds,
            https_only=not options.allow_insecure_http,
            credentials_hint="set --client-id and --client-secret",
        )
        self.publisher = publisher or RetirementPublisher(_PublisherConfig(options))
        self.started = datetime.now(UTC)

    # -- one pass ---------------------------------------------------------------------------

    def read_day(self, day: date, today: date, stats: PassStats) -> list | None:
        """The events to publish for request day ``day``; None when stopped before the end."""
        events = []
        seen = set()
        for state in query_states(self.options.states):
            if self.stop.is_set():
                return None
            try:
                rows = self.api.retirements_by_status_and_date(state, day, day)
            except LmsApiError as exc:
                if exc.status == 400 and day >= today:
                    # The LMS's clock is behind ours and it calls the day "future": next pass.
                    log.info("LMS refused request day %s for state %s (not yet today there)", day, state)
                    continue
                raise
            for row in rows:
                try:
                    verdict, record = classify_row(row, self.options.states)
                except LmsApiError as exc:  # one malformed row must not block every later pass
                    stats.unusable += 1
                    log.error("Request day %s, state %s: %s", day, state, exc)
                    continue
                if verdict == SKIP_REDACTED:
                    stats.redacted += 1
                    log.warning(
                        "Skipped user_id=%s retirement_id=%s: the row was already redacted by the LMS "
                        "cleanup; its event cannot be built any more",
                        record.user_id,
                        record.retirement_id,
                    )
                    continue
                if verdict == SKIP_ERRORED_BEFORE:
                    stats.errored_before += 1
                    log.debug("user_id=%s is ERRORED before the read states: not published", record.user_id)
                    continue
                if verdict != ELIGIBLE or record.retirement_id in seen:
                    continue
                seen.add(record.retirement_id)
                if self.cursor.is_published(record.retirement_id):
                    stats.already_published += 1
                    continue
                try:
                    events.append(
                        build_event(record, lms_host=self.options.lms_host, keyring=self.options.keyring)
                    )
                except EventBuildError as exc:
                    stats.unusable += 1
                    log.error("Cannot build the event of user_id=%s: %s", record.user_id, exc)
        return events

    def run_pass(self, first_day: date, last_day: date) -> PassStats:
        """Read and publish ``first_day``..``last_day`` (clamped to today). Raises on failure."""
        stats = PassStats()
        today = utc_today()
        last_day = min(last_day, today)
        for day in _days(first_day, last_day):
            events = self.read_day(day, today, stats)
            if events is None:
                log.info("Stopping: request days from %s on were not read in this pass", day)
                return stats
            if events:
                self.publisher.publish(events)  # waits for every acknowledgement, or raises
                for event in events:
                    self.cursor.mark_published(event.retirement_id, day)
                self.cursor.save()
                stats.published += len(events)
                for event in events:
                    log.info(
                        "Published user_id=%s retirement_id=%s ce_id=%s",
                        event.user_id,
                        event.retirement_id,
                        event.ce_id,
                    )
        self.cursor.complete_scan(first_day, last_day, datetime.now(UTC))
        self.cursor.prune(min(first_day, today - timedelta(days=self.options.lookback_days)))
        self.cursor.save()
        stats.complete = True
        log.info(
            "Pass %s..%s done: %d published, %d already published, %d redacted rows skipped, "
            "%d ERRORED before the read states, %d unusable rows",
            first_day,
            last_day,
            stats.published,
            stats.already_published,
            stats.redacted,
            stats.errored_before,
            stats.unusable,
        )
        return stats

    # -- windows and lag --------------------------------------------------------------------

    def window(self, today: date) -> tuple[date, date]:
        """The request days one pass reads."""
        first = today - timedelta(days=self.options.lookback_days)
        if self.options.start_date is not None:
            first = (
                self.options.start_date if not self.options.follow else max(first, self.options.start_date)
            )
        last = today if self.options.follow or self.options.end_date is None else self.options.end_date
        return first, last

    def warn_if_behind(self, now: datetime | None = None) -> bool:
        """WARNING when the last complete pass is older than --max-lag. Returns whether it is."""
        now = now or datetime.now(UTC)
        finished = self.cursor.finished_at
        # Never a complete pass: count from this process's start.
        lag = (now - (finished or self.started)).total_seconds()
        if lag <= self.options.max_lag_seconds:
            return False
        log.warning(
            "Falling behind: the last complete pass finished %s (%.0f s ago, --max-lag %.0f s). The LMS "
            "cleanup deletes COMPLETE rows about %d days after the request (retirement_archive_and_cleanup "
            "--cool_off_days); a learner not read before that is never published.",
            finished.isoformat() if finished else "never",
            lag,
            self.options.max_lag_seconds,
            CLEANUP_DAYS,
        )
        if (
            self.cursor.last_day is not None
            and (now.date() - self.cursor.last_day).days >= self.options.lookback_days
        ):
            log.warning(
                "The gap since the last complete pass (last day read %s) is longer than --lookback %d days: "
                "run once with --start-date %s to cover it",
                self.cursor.last_day,
                self.options.lookback_days,
                self.cursor.last_day,
            )
        return True

    def follow(self) -> None:
        """Poll until stopped. Failed passes are logged and retried at the next interval."""
        self.warn_if_behind()
        while not self.stop.is_set():
            first, last = self.window(utc_today())
            try:
                self.run_pass(first, last)
            except LmsApiError as exc:
                log.error("Pass failed, retried in %.0f s: LMS API: %s", self.options.interval_seconds, exc)
            except RetirementPublishError as exc:
                log.error("Pass failed, retried in %.0f s: %s", self.options.interval_seconds, exc)
                if self.publisher.fatal:  # a fatal producer error: start with a new producer
                    self.publisher.flush(1.0)
                    self.publisher = RetirementPublisher(_PublisherConfig(self.options))
            self.warn_if_behind()
            self.stop.wait(self.options.interval_seconds)

    def close(self, timeout: float = 10.0) -> None:
        remaining = self.publisher.flush(timeout)
        if remaining:
            log.warning("%d event(s) still unconfirmed at shutdown; they are not in the cursor", remaining)


class _PublisherConfig:
    """What RetirementPublisher needs from a config: producer_config(), topic, delivery timeout."""

    def __init__(self, options: ReaderOptions):
        self.topic = options.topic
        self.delivery_timeout_seconds = options.delivery_timeout_seconds
        self._options = options

    def producer_config(self) -> dict:
        return self._options.producer_config()
