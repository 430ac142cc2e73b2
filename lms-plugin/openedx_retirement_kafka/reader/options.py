"""
Flags and environment of ``openedx-retirement-reader``.

Every flag ``--some-flag`` can also come from the environment variable
``RETIREMENT_READER_SOME_FLAG``; a flag on the command line wins. Repeatable flags:

* ``--kafka-property KEY=VALUE``: env ``RETIREMENT_READER_KAFKA_PROPERTIES``, either
  ``key=value,key=value`` or a JSON object (``{"sasl.password": "a,b"}``: use JSON when a
  value contains a comma);
* ``--state STATE``: env ``RETIREMENT_READER_STATE``, comma-separated (``--state`` also takes
  a comma-separated list).

The keyring (docs/encryption.md) comes from ``--keyring-file PATH`` (env
``RETIREMENT_READER_KEYRING_FILE``) or from the environment variable
``RETIREMENT_READER_KEYRING`` holding the keyring's JSON itself (no flag: a secret on the
command line shows in ``ps``).

Booleans (``--follow``) from the environment: ``1/true/yes/on`` or ``0/false/no/off``.
Problems raise :class:`UsageError` naming the flag (exit code 2).
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit

from ..encryption import Keyring, KeyringError, load_keyring_setting
from ..kafka_config import idempotent_producer_config
from ..lms_api import insecure_http

ENV_PREFIX = "RETIREMENT_READER_"
KEYRING_ENV = ENV_PREFIX + "KEYRING"
KEYRING_FILE_ENV = ENV_PREFIX + "KEYRING_FILE"

# The states at or after LMS_MISC_COMPLETE in the documented driver pipeline
# (docs/lms-plugin.md §3); learners in them have been through retire_misc.
DEFAULT_STATES = ("LMS_MISC_COMPLETE", "RETIRING_LMS", "LMS_COMPLETE", "COMPLETE")
DEFAULT_TOPIC = "user-retirement"
DEFAULT_INTERVAL = "15m"
DEFAULT_LOOKBACK = "40d"
DEFAULT_MAX_LAG = "1h"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

_TOPIC_RE = re.compile(r"^[A-Za-z0-9._-]{1,249}\Z")
_HOST_RE = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?\Z")
_STATE_RE = re.compile(r"^[A-Z0-9_]+\Z")
_DURATION_RE = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)?\Z")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}
_FORCED = {"enable.idempotence": {"true", "True"}, "acks": {"all", "-1"}}


class UsageError(Exception):
    """A flag (or its environment variable) is missing or wrong. Exit code 2."""

    def __init__(self, flag: str, problem: str):
        env = ENV_PREFIX + flag.lstrip("-").replace("-", "_").upper()
        if flag == "--kafka-property":
            env = ENV_PREFIX + "KAFKA_PROPERTIES"
        if flag.startswith(ENV_PREFIX):  # a variable without a flag
            super().__init__(f"{flag}: {problem}")
        else:
            super().__init__(f"{flag} (env {env}): {problem}")
        self.flag = flag


def parse_duration(text: str) -> float:
    """``15m``, ``30s``, ``1h``, ``40d``, ``500ms`` or plain seconds -> seconds."""
    match = _DURATION_RE.match(text.strip())
    if not match:
        raise ValueError(f"not a duration: {text!r} (e.g. 30s, 15m, 1h, 40d)")
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass(frozen=True)
class ReaderOptions:
    lms_url: str
    client_id: str
    # No secret in a repr (a log line, a traceback): the OAuth secret, and the librdkafka
    # properties, which may hold sasl.password or ssl.key.password.
    client_secret: str = field(repr=False)
    bootstrap_servers: str
    topic: str
    lms_host: str
    kafka_properties: Mapping[str, str] = field(default_factory=dict, repr=False)
    states: tuple[str, ...] = DEFAULT_STATES
    start_date: date | None = None
    end_date: date | None = None
    follow: bool = False
    interval_seconds: float = 900.0
    cursor_file: str | None = None
    log_level: str = "INFO"
    lookback_days: int = 40
    max_lag_seconds: float = 3600.0
    delivery_timeout_seconds: float = 30.0
    http_timeout_seconds: float = 30.0
    max_attempts: int = 5
    initial_backoff_seconds: float = 1.0
    # Plain http to a host that is not a loopback address, on purpose (--allow-insecure-http).
    allow_insecure_http: bool = False
    # Encrypts the personal fields of every event under its current key (None: in clear).
    keyring: Keyring | None = field(default=None, repr=False)

    def producer_config(self) -> dict:
        """The confluent-kafka Producer configuration (idempotent, acks=all)."""
        return idempotent_producer_config(
            self.bootstrap_servers,
            "openedx-retirement-reader",
            self.delivery_timeout_seconds,
            self.kafka_properties,
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openedx-retirement-reader",
        description=(
            "Publish Open edX learner retirements to Kafka from outside the LMS: reads the LMS "
            "retirement API (retirements_by_status_and_date) and publishes the same events, with the same "
            "ce_id, as the openedx-retirement-kafka LMS plugin. Every flag also reads the environment "
            "variable RETIREMENT_READER_<FLAG> (e.g. RETIREMENT_READER_CLIENT_SECRET)."
        ),
    )
    add = parser.add_argument
    add("--lms-url", help="LMS base URL, e.g. https://lms.example.org (required)")
    add(
        "--allow-insecure-http",
        action="store_true",
        default=None,
        help="allow an http:// --lms-url that is not a loopback address (127.0.0.0/8, ::1, localhost): "
        "the client secret, the token and learners' identities then cross the network in clear",
    )
    add("--client-id", help="OAuth2 client id of the retirement service worker (required)")
    add("--client-secret", help="its secret (required; prefer the environment variable)")
    add("--bootstrap-servers", help="Kafka bootstrap servers host:port[,host:port] (required)")
    add("--topic", help=f"topic name (default {DEFAULT_TOPIC})")
    add("--topic-prefix", help="when set, the topic is PREFIX-TOPIC, as the plugin's TOPIC_PREFIX")
    add(
        "--kafka-property",
        action="append",
        metavar="KEY=VALUE",
        help="librdkafka producer property (repeatable): security.protocol, sasl.*, ssl.* ...",
    )
    add(
        "--state",
        action="append",
        metavar="STATE",
        help="retirement state to read (repeatable or comma-separated; default "
        f"{','.join(DEFAULT_STATES)}); ERRORED rows whose last state is one of them are read too",
    )
    add("--start-date", metavar="YYYY-MM-DD", help="first request day to read")
    add("--end-date", metavar="YYYY-MM-DD", help="last request day to read (one-shot mode; default today)")
    add("--follow", action="store_true", default=None, help="run as a service: read every --interval")
    add("--interval", help=f"poll interval with --follow (default {DEFAULT_INTERVAL})")
    add("--cursor-file", metavar="PATH", help="JSON file of what was published; survives restarts")
    add(
        "--lms-host",
        help="LMS host for ce_source/ce_id (default the host of --lms-url); must equal the "
        "plugin's LMS_HOST for the ids to match",
    )
    add(
        "--keyring-file",
        metavar="PATH",
        help="keyring JSON file (docs/encryption.md): encrypt the personal fields under its current key, "
        f"as the plugin's ENCRYPTION_KEYRING_FILE; or env {KEYRING_ENV} holding the keyring's JSON",
    )
    add("--log-level", help="DEBUG, INFO (default), WARNING or ERROR")
    add("--lookback", help=f"how many request days back each pass reads (default {DEFAULT_LOOKBACK})")
    add(
        "--max-lag",
        help=f"WARNING when the last complete pass is older than this (default {DEFAULT_MAX_LAG})",
    )
    add("--delivery-timeout", help="seconds to wait for Kafka's acknowledgement of a batch (default 30s)")
    add("--http-timeout", help="per LMS HTTP request (default 30s)")
    add("--max-attempts", help="attempts per LMS request on 5xx, timeouts, connection errors (default 5)")
    add("--initial-backoff", help="first retry delay; doubles each attempt (default 1s)")
    return parser


def _env(environ: Mapping[str, str], flag: str) -> str | None:
    value = environ.get(ENV_PREFIX + flag.upper().replace("-", "_"))
    return value if value not in (None, "") else None


def _pick(cli_value, environ: Mapping[str, str], flag: str, default=None):
    if cli_value is not None:
        return cli_value
    value = _env(environ, flag)
    return default if value is None else value


def _parse_properties(items: Sequence[str], flag: str) -> dict:
    props: dict = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(flag, f"expected KEY=VALUE, got {item.split('=')[0]!r}...")
        props[key] = value
    return props


def _env_properties(text: str) -> dict:
    text = text.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            raise UsageError("--kafka-property", "not a JSON object") from None
        if not isinstance(data, dict):
            raise UsageError("--kafka-property", "not a JSON object")
        return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
    return _parse_properties([p for p in text.split(",") if p.strip()], "--kafka-property")


def _date(text: str | None, flag: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(flag, f"not a date YYYY-MM-DD: {text!r}") from None


def _seconds(text: str, flag: str, minimum: float, maximum: float) -> float:
    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise UsageError(flag, str(exc)) from None
    if not minimum <= value <= maximum:
        raise UsageError(flag, f"must be between {minimum:g}s and {maximum:g}s")
    return value


def _bool(text, flag: str) -> bool:
    if isinstance(text, bool):
        return text
    lowered = str(text).strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise UsageError(flag, f"not a boolean: {text!r}")


def _keyring(path: str | None, inline: str | None) -> Keyring | None:
    """The keyring of ``--keyring-file`` or of the variable RETIREMENT_READER_KEYRING (JSON text).
    Messages name the option and the problem, never a secret."""
    inline = inline if inline not in (None, "") and inline.strip() else None
    path = path.strip() if path is not None and path.strip() else None
    flag = "--keyring-file" if path is not None else KEYRING_ENV
    try:
        return load_keyring_setting(
            inline,
            path,
            raw_name=KEYRING_ENV,
            file_name=f"--keyring-file (env {KEYRING_FILE_ENV})",
        )
    except KeyringError as exc:
        raise UsageError(flag, str(exc)) from None


def parse_options(argv: Sequence[str] | None, environ: Mapping[str, str] | None = None) -> ReaderOptions:
    """Flags, then environment, then defaults. Raises UsageError; argparse exits 2 on bad syntax."""
    env = os.environ if environ is None else environ
    args = build_parser().parse_args(argv)

    required = {}
    for flag in ("lms-url", "client-id", "client-secret", "bootstrap-servers"):
        value = _pick(getattr(args, flag.replace("-", "_")), env, flag)
        if value is None or not str(value).strip():
            raise UsageError(f"--{flag}", "required")
        required[flag] = str(value).strip()

    lms_url = required["lms-url"].rstrip("/")
    parts = urlsplit(lms_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError("--lms-url", "must be an http(s) URL such as https://lms.example.org")
    allow_insecure = _bool(
        _pick(args.allow_insecure_http, env, "allow-insecure-http", default=False), "--allow-insecure-http"
    )
    if insecure_http(lms_url) and not allow_insecure:
        raise UsageError(
            "--lms-url",
            "must be https; http only to a loopback address (127.0.0.0/8, ::1, localhost) or with "
            "--allow-insecure-http (env RETIREMENT_READER_ALLOW_INSECURE_HTTP)",
        )
    lms_host = _pick(args.lms_host, env, "lms-host", default=parts.netloc.rsplit("@", 1)[-1])
    lms_host = lms_host.strip().lower()
    if not _HOST_RE.match(lms_host):
        raise UsageError("--lms-host", "must be a host name (and optional port) without scheme or path")

    topic = _pick(args.topic, env, "topic", default=DEFAULT_TOPIC).strip()
    if not _TOPIC_RE.match(topic):
        raise UsageError("--topic", "must be a Kafka topic name ([A-Za-z0-9._-])")
    prefix = (_pick(args.topic_prefix, env, "topic-prefix", default="") or "").strip()
    if prefix and not _TOPIC_RE.match(prefix):
        raise UsageError("--topic-prefix", "must be a topic name prefix ([A-Za-z0-9._-])")
    full_topic = f"{prefix}-{topic}" if prefix else topic

    if args.kafka_property is not None:
        properties = _parse_properties(args.kafka_property, "--kafka-property")
    else:
        env_props = env.get(ENV_PREFIX + "KAFKA_PROPERTIES", "")
        properties = _env_properties(env_props) if env_props.strip() else {}
    if "bootstrap.servers" in properties:
        raise UsageError("--kafka-property", "may not set bootstrap.servers; use --bootstrap-servers")
    for key, allowed in _FORCED.items():
        if key in properties and str(properties[key]) not in allowed:
            raise UsageError(
                "--kafka-property",
                f"may not change {key}: the reader requires an idempotent producer with acks=all",
            )

    if args.state is not None:
        raw_states = args.state
    else:
        raw_states = [_env(env, "state")] if _env(env, "state") else [",".join(DEFAULT_STATES)]
    states = []
    for item in raw_states:
        states.extend(s.strip().upper() for s in item.split(",") if s.strip())
    if not states or not all(_STATE_RE.match(s) for s in states):
        raise UsageError("--state", "must name retirement states such as LMS_MISC_COMPLETE")

    start = _date(_pick(args.start_date, env, "start-date"), "--start-date")
    end = _date(_pick(args.end_date, env, "end-date"), "--end-date")
    follow = _bool(_pick(args.follow, env, "follow", default=False), "--follow")
    if follow and end is not None:
        raise UsageError("--end-date", "is for one-shot runs; --follow reads up to today on every pass")
    if start is not None and end is not None and start > end:
        raise UsageError("--start-date", "is after --end-date")

    level = _pick(args.log_level, env, "log-level", default="INFO").strip().upper()
    if level not in LOG_LEVELS:
        raise UsageError("--log-level", f"must be one of {', '.join(LOG_LEVELS)}")

    lookback = _seconds(
        _pick(args.lookback, env, "lookback", default=DEFAULT_LOOKBACK), "--lookback", 86400, 10 * 365 * 86400
    )
    attempts_text = _pick(args.max_attempts, env, "max-attempts", default="5")
    try:
        attempts = int(attempts_text)
    except ValueError:
        attempts = 0
    if not 1 <= attempts <= 20:
        raise UsageError("--max-attempts", "must be an integer from 1 to 20")

    keyring = _keyring(_pick(args.keyring_file, env, "keyring-file"), env.get(KEYRING_ENV))

    return ReaderOptions(
        lms_url=lms_url,
        client_id=required["client-id"],
        client_secret=required["client-secret"],
        bootstrap_servers=required["bootstrap-servers"],
        topic=full_topic,
        lms_host=lms_host,
        kafka_properties=properties,
        states=tuple(dict.fromkeys(states)),
        start_date=start,
        end_date=end,
        follow=follow,
        interval_seconds=_seconds(
            _pick(args.interval, env, "interval", default=DEFAULT_INTERVAL), "--interval", 0.1, 86400
        ),
        cursor_file=_pick(args.cursor_file, env, "cursor-file"),
        log_level=level,
        lookback_days=max(1, int(lookback // 86400)),
        max_lag_seconds=_seconds(
            _pick(args.max_lag, env, "max-lag", default=DEFAULT_MAX_LAG), "--max-lag", 1, 365 * 86400
        ),
        delivery_timeout_seconds=_seconds(
            _pick(args.delivery_timeout, env, "delivery-timeout", default="30s"),
            "--delivery-timeout",
            0.1,
            300,
        ),
        http_timeout_seconds=_seconds(
            _pick(args.http_timeout, env, "http-timeout", default="30s"), "--http-timeout", 0.1, 600
        ),
        max_attempts=attempts,
        initial_backoff_seconds=_seconds(
            _pick(args.initial_backoff, env, "initial-backoff", default="1s"), "--initial-backoff", 0, 60
        ),
        allow_insecure_http=allow_insecure,
        keyring=keyring,
    )
