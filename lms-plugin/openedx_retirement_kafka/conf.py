"""
The ``RETIREMENT_KAFKA`` setting: defaults, validation, and the librdkafka producer config.

All problems raise ``django.core.exceptions.ImproperlyConfigured`` naming the setting, e.g.
``RETIREMENT_KAFKA['BOOTSTRAP_SERVERS'] must be a non-empty string``. The app loads even so
(build-time and devstack settings have no ``RETIREMENT_KAFKA``); ``checks.py`` reports the
problem (system check ``openedx_retirement_kafka.E001``, a log line at start) and the receiver
raises on the next retirement.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from .encryption import Keyring, KeyringError, load_keyring_setting
from .kafka_config import idempotent_producer_config

SETTING = "RETIREMENT_KAFKA"

# The states that follow RETIRING_LMS_MISC in the documented driver pipeline (see
# docs/lms-plugin.md). A learner in one of them has been through retire_misc already.
DEFAULT_BACKFILL_STATES = ("LMS_MISC_COMPLETE", "RETIRING_LMS", "LMS_COMPLETE", "COMPLETE")

DEFAULTS: dict = {
    "ENABLED": True,
    "BOOTSTRAP_SERVERS": "",
    "TOPIC": "user-retirement",
    "TOPIC_PREFIX": "",
    "PRODUCER_CONFIG": {},
    "DELIVERY_TIMEOUT_SECONDS": 10.0,
    "LMS_HOST": "",  # falls back to settings.LMS_BASE
    "BACKFILL_LMS_BASE_URL": "",  # falls back to settings.LMS_ROOT_URL, then https://LMS_HOST
    "BACKFILL_CLIENT_ID": "",  # or env RETIREMENT_KAFKA_BACKFILL_CLIENT_ID
    "BACKFILL_CLIENT_SECRET": "",  # or env RETIREMENT_KAFKA_BACKFILL_CLIENT_SECRET
    "BACKFILL_STATES": list(DEFAULT_BACKFILL_STATES),
    "BACKFILL_HTTP_TIMEOUT_SECONDS": 30.0,
    "BACKFILL_MAX_ATTEMPTS": 5,
    "BACKFILL_INITIAL_BACKOFF_SECONDS": 1.0,
    # docs/encryption.md: JSON text or dict {"current": kid, "keys": [...]}, or a file holding it.
    "ENCRYPTION_KEYRING": None,
    "ENCRYPTION_KEYRING_FILE": "",
}

# Producer properties the plugin insists on; PRODUCER_CONFIG may repeat them, not change them.
_FORCED = {"enable.idempotence": {"true", "True", True}, "acks": {"all", "-1", -1}}
_TOPIC_RE = re.compile(r"^[A-Za-z0-9._-]{1,249}\Z")
_HOST_RE = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?\Z")


def _name(key: str) -> str:
    return f"{SETTING}[{key!r}]"


@dataclass(frozen=True)
class RetirementKafkaConfig:
    enabled: bool
    bootstrap_servers: str = ""
    topic: str = "user-retirement"
    delivery_timeout_seconds: float = 10.0
    lms_host: str = ""
    # No secret in a repr: PRODUCER_CONFIG may hold sasl.password or ssl.key.password.
    producer_overrides: Mapping[str, Any] = field(default_factory=dict, repr=False)
    backfill_lms_base_url: str = ""
    backfill_client_id: str = ""
    backfill_client_secret: str = field(default="", repr=False)
    backfill_states: tuple[str, ...] = DEFAULT_BACKFILL_STATES
    backfill_http_timeout_seconds: float = 30.0
    backfill_max_attempts: int = 5
    backfill_initial_backoff_seconds: float = 1.0
    # Encrypts the personal fields of every event under its current key (None: in clear).
    keyring: Keyring | None = field(default=None, repr=False)

    def producer_config(self) -> dict:
        """The confluent-kafka Producer configuration."""
        return idempotent_producer_config(
            self.bootstrap_servers,
            "openedx-retirement-kafka",
            self.delivery_timeout_seconds,
            self.producer_overrides,
        )


def merged_setting(settings: Any) -> dict:
    """Defaults overlaid with the operator's ``RETIREMENT_KAFKA`` (a dict, maybe partial)."""
    raw = getattr(settings, SETTING, None)
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ImproperlyConfigured(f"{SETTING} must be a dict, not {type(raw).__name__}")
    unknown = sorted(set(raw) - set(DEFAULTS))
    if unknown:
        raise ImproperlyConfigured(f"{SETTING} has unknown keys {unknown}; known keys: {sorted(DEFAULTS)}")
    merged = dict(DEFAULTS)
    merged.update(raw)
    return merged


def _number(raw: Mapping, key: str, minimum: float, maximum: float) -> float:
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not minimum < value <= maximum:
        raise ImproperlyConfigured(f"{_name(key)} must be a number in ({minimum}, {maximum}]")
    return float(value)


def load_config(settings: Any, environ: Mapping[str, str] | None = None) -> RetirementKafkaConfig:
    """Validate the setting. Raises ImproperlyConfigured naming the setting on any problem."""
    import os

    env = os.environ if environ is None else environ
    raw = merged_setting(settings)

    enabled = raw["ENABLED"]
    if not isinstance(enabled, bool):
        raise ImproperlyConfigured(f"{_name('ENABLED')} must be True or False")
    if not enabled:
        return RetirementKafkaConfig(enabled=False)

    servers = raw["BOOTSTRAP_SERVERS"]
    if isinstance(servers, (list, tuple)):
        if not all(isinstance(s, str) and s.strip() for s in servers):
            raise ImproperlyConfigured(f"{_name('BOOTSTRAP_SERVERS')} must list host:port strings")
        servers = ",".join(s.strip() for s in servers)
    if not isinstance(servers, str) or not servers.strip():
        raise ImproperlyConfigured(
            f"{_name('BOOTSTRAP_SERVERS')} must be a non-empty string 'host:port[,host:port...]'"
        )

    topic = raw["TOPIC"]
    if not isinstance(topic, str) or not _TOPIC_RE.match(topic):
        raise ImproperlyConfigured(f"{_name('TOPIC')} must be a Kafka topic name ([A-Za-z0-9._-])")
    prefix = raw["TOPIC_PREFIX"]
    if prefix is None:
        prefix = ""
    if not isinstance(prefix, str) or (prefix and not _TOPIC_RE.match(prefix)):
        raise ImproperlyConfigured(f"{_name('TOPIC_PREFIX')} must be empty or a topic name prefix")
    full_topic = f"{prefix}-{topic}" if prefix else topic

    overrides = raw["PRODUCER_CONFIG"]
    if overrides is None:
        overrides = {}
    if not isinstance(overrides, Mapping) or not all(isinstance(k, str) for k in overrides):
        raise ImproperlyConfigured(f"{_name('PRODUCER_CONFIG')} must be a dict of librdkafka properties")
    for key, allowed in _FORCED.items():
        if key in overrides and overrides[key] not in allowed:
            raise ImproperlyConfigured(
                f"{_name('PRODUCER_CONFIG')} may not change {key!r}: the plugin requires "
                "an idempotent producer with acks=all"
            )
    if "bootstrap.servers" in overrides:
        raise ImproperlyConfigured(
            f"{_name('PRODUCER_CONFIG')} may not set 'bootstrap.servers'; use {_name('BOOTSTRAP_SERVERS')}"
        )

    timeout = _number(raw, "DELIVERY_TIMEOUT_SECONDS", 0, 300)

    lms_host = raw["LMS_HOST"] or getattr(settings, "LMS_BASE", "") or ""
    if not isinstance(lms_host, str) or not _HOST_RE.match(lms_host.strip()):
        raise ImproperlyConfigured(
            f"{_name('LMS_HOST')} (or LMS_BASE) must be the LMS host name, e.g. 'lms.example.org', "
            "without scheme or path; it is part of every ce_id"
        )
    lms_host = lms_host.strip().lower()

    base_url = raw["BACKFILL_LMS_BASE_URL"] or getattr(settings, "LMS_ROOT_URL", "") or f"https://{lms_host}"
    if not isinstance(base_url, str) or not re.match(r"^https?://", base_url):
        raise ImproperlyConfigured(f"{_name('BACKFILL_LMS_BASE_URL')} must be an http(s) URL")
    client_id = raw["BACKFILL_CLIENT_ID"] or env.get("RETIREMENT_KAFKA_BACKFILL_CLIENT_ID", "")
    client_secret = raw["BACKFILL_CLIENT_SECRET"] or env.get("RETIREMENT_KAFKA_BACKFILL_CLIENT_SECRET", "")
    for key, value in (("BACKFILL_CLIENT_ID", client_id), ("BACKFILL_CLIENT_SECRET", client_secret)):
        if not isinstance(value, str):
            raise ImproperlyConfigured(f"{_name(key)} must be a string")
    states = raw["BACKFILL_STATES"]
    if (
        not isinstance(states, (list, tuple))
        or not states
        or not all(isinstance(s, str) and re.match(r"^[A-Z0-9_]+\Z", s) for s in states)
    ):
        raise ImproperlyConfigured(f"{_name('BACKFILL_STATES')} must be a non-empty list of state names")
    attempts = raw["BACKFILL_MAX_ATTEMPTS"]
    if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 20:
        raise ImproperlyConfigured(f"{_name('BACKFILL_MAX_ATTEMPTS')} must be an integer from 1 to 20")

    try:
        keyring = load_keyring_setting(raw["ENCRYPTION_KEYRING"], raw["ENCRYPTION_KEYRING_FILE"])
    except KeyringError as exc:
        raise ImproperlyConfigured(f"{_name('ENCRYPTION_KEYRING')}: {exc}") from None

    return RetirementKafkaConfig(
        enabled=True,
        bootstrap_servers=servers.strip(),
        topic=full_topic,
        delivery_timeout_seconds=timeout,
        lms_host=lms_host,
        producer_overrides=dict(overrides),
        backfill_lms_base_url=base_url.rstrip("/"),
        backfill_client_id=client_id,
        backfill_client_secret=client_secret,
        backfill_states=tuple(states),
        backfill_http_timeout_seconds=_number(raw, "BACKFILL_HTTP_TIMEOUT_SECONDS", 0, 600),
        backfill_max_attempts=attempts,
        backfill_initial_backoff_seconds=_number(raw, "BACKFILL_INITIAL_BACKOFF_SECONDS", 0, 60),
        keyring=keyring,
    )


def check_producer_config(config: RetirementKafkaConfig) -> None:
    """Let librdkafka check the property names and values (no message is sent)."""
    from confluent_kafka import KafkaException, Producer

    try:
        producer = Producer(config.producer_config())
    except (KafkaException, ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"{_name('PRODUCER_CONFIG')} is rejected by librdkafka: {exc}") from None
    del producer


_cached: RetirementKafkaConfig | None = None


def get_config() -> RetirementKafkaConfig:
    """The validated config of this process; raises ImproperlyConfigured while it is unusable."""
    global _cached
    if _cached is None:
        from django.conf import settings

        config = load_config(settings)
        if config.enabled:
            check_producer_config(config)
        _cached = config
    return _cached


def reset_config_cache() -> None:
    global _cached
    _cached = None
