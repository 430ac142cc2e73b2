"""
``openedx-retirement-reader`` entry point. Exit codes: 0 done (or stopped by SIGTERM/SIGINT
under ``--follow``), 1 runtime failure (LMS API or Kafka), 2 usage or configuration error
naming the flag. See docs/out-of-band-reader.md.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

log = logging.getLogger("openedx_retirement_kafka.reader")


def _configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # librdkafka's own log lines (via the producer's logger) only from WARNING on unless DEBUG.
    logging.getLogger("openedx_retirement_kafka.librdkafka").setLevel(
        logging.DEBUG if level == "DEBUG" else logging.WARNING
    )
    logging.getLogger("urllib3").setLevel(logging.WARNING)


def _usage(message: str) -> int:
    print(f"openedx-retirement-reader: {message}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    from confluent_kafka import KafkaException, Producer

    from ..lms_api import LmsApiError, insecure_http
    from ..producer import RetirementPublishError
    from .core import CLEANUP_DAYS, Reader, utc_today
    from .cursor import Cursor, CursorError
    from .options import UsageError, parse_options

    try:
        options = parse_options(argv, environ)
    except UsageError as exc:
        return _usage(str(exc))
    _configure_logging(options.log_level)

    # Let librdkafka check the properties now: a typo is a usage error, not a runtime one.
    try:
        Producer({**options.producer_config(), "log_level": 0})
    except (KafkaException, ValueError, TypeError) as exc:
        return _usage(
            f"--kafka-property (env RETIREMENT_READER_KAFKA_PROPERTIES): rejected by librdkafka: {exc}"
        )

    cursor_path = Path(options.cursor_file) if options.cursor_file else None
    if cursor_path is not None and not cursor_path.parent.is_dir():
        return _usage(
            f"--cursor-file (env RETIREMENT_READER_CURSOR_FILE): "
            f"directory {cursor_path.parent} does not exist"
        )
    try:
        cursor = Cursor.load(cursor_path, options.lms_host, options.topic)
    except CursorError as exc:
        return _usage(f"--cursor-file (env RETIREMENT_READER_CURSOR_FILE): {exc}")
    if cursor_path is None and options.follow:
        log.warning(
            "No --cursor-file: a restart publishes the whole window again (duplicates the consumer ignores)"
        )

    stop = threading.Event()

    def on_signal(signum, frame):  # noqa: ARG001
        log.info(
            "%s received: finishing the current publish, then saving the cursor", signal.Signals(signum).name
        )
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        reader = Reader(options, cursor, stop=stop)
    except LmsApiError as exc:
        return _usage(str(exc))
    log.info(
        "Reading %s for states %s (+ERRORED past them); publishing to %s as LMS host %s",
        options.lms_url,
        ",".join(options.states),
        options.topic,
        options.lms_host,
    )
    if options.allow_insecure_http and insecure_http(options.lms_url):
        log.warning(
            "--allow-insecure-http: reading %s over plain http; the client secret, the token and "
            "learners' identities cross the network in clear",
            options.lms_url,
        )
    if options.keyring is not None:
        log.info("Encrypting the personal fields under key %s (docs/encryption.md)", options.keyring.current)
    else:
        log.info(
            "No keyring (--keyring-file, env %s): personal fields are published in clear",
            "RETIREMENT_READER_KEYRING",
        )
    try:
        if options.follow:
            reader.follow()
            return EXIT_OK
        reader.warn_if_behind()
        first, last = reader.window(utc_today())
        if options.start_date is not None and first < utc_today() - timedelta(days=CLEANUP_DAYS):
            log.warning(
                "--start-date %s is more than %d days ago: the LMS cleanup may already have deleted the "
                "COMPLETE rows of that time",
                first,
                CLEANUP_DAYS,
            )
        stats = reader.run_pass(first, last)
        if not stats.complete:
            log.error("Stopped before the end of the range; run again (the cursor keeps what was published)")
            return EXIT_FAILURE
        if stats.unusable:
            log.error("%d row(s) could not be turned into events (see above)", stats.unusable)
            return EXIT_FAILURE
        return EXIT_OK
    except LmsApiError as exc:
        log.error("LMS API: %s", exc)
        return EXIT_FAILURE
    except RetirementPublishError as exc:
        log.error("Kafka: %s", exc)
        return EXIT_FAILURE
    except OSError as exc:
        log.error("Cannot save the cursor: %s", exc)
        return EXIT_FAILURE
    finally:
        reader.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("Stopped at %s", datetime.now(UTC).isoformat(timespec="seconds"))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
