"""
Effective values of the plugin, computed from the Tutor configuration.

Templates and patches call ``retirement_consumer()`` (a Jinja global that sees the whole
configuration through the template context) instead of repeating the defaulting logic in
Jinja. Everything here is plain Python over a mapping, so it is testable on its own.

Secrets never go into the consumer's YAML configuration: every secret value is replaced
by ``KEY_env: VARIABLE`` and the value is returned in ``env`` for the container
environment (compose ``environment:``, Kubernetes Secret).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import typing as t
from datetime import UTC, datetime

import jinja2
import yaml

PREFIX = "RETIREMENT_CONSUMER_"
IN_CLUSTER_KAFKA = "retirement-kafka:9092"
CONFIG_PATH = "/etc/retirement-consumer/config.yaml"

# Destination keys that hold credentials (see docs/destinations.md). `url` is a secret only
# for the sql type (it carries the database password).
SECRET_DESTINATION_KEYS = frozenset(
    {
        "secret",
        "api_key",
        "secret_key",
        "token",
        "password",
        "client_id",
        "client_secret",
        "security_token",
    }
)
_SECRET_PROPERTY = re.compile(r"(password|secret|\.pem$|\.key$|jaas)", re.IGNORECASE)

# The librdkafka properties the plugin sets itself from dedicated config keys.
_SECURITY_KEYS = ("security.protocol", "sasl.mechanism", "sasl.username", "sasl.password", "ssl.ca.pem")

# The Kafka the plugin runs: SASL/SCRAM principals, one per component (docs/tutor.md, "Security").
SCRAM_MECHANISM = "SCRAM-SHA-512"
PRINCIPALS = {"lms": "retirement-lms", "consumer": "retirement-consumer", "reader": "retirement-reader"}
ADMIN_PRINCIPAL = "retirement-admin"

# Top-level sections of the consumer's configuration (docs/contract.md §7) that
# RETIREMENT_CONSUMER_CONSUMER_CONFIG may extend; destinations have their own settings.
CONSUMER_SECTIONS = ("kafka", "processing", "http", "receipts", "logging", "encryption")
DESTINATION_PREFIX = PREFIX + "DESTINATION_"
# The driver's pipeline by default: edx-platform's default RETIREMENT_STATES plus the misc
# step the LMS plugin publishes at ([start state, end state, service, LmsApi method]).
DEFAULT_PIPELINE = [
    ["LOCKING_ACCOUNT", "LOCKING_COMPLETE", "LMS", "retirement_deactivate_logout"],
    ["RETIRING_FORUMS", "FORUMS_COMPLETE", "LMS", "retirement_retire_forum"],
    ["RETIRING_ENROLLMENTS", "ENROLLMENTS_COMPLETE", "LMS", "retirement_unenroll"],
    ["RETIRING_NOTES", "NOTES_COMPLETE", "LMS", "retirement_retire_notes"],
    ["RETIRING_LMS_MISC", "LMS_MISC_COMPLETE", "LMS", "retirement_lms_retire_misc"],
    ["RETIRING_LMS", "LMS_COMPLETE", "LMS", "retirement_lms_retire"],
]
_DESTINATION_SUFFIX = re.compile(r"^[A-Z0-9_]+\Z")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
_SECRET_KEY = re.compile(r"(password|secret|token|api_key|private_key|keyring)$", re.IGNORECASE)


class _Config:
    """Read access to the Tutor configuration (a dict or a Jinja context)."""

    def __init__(self, source: t.Any):
        self.source = source

    def raw(self, name: str, default: t.Any = None) -> t.Any:
        value = self.source.get(name, default)
        if isinstance(value, jinja2.Undefined):
            return default
        return value

    def get(self, key: str, default: t.Any = None) -> t.Any:
        return self.raw(PREFIX + key, default)

    def text(self, key: str) -> str:
        value = self.get(key)
        return "" if value is None else str(value).strip()


def _bool(value: t.Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "on", "1"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "no", "off", "0", ""):
        return False
    raise ValueError(f"{name} must be true or false, got {value!r}")


def _int(value: t.Any, name: str, minimum: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if number < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {number}")
    return number


def env_name(*parts: str) -> str:
    """An environment variable name from free-form parts: upper case, [A-Z0-9_]."""
    name = "_".join(re.sub(r"[^A-Za-z0-9]+", "_", part).strip("_").upper() for part in parts if part)
    return name


class _Env:
    """Container environment variables, refusing two different values under one name."""

    def __init__(self):
        self.values: dict = {}
        self.origins: dict = {}

    def put(self, name: str, value: str, origin: str) -> str:
        if name in self.values and self.origins[name] != origin:
            raise ValueError(
                f"{origin} and {self.origins[name]} would share the environment variable {name}: "
                "rename one of them"
            )
        self.values[name] = value
        self.origins[name] = origin
        return name


def _auto(value: t.Any) -> bool:
    """None, "", "auto", or the unrendered default itself (while Tutor renders the defaults)."""
    return value is None or (
        isinstance(value, str)
        and (value.strip().lower() in ("auto", "") or "retirement_consumer_default" in value)
    )


def effective_run_kafka(config: _Config) -> bool:
    setting = config.get("RUN_KAFKA")
    if _auto(setting):
        return not config.raw("EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS") and not config.text(
            "KAFKA_BOOTSTRAP_SERVERS"
        )
    return _bool(setting, PREFIX + "RUN_KAFKA")


def effective_topic_prefix(config: _Config) -> str:
    setting = config.get("TOPIC_PREFIX")
    if setting is None or (
        isinstance(setting, str)
        and (setting.strip().lower() == "auto" or "retirement_consumer_default" in setting)
    ):
        if config.raw("EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS"):
            return str(config.raw("EVENT_BUS_TOPIC_PREFIX") or "")
        return ""
    return str(setting).strip()


def destination_settings(source: t.Any) -> list[tuple[str, t.Any]]:
    """(setting name, value) of every destination: the DESTINATIONS list, then one per
    RETIREMENT_CONSUMER_DESTINATION_<NAME> setting (sorted by setting name)."""
    config = _Config(source)
    found: list[tuple[str, t.Any]] = []
    raw_list = config.get("DESTINATIONS") or []
    if not isinstance(raw_list, list):
        raise ValueError(f"{PREFIX}DESTINATIONS must be a YAML list of destinations")
    for index, item in enumerate(raw_list):
        found.append((f"{PREFIX}DESTINATIONS[{index}]", item))
    keys = source.keys() if hasattr(source, "keys") else []
    for key in sorted(k for k in keys if isinstance(k, str) and k.startswith(DESTINATION_PREFIX)):
        value = config.raw(key)
        if value is None or value == "" or value == {}:
            continue  # a destination switched off with --set KEY='' (or unset it)
        found.append((key, value))
    return found


def _destination(setting: str, item: t.Any) -> dict:
    if isinstance(item, str):
        try:
            item = yaml.safe_load(item)
        except yaml.YAMLError:
            raise ValueError(f"{setting} must be a YAML mapping (a destination)") from None
    if not isinstance(item, dict):
        raise ValueError(f"{setting} must be a mapping with 'type' (and 'name' in a list)")
    item = dict(item)
    if setting.startswith(DESTINATION_PREFIX):
        suffix = setting[len(DESTINATION_PREFIX) :]
        if not _DESTINATION_SUFFIX.match(suffix):
            raise ValueError(f"{setting}: the setting name must end in [A-Z0-9_]")
        item.setdefault("name", suffix.lower().replace("_", "-"))
    if not item.get("name") or not item.get("type"):
        raise ValueError(f"{setting} must be a mapping with 'name' and 'type'")
    if not isinstance(item["name"], str) or not _NAME.match(item["name"]):
        raise ValueError(
            f"{setting}: name must match [A-Za-z0-9][A-Za-z0-9._-]{{0,63}}, got {item['name']!r}"
        )
    if not isinstance(item["type"], str):
        raise ValueError(f"{setting}: type must be a string")
    return item


def _deep_merge(base: dict, extra: dict) -> dict:
    result = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _deep_merge(result[key], value)
        else:
            result[key] = value
    return result


def _move_secrets(value: t.Any, path: list[str], env: _Env) -> t.Any:
    """Passthrough values under secret-looking keys go to the environment (KEY_env)."""
    if isinstance(value, dict):
        out: dict = {}
        for key, item in value.items():
            key = str(key)
            if _SECRET_KEY.search(key) and isinstance(item, (str, int, float)) and not isinstance(item, bool):
                variable = env_name("RC_CONFIG", *path, key)
                env.put(variable, str(item), f"{PREFIX}CONSUMER_CONFIG {'.'.join([*path, key])}")
                out[f"{key}_env"] = variable
            else:
                out[key] = _move_secrets(item, [*path, key], env)
        return out
    return value


def parse_keyring(text: t.Any, name: str) -> dict:
    """The keyring setting (JSON text) checked for shape; the secrets are never quoted."""
    if isinstance(text, dict):
        keyring = text
    else:
        try:
            keyring = json.loads(str(text))
        except ValueError:
            raise ValueError(f"{name} must be a keyring in JSON (docs/encryption.md)") from None
    keys = keyring.get("keys") if isinstance(keyring, dict) else None
    if not isinstance(keys, list) or not keys:
        raise ValueError(f"{name} must be a keyring with a non-empty 'keys' list")
    ids = []
    for key in keys:
        secret = key.get("secret") if isinstance(key, dict) else None
        try:
            raw = base64.b64decode(str(secret), validate=True)
        except ValueError:
            raw = b""
        if not isinstance(key, dict) or not isinstance(key.get("id"), str) or len(raw) != 32:
            raise ValueError(f"{name}: every key needs an 'id' and a 'secret' of 32 bytes in base64")
        ids.append(key["id"])
    if len(set(ids)) != len(ids):
        raise ValueError(f"{name}: a key id appears twice")
    if keyring.get("current") not in ids:
        raise ValueError(f"{name}: 'current' must name one of its keys")
    return keyring


def new_key(now: datetime | None = None) -> dict:
    now = now or datetime.now(UTC)
    return {
        "id": now.strftime("k-%Y%m%d-%H%M%S"),
        "created": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "secret": base64.b64encode(os.urandom(32)).decode("ascii"),
    }


def new_keyring() -> str:
    """Jinja global for CONFIG_UNIQUE: a fresh keyring with one random 256-bit key."""
    key = new_key()
    return json.dumps({"current": key["id"], "keys": [key]}, separators=(",", ":"))


def _ms_duration(ms: int) -> str:
    return f"{max(ms // 1000, 3600)}s"


_SCALAR_SETTINGS = (
    "VERSION DOCKER_IMAGE SOURCE_DIR KAFKA_DOCKER_IMAGE LMS_PLUGIN_REQUIREMENT LMS_INTERNAL_URL "
    "OAUTH2_CLIENT_ID OAUTH2_CLIENT_SECRET KAFKA_BOOTSTRAP_SERVERS KAFKA_CLUSTER_ID "
    "KAFKA_SECURITY_PROTOCOL KAFKA_SASL_MECHANISM KAFKA_SASL_USERNAME KAFKA_SASL_PASSWORD KAFKA_CA_PEM "
    "KAFKA_STORAGE_SIZE TOPIC TOPIC_PREFIX DEAD_LETTER_TOPIC RECEIPTS_TOPIC GROUP_ID LOG_LEVEL "
    "READER_INTERVAL READER_START_DATE DRIVER_SCHEDULE WEBHOOK_SECRET KAFKA_ADMIN_PASSWORD "
    "KAFKA_LMS_PASSWORD KAFKA_CONSUMER_PASSWORD KAFKA_READER_PASSWORD"
).split()
_TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}\Z")


def _check_settings(config: _Config) -> None:
    """Types and formats of the settings the templates use as they are."""
    for key in _SCALAR_SETTINGS:
        value = config.get(key)
        if isinstance(value, (list, dict)):
            raise ValueError(f"{PREFIX}{key} must be a single value, not a {type(value).__name__}")
    for key in (
        "MANAGE_RETIREMENT_STATES",
        "POPULATE_RETIREMENT_STATES",
        "CREATE_OAUTH2_CLIENT",
        "NETWORK_POLICIES",
    ):
        _bool(config.get(key, True), PREFIX + key)
    for key, minimum in (
        ("KAFKA_REPLICATION_FACTOR", 1),
        ("TOPIC_RETENTION_MS", 3600000),
        ("RECEIPTS_RETENTION_MS", 3600000),
    ):
        _int(config.get(key, minimum), PREFIX + key, minimum)
    for key in ("TOPIC", "DEAD_LETTER_TOPIC", "RECEIPTS_TOPIC", "TOPIC_PREFIX", "GROUP_ID"):
        value = config.text(key)
        if value and not _auto(value) and not _TOPIC.match(value):
            raise ValueError(f"{PREFIX}{key} must be a Kafka name ([A-Za-z0-9._-]), got {value!r}")
    if config.text("LOG_LEVEL") and config.text("LOG_LEVEL") not in (
        "trace",
        "debug",
        "info",
        "warning",
        "error",
    ):
        raise ValueError(f"{PREFIX}LOG_LEVEL must be trace, debug, info, warning or error")
    interval = config.text("READER_INTERVAL")
    if interval and not re.match(r"^[0-9]+(\.[0-9]+)?(ms|s|m|h|d)\Z", interval):
        raise ValueError(f"{PREFIX}READER_INTERVAL must be a duration like 5m, got {interval!r}")
    size = config.text("KAFKA_STORAGE_SIZE")
    if size and not re.match(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?\Z", size):
        raise ValueError(f"{PREFIX}KAFKA_STORAGE_SIZE must be a Kubernetes quantity like 2Gi, got {size!r}")
    for key in ("METRICS_SCRAPER_POD_LABELS", "METRICS_SCRAPER_NAMESPACE_LABELS"):
        labels = config.get(key) or {}
        if not isinstance(labels, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
        ):
            raise ValueError(f"{PREFIX}{key} must be a mapping of label names to strings")
    if config.get("METRICS_SCRAPER_POD_LABELS") == {}:
        raise ValueError(f"{PREFIX}METRICS_SCRAPER_POD_LABELS may not be empty (it would admit every pod)")
    try:
        float(config.get("DELIVERY_TIMEOUT_SECONDS", 10))
    except (TypeError, ValueError):
        raise ValueError(f"{PREFIX}DELIVERY_TIMEOUT_SECONDS must be a number of seconds") from None


def compute(source: t.Any) -> dict:
    """All effective values, from the Tutor configuration ``source``."""
    config = _Config(source)
    _check_settings(config)
    event_bus_servers = config.raw("EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS")
    event_bus_kafka = bool(event_bus_servers)
    run_kafka = effective_run_kafka(config)

    servers = config.text("KAFKA_BOOTSTRAP_SERVERS")
    if not servers:
        if run_kafka:
            servers = IN_CLUSTER_KAFKA
        elif event_bus_kafka:
            servers = (
                ",".join(event_bus_servers) if isinstance(event_bus_servers, list) else str(event_bus_servers)
            )
    if not servers:
        raise ValueError(
            f"{PREFIX}KAFKA_BOOTSTRAP_SERVERS is empty, there is no EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS "
            f"and {PREFIX}RUN_KAFKA is false: set one of them"
        )

    topic = config.text("TOPIC") or "user-retirement"
    prefix = effective_topic_prefix(config)
    full_topic = f"{prefix}-{topic}" if prefix else topic
    dead_letter_setting = config.get("DEAD_LETTER_TOPIC")
    dead_letter_topic = (
        f"{full_topic}.dlq" if _auto(dead_letter_setting) else str(dead_letter_setting).strip()
    )
    receipts_setting = config.get("RECEIPTS_TOPIC")
    if receipts_setting is None or (receipts_setting != "" and _auto(receipts_setting)):
        receipts_topic = f"{full_topic}.receipts"
    else:
        receipts_topic = str(receipts_setting).strip()  # "" turns receipts off

    partitions = _int(config.get("TOPIC_PARTITIONS", 6), PREFIX + "TOPIC_PARTITIONS", 1)
    replicas = min(_int(config.get("REPLICAS", 1), PREFIX + "REPLICAS", 0), partitions)
    dead_letter_retention = _int(
        config.get("DEAD_LETTER_RETENTION_MS", 2592000000), PREFIX + "DEAD_LETTER_RETENTION_MS", 3600000
    )

    # --- Kafka client security, shared by the LMS producer, the consumer and the reader.
    # The Kafka the plugin runs requires SASL/SCRAM, one principal per component; an
    # external Kafka gets the KAFKA_SECURITY_* / KAFKA_SASL_* settings (one principal).
    kafka_sasl = run_kafka and _bool(config.get("KAFKA_SASL", True), PREFIX + "KAFKA_SASL")
    extra = config.get("KAFKA_PROPERTIES") or {}
    if not isinstance(extra, dict):
        raise ValueError(f"{PREFIX}KAFKA_PROPERTIES must be a mapping of librdkafka properties")
    for key in extra:
        if key in _SECURITY_KEYS or key == "bootstrap.servers":
            raise ValueError(f"{PREFIX}KAFKA_PROPERTIES may not set {key!r}: use its own config key")
    common: dict = {}
    credentials: dict = {}  # component -> {"sasl.username": ..., "sasl.password": ...}
    if kafka_sasl:
        for key in (
            "KAFKA_SECURITY_PROTOCOL",
            "KAFKA_SASL_MECHANISM",
            "KAFKA_SASL_USERNAME",
            "KAFKA_SASL_PASSWORD",
        ):
            if config.text(key):
                raise ValueError(
                    f"{PREFIX}{key} is for an external Kafka; the Kafka the plugin runs has its own "
                    f"principals ({PREFIX}KAFKA_SASL=false turns them off)"
                )
        common = {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": SCRAM_MECHANISM}
        for component, principal in PRINCIPALS.items():
            password = config.text(f"KAFKA_{component.upper()}_PASSWORD")
            if not password:
                raise ValueError(f"{PREFIX}KAFKA_{component.upper()}_PASSWORD is empty")
            credentials[component] = {"sasl.username": principal, "sasl.password": password}
    else:
        if config.text("KAFKA_SECURITY_PROTOCOL"):
            common["security.protocol"] = config.text("KAFKA_SECURITY_PROTOCOL")
        if config.text("KAFKA_SASL_MECHANISM"):
            common["sasl.mechanism"] = config.text("KAFKA_SASL_MECHANISM")
        shared = {}
        if config.text("KAFKA_SASL_USERNAME"):
            shared["sasl.username"] = config.text("KAFKA_SASL_USERNAME")
        if config.text("KAFKA_SASL_PASSWORD"):
            shared["sasl.password"] = config.text("KAFKA_SASL_PASSWORD")
        credentials = {component: dict(shared) for component in PRINCIPALS}
    if config.text("KAFKA_CA_PEM"):
        common["ssl.ca.pem"] = config.text("KAFKA_CA_PEM")
    common.update({str(k): str(v) if not isinstance(v, bool) else str(v).lower() for k, v in extra.items()})

    def client(component: str) -> dict:
        return {**common, **credentials[component]}

    def indirect_of(properties: dict, env: _Env, origin: str) -> dict:
        """The properties with secrets replaced by KEY_env (the values go to ``env``)."""
        indirect: dict = {}
        for key, value in properties.items():
            if key in ("sasl.password", "ssl.ca.pem", "sasl.username") or _SECRET_PROPERTY.search(key):
                variable = {
                    "sasl.password": "KAFKA_SASL_PASSWORD",
                    "sasl.username": "KAFKA_SASL_USERNAME",
                }.get(key, env_name("KAFKA", key))
                env.put(variable, value, f"{origin} Kafka property {key}")
                indirect[f"{key}_env"] = variable
            else:
                indirect[key] = value
        return indirect

    consumer_env = _Env()
    indirect = indirect_of(client("consumer"), consumer_env, "the consumer's")

    # --- encryption: a keyring generated once per site (CONFIG_UNIQUE)
    encryption = _bool(config.get("ENCRYPTION", True), PREFIX + "ENCRYPTION")
    keyring_text = ""
    if encryption:
        keyring = parse_keyring(config.get("ENCRYPTION_KEYRING") or "", PREFIX + "ENCRYPTION_KEYRING")
        keyring_text = json.dumps(keyring, separators=(",", ":"))
        consumer_env.put("RETIREMENT_KEYRING", keyring_text, f"{PREFIX}ENCRYPTION_KEYRING")

    # --- destinations
    webhook_secret = config.text("WEBHOOK_SECRET")
    destinations = []
    seen: dict = {}
    for setting, item in destination_settings(source):
        item = _destination(setting, item)
        name = item["name"]
        if name in seen:
            raise ValueError(f"{setting}: the destination name {name!r} is already used by {seen[name]}")
        seen[name] = setting
        rendered: dict = {}
        for key, value in item.items():
            secret = key in SECRET_DESTINATION_KEYS or (key == "url" and item["type"] == "sql")
            if secret and isinstance(value, (str, int, float)) and not isinstance(value, bool):
                variable = env_name("RC_DEST", name, key)
                consumer_env.put(variable, str(value), f"destination {name!r} key {key!r} ({setting})")
                rendered[f"{key}_env"] = variable
            else:
                rendered[key] = value
        if item["type"] == "webhook" and not any(k.startswith("secret") for k in item) and webhook_secret:
            # The HMAC secret Tutor generated (CONFIG_UNIQUE), shared by webhook destinations
            # that bring none of their own.
            consumer_env.put("RETIREMENT_WEBHOOK_SECRET", webhook_secret, f"{PREFIX}WEBHOOK_SECRET")
            rendered["secret_env"] = "RETIREMENT_WEBHOOK_SECRET"
        destinations.append(rendered)

    run_consumer_setting = config.get("RUN_CONSUMER")
    if _auto(run_consumer_setting):
        run_consumer = bool(destinations)
    else:
        run_consumer = _bool(run_consumer_setting, PREFIX + "RUN_CONSUMER")

    shutdown_grace = _int(config.get("SHUTDOWN_GRACE_SECONDS", 20), PREFIX + "SHUTDOWN_GRACE_SECONDS", 1)
    consumer_config: dict = {
        "kafka": {
            "bootstrap_servers": servers,
            "topic": full_topic,
            "group_id": config.text("GROUP_ID") or "retirement-consumer",
            "dead_letter_topic": dead_letter_topic,
            "properties": indirect,
        },
        "processing": {
            "max_in_flight": _int(config.get("MAX_IN_FLIGHT", 1000), PREFIX + "MAX_IN_FLIGHT", 1),
            "retry": {
                "initial_backoff": "1s",
                "max_backoff": "5m",
                "max_attempts": _int(config.get("MAX_ATTEMPTS", 10), PREFIX + "MAX_ATTEMPTS", 1),
            },
            "shutdown_grace": f"{shutdown_grace}s",
        },
        "http": {"listen": "0.0.0.0:9464"},
        "logging": {"level": config.text("LOG_LEVEL") or "info", "format": "json"},
    }
    if receipts_topic:
        consumer_config["receipts"] = {"topic": receipts_topic}
    if encryption:
        consumer_config["encryption"] = {
            "keyring_env": "RETIREMENT_KEYRING",
            "required": True,
            "longest_retention": _ms_duration(dead_letter_retention),
        }
    passthrough = config.get("CONSUMER_CONFIG") or {}
    if isinstance(passthrough, str):
        try:
            passthrough = yaml.safe_load(passthrough) or {}
        except yaml.YAMLError:
            raise ValueError(f"{PREFIX}CONSUMER_CONFIG must be a YAML mapping") from None
    if not isinstance(passthrough, dict):
        raise ValueError(f"{PREFIX}CONSUMER_CONFIG must be a mapping of consumer configuration sections")
    for section, value in passthrough.items():
        if section == "destinations":
            raise ValueError(
                f"{PREFIX}CONSUMER_CONFIG may not set destinations: use {DESTINATION_PREFIX}<NAME> settings"
            )
        if section not in CONSUMER_SECTIONS:
            raise ValueError(
                f"{PREFIX}CONSUMER_CONFIG: unknown section {section!r} "
                f"(known: {', '.join(CONSUMER_SECTIONS)})"
            )
        if not isinstance(value, dict):
            raise ValueError(f"{PREFIX}CONSUMER_CONFIG: {section} must be a mapping")
    consumer_config = _deep_merge(consumer_config, _move_secrets(passthrough, [], consumer_env))
    consumer_config["destinations"] = destinations

    # --- LMS settings (RETIREMENT_KAFKA; see lms-plugin/openedx_retirement_kafka/conf.py).
    # Secrets are not written into the settings: they come from the LMS containers'
    # environment (lms_env below: compose environment / Kubernetes Secret retirement-lms-env).
    client_id, client_secret = oauth_client(config)
    lms_env = _Env()
    lms_client = client("lms")
    lms_secret_properties = {}
    lms_properties = {}
    for key, value in lms_client.items():
        if key in ("sasl.password", "ssl.ca.pem") or _SECRET_PROPERTY.search(key):
            variable = env_name("RETIREMENT_KAFKA", key)
            lms_env.put(variable, value, f"the LMS Kafka property {key}")
            lms_secret_properties[key] = variable
        else:
            lms_properties[key] = value
    if client_secret:
        lms_env.put("RETIREMENT_KAFKA_BACKFILL_CLIENT_SECRET", client_secret, "the OAuth2 client secret")
    if encryption:
        lms_env.put("RETIREMENT_KAFKA_ENCRYPTION_KEYRING", keyring_text, f"{PREFIX}ENCRYPTION_KEYRING")
    lms_setting = {
        "ENABLED": _bool(config.get("LMS_ENABLED", True), PREFIX + "LMS_ENABLED"),
        "BOOTSTRAP_SERVERS": servers,
        "TOPIC": topic,
        "TOPIC_PREFIX": prefix,
        "PRODUCER_CONFIG": lms_properties,
        "DELIVERY_TIMEOUT_SECONDS": float(config.get("DELIVERY_TIMEOUT_SECONDS", 10)),
        "LMS_HOST": str(config.raw("LMS_HOST") or ""),
        "BACKFILL_LMS_BASE_URL": config.text("LMS_INTERNAL_URL") or "http://lms:8000",
        "BACKFILL_CLIENT_ID": client_id,
    }

    # --- the out-of-band reader (openedx-retirement-reader), environment only
    reader_url = config.text("LMS_INTERNAL_URL") or "http://lms:8000"
    reader_env = _Env()
    for name, value in {
        "RETIREMENT_READER_LMS_URL": reader_url,
        "RETIREMENT_READER_CLIENT_ID": client_id,
        "RETIREMENT_READER_CLIENT_SECRET": client_secret,
        "RETIREMENT_READER_BOOTSTRAP_SERVERS": servers,
        "RETIREMENT_READER_TOPIC": topic,
        "RETIREMENT_READER_TOPIC_PREFIX": prefix,
    }.items():
        reader_env.put(name, value, name)
    if reader_url.lower().startswith("http://"):
        # Tutor's internal URL (http://lms:8000) stays on the deployment's own network; the reader
        # refuses plain http to anything but a loopback address without this opt-in
        # (docs/out-of-band-reader.md#transport-https-and-no-redirects).
        reader_env.put(
            "RETIREMENT_READER_ALLOW_INSECURE_HTTP", "true", "RETIREMENT_READER_ALLOW_INSECURE_HTTP"
        )
    if encryption:
        reader_env.put("RETIREMENT_READER_KEYRING", keyring_text, f"{PREFIX}ENCRYPTION_KEYRING")
    reader_indirect = indirect_of(client("reader"), reader_env, "the reader's")
    # Flags for the Kafka properties: secrets are expanded by the shell from the environment
    # at run time, so no secret sits in a command line or a pod spec.
    reader_property_flags = []
    for key, value in reader_indirect.items():
        if key.endswith("_env"):
            reader_property_flags.append(f'--kafka-property "{key[:-4]}=${value}"')
        else:
            reader_property_flags.append("--kafka-property " + shell_quote(f"{key}={value}"))

    # --- the topic job: the broker's admin (PLAIN, static) for the Kafka the plugin runs
    kafka_env = _Env()
    if kafka_sasl:
        admin_properties = {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN"}
        kafka_env.put("KAFKA_SASL_USERNAME", ADMIN_PRINCIPAL, "the Kafka admin")
        kafka_env.put("KAFKA_SASL_PASSWORD", config.text("KAFKA_ADMIN_PASSWORD"), "the Kafka admin")
        for component, principal in PRINCIPALS.items():
            kafka_env.put(
                env_name("SCRAM", component, "PASSWORD"), credentials[component]["sasl.password"], principal
            )
    else:
        admin_properties = {
            k: v
            for k, v in client("consumer").items()
            if k not in ("sasl.username", "sasl.password", "ssl.ca.pem")
        }
        for key, variable in (
            ("sasl.username", "KAFKA_SASL_USERNAME"),
            ("sasl.password", "KAFKA_SASL_PASSWORD"),
            ("ssl.ca.pem", "KAFKA_SSL_CA_PEM"),
        ):
            value = client("consumer").get(key)
            if value:
                kafka_env.put(variable, value, f"Kafka property {key}")
        if "ssl.ca.pem" in common:
            admin_properties["ssl.ca.pem"] = common["ssl.ca.pem"]
    broker_env = {}
    if kafka_sasl:
        broker_env["RETIREMENT_KAFKA_ADMIN_PASSWORD"] = config.text("KAFKA_ADMIN_PASSWORD")

    create_topics_setting = config.get("CREATE_TOPICS")
    create_topics = (
        run_kafka if _auto(create_topics_setting) else _bool(create_topics_setting, PREFIX + "CREATE_TOPICS")
    )

    # --- the retirement driver (edx-platform's scripts/user_retirement)
    run_driver_setting = config.get("RUN_DRIVER")
    run_driver = (
        config.raw("RETIREMENT_EDX_OAUTH2_CLIENT_ID") is None
        if _auto(run_driver_setting)
        else _bool(run_driver_setting, PREFIX + "RUN_DRIVER")
    )
    pipeline = config.get("DRIVER_PIPELINE", DEFAULT_PIPELINE)
    if not isinstance(pipeline, list) or not pipeline:
        raise ValueError(f"{PREFIX}DRIVER_PIPELINE must be a non-empty list of [start, end, service, method]")
    for index, row in enumerate(pipeline):
        if (
            not isinstance(row, list)
            or len(row) != 4
            or not all(isinstance(part, str) and re.match(r"^[A-Za-z0-9_]+\Z", part) for part in row)
        ):
            raise ValueError(
                f"{PREFIX}DRIVER_PIPELINE[{index}] must be [start state, end state, service, method]"
            )
    if run_driver and not any(row[0] == "RETIRING_LMS_MISC" for row in pipeline):
        raise ValueError(
            f"{PREFIX}DRIVER_PIPELINE has no RETIRING_LMS_MISC step: the LMS plugin would never publish"
        )
    schedule = config.text("DRIVER_SCHEDULE") or "0 3 * * *"
    if len(schedule.split()) != 5:
        raise ValueError(f"{PREFIX}DRIVER_SCHEDULE must be a cron schedule of 5 fields, got {schedule!r}")
    lms_url = (config.text("LMS_INTERNAL_URL") or "http://lms:8000").rstrip("/") + "/"
    driver_config = {"base_urls": {"lms": lms_url}, "retirement_pipeline": pipeline}
    driver_env = {"RETIREMENT_DRIVER_CLIENT_ID": client_id, "RETIREMENT_DRIVER_CLIENT_SECRET": client_secret}

    secret_env = dict(consumer_env.values)
    return {
        "run_driver": run_driver,
        "driver_schedule": schedule,
        "cool_off_days": _int(config.get("COOL_OFF_DAYS", 7), PREFIX + "COOL_OFF_DAYS", 0),
        "driver_user_count_error_threshold": _int(
            config.get("DRIVER_USER_COUNT_ERROR_THRESHOLD", 300),
            PREFIX + "DRIVER_USER_COUNT_ERROR_THRESHOLD",
            1,
        ),
        "driver_max_user_batch_size": _int(
            config.get("DRIVER_MAX_USER_BATCH_SIZE", 200), PREFIX + "DRIVER_MAX_USER_BATCH_SIZE", 1
        ),
        "driver_config_yaml": yaml.safe_dump(driver_config, sort_keys=False, default_flow_style=None),
        "driver_env": driver_env,
        "event_bus_kafka": event_bus_kafka,
        "run_kafka": run_kafka,
        "kafka_sasl": kafka_sasl,
        "principals": PRINCIPALS,
        "admin_principal": ADMIN_PRINCIPAL,
        "scram_mechanism": SCRAM_MECHANISM,
        "run_consumer": run_consumer,
        "run_reader": _bool(config.get("RUN_READER", False), PREFIX + "RUN_READER"),
        "create_topics": create_topics,
        "bootstrap_servers": servers,
        "topic": topic,
        "topic_prefix": prefix,
        "full_topic": full_topic,
        "dead_letter_topic": dead_letter_topic,
        "receipts_topic": receipts_topic,
        "partitions": partitions,
        "replicas": replicas,
        "shutdown_grace": shutdown_grace,
        "termination_grace": shutdown_grace + 25,
        "client_properties": admin_properties,
        "encryption": encryption,
        "consumer_config": consumer_config,
        "consumer_config_yaml": yaml.safe_dump(consumer_config, sort_keys=False, default_flow_style=False),
        "consumer_env": secret_env,
        "kafka_env": dict(kafka_env.values),
        "broker_env": broker_env,
        "env_checksum": hashlib.sha256(json.dumps(secret_env, sort_keys=True).encode()).hexdigest()[:16],
        "lms_setting": lms_setting,
        "lms_env": dict(lms_env.values),
        "lms_env_checksum": hashlib.sha256(json.dumps(lms_env.values, sort_keys=True).encode()).hexdigest()[
            :16
        ],
        "lms_settings_python": _lms_settings_python(
            lms_setting, lms_secret_properties, encryption, bool(client_secret)
        ),
        "reader_env": dict(reader_env.values),
        "reader_property_flags": " ".join(reader_property_flags),
        "oauth_client_id": client_id,
        "oauth_client_from_retirement_plugin": config.raw("RETIREMENT_EDX_OAUTH2_CLIENT_ID") is not None,
        "image_is_local": image_is_local(config.text("DOCKER_IMAGE")),
        # The pods the Kafka NetworkPolicy admits (app.kubernetes.io/name).
        "kafka_client_pods": [
            "lms",
            "lms-worker",
            "retirement-lms-job",
            "retirement-consumer",
            "retirement-consumer-job",
            "retirement-reader",
            "retirement-reader-job",
            "retirement-kafka-job",
        ],
    }


def indirect_env_names(indirect: dict) -> set:
    return {value for key, value in indirect.items() if key.endswith("_env")}


def image_is_local(image: str) -> bool:
    """An image name without a registry host (``retirement-consumer:0.1.0``) is built here and
    never pulled; ``docker.io/...``, ``registry.example.org/...`` or ``localhost:5000/...`` are."""
    first = image.split("/", 1)[0] if "/" in image else ""
    return not ("." in first or ":" in first or first == "localhost")


def _lms_settings_python(
    setting: dict, secret_properties: dict, encryption: bool, client_secret: bool
) -> str:
    lines = ["RETIREMENT_KAFKA = " + _python_literal(setting)]
    lines.append('# Secrets from the container environment (docs/tutor.md, "Secrets"), never written here.')
    lines.append("import os as _retirement_os")
    for key, variable in secret_properties.items():
        lines.append(
            f"if _retirement_os.environ.get({variable!r}):\n"
            f"    RETIREMENT_KAFKA['PRODUCER_CONFIG'][{key!r}] = _retirement_os.environ[{variable!r}]"
        )
    if encryption:
        lines.append(
            "RETIREMENT_KAFKA['ENCRYPTION_KEYRING'] = "
            "_retirement_os.environ.get('RETIREMENT_KAFKA_ENCRYPTION_KEYRING') or None"
        )
    # BACKFILL_CLIENT_SECRET: the LMS plugin reads RETIREMENT_KAFKA_BACKFILL_CLIENT_SECRET itself.
    lines.append("del _retirement_os")
    return "\n".join(lines)


def oauth_client(config: _Config) -> tuple[str, str]:
    """The retirement service worker's OAuth2 client: hastexo's retirement plugin's when present."""
    if config.raw("RETIREMENT_EDX_OAUTH2_CLIENT_ID") is not None:
        return (
            str(config.raw("RETIREMENT_EDX_OAUTH2_CLIENT_ID")),
            str(config.raw("RETIREMENT_EDX_OAUTH2_CLIENT_SECRET") or ""),
        )
    return config.text("OAUTH2_CLIENT_ID"), config.text("OAUTH2_CLIENT_SECRET")


def shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"


def _python_literal(value: t.Any, indent: int = 0) -> str:
    """A Python literal for settings files (dicts one key per line, strings via repr)."""
    pad = "    " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{pad}{k!r}: {_python_literal(v, indent + 1)}," for k, v in value.items()]
        return "{\n" + "\n".join(items) + "\n" + "    " * indent + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_python_literal(v, indent) for v in value) + "]"
    if isinstance(value, (bool, int, float, str)) or value is None:
        return repr(value)
    raise TypeError(f"cannot write {type(value).__name__} into the LMS settings")


class SettingError(ValueError):
    """A bad operator value; the message is one line naming the setting."""


@jinja2.pass_context
def retirement_consumer(context: t.Any) -> dict:
    """Jinja global: ``{% set rc = retirement_consumer() %}``."""
    return compute(context)


def effective_default(source: t.Any, key: str) -> str:
    """The effective value of a setting whose default depends on others, as shown by
    ``tutor config printvalue`` (the defaults are ``{{ retirement_consumer_default(KEY) }}``)."""
    config = _Config(source)
    try:
        if key == "RUN_KAFKA":
            return str(effective_run_kafka(config)).lower()
        if key == "TOPIC_PREFIX":
            return effective_topic_prefix(config)
        if key == "CREATE_TOPICS":
            return str(effective_run_kafka(config)).lower()
        if key in ("RECEIPTS_TOPIC", "DEAD_LETTER_TOPIC"):
            prefix = effective_topic_prefix(config)
            topic = config.text("TOPIC") or "user-retirement"
            full = f"{prefix}-{topic}" if prefix else topic
            return f"{full}.receipts" if key == "RECEIPTS_TOPIC" else f"{full}.dlq"
        if key == "RUN_DRIVER":
            return str(config.raw("RETIREMENT_EDX_OAUTH2_CLIENT_ID") is None).lower()
        if key == "RUN_CONSUMER":
            return str(bool(destination_settings(source))).lower()
    except ValueError:
        return "auto"
    raise KeyError(key)


@jinja2.pass_context
def retirement_consumer_default(context: t.Any, key: str) -> str:
    return effective_default(context, key)


def yaml_value(value: t.Any) -> str:
    """Jinja filter: a YAML scalar (JSON is YAML), with ``$`` doubled for docker compose."""
    return json.dumps(value).replace("$", "$$")


def k8s_value(value: t.Any) -> str:
    """Jinja filter: a YAML scalar for Kubernetes manifests."""
    return json.dumps(value)
