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

import hashlib
import json
import re
import typing as t

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


def compute(source: t.Any) -> dict:
    """All effective values, from the Tutor configuration ``source``."""
    config = _Config(source)
    event_bus_servers = config.raw("EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS")
    event_bus_kafka = bool(event_bus_servers)

    run_kafka_setting = config.get("RUN_KAFKA")
    if run_kafka_setting is None or (
        isinstance(run_kafka_setting, str) and run_kafka_setting.lower() == "auto"
    ):
        run_kafka = not event_bus_kafka and not config.text("KAFKA_BOOTSTRAP_SERVERS")
    else:
        run_kafka = _bool(run_kafka_setting, PREFIX + "RUN_KAFKA")

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
    prefix_setting = config.get("TOPIC_PREFIX")
    if prefix_setting is None:
        prefix = str(config.raw("EVENT_BUS_TOPIC_PREFIX") or "") if event_bus_kafka else ""
    else:
        prefix = str(prefix_setting).strip()
    full_topic = f"{prefix}-{topic}" if prefix else topic
    dead_letter_topic = config.text("DEAD_LETTER_TOPIC") or f"{full_topic}.dlq"
    receipts_setting = config.get("RECEIPTS_TOPIC")
    receipts_topic = f"{full_topic}.receipts" if receipts_setting is None else str(receipts_setting).strip()

    partitions = _int(config.get("TOPIC_PARTITIONS", 6), PREFIX + "TOPIC_PARTITIONS", 1)
    replicas = min(_int(config.get("REPLICAS", 1), PREFIX + "REPLICAS", 0), partitions)

    # --- Kafka client security, shared by the LMS producer, the consumer and the reader.
    protocol = config.text("KAFKA_SECURITY_PROTOCOL")
    mechanism = config.text("KAFKA_SASL_MECHANISM")
    username = config.text("KAFKA_SASL_USERNAME")
    password = config.text("KAFKA_SASL_PASSWORD")
    ca_pem = config.text("KAFKA_CA_PEM")
    extra = config.get("KAFKA_PROPERTIES") or {}
    if not isinstance(extra, dict):
        raise ValueError(f"{PREFIX}KAFKA_PROPERTIES must be a mapping of librdkafka properties")
    for key in extra:
        if key in _SECURITY_KEYS or key == "bootstrap.servers":
            raise ValueError(f"{PREFIX}KAFKA_PROPERTIES may not set {key!r}: use its own config key")

    plain: dict = {}  # the real values (LMS settings, the reader's environment)
    if protocol:
        plain["security.protocol"] = protocol
    if mechanism:
        plain["sasl.mechanism"] = mechanism
    if username:
        plain["sasl.username"] = username
    if password:
        plain["sasl.password"] = password
    if ca_pem:
        plain["ssl.ca.pem"] = ca_pem
    plain.update({str(k): str(v) if not isinstance(v, bool) else str(v).lower() for k, v in extra.items()})

    consumer_env: dict = {}
    indirect: dict = {}  # the same properties with secrets replaced by KEY_env
    for key, value in plain.items():
        if key in ("sasl.password", "ssl.ca.pem", "sasl.username") or _SECRET_PROPERTY.search(key):
            variable = {"sasl.password": "KAFKA_SASL_PASSWORD", "sasl.username": "KAFKA_SASL_USERNAME"}.get(
                key, env_name("KAFKA", key)
            )
            consumer_env[variable] = value
            indirect[f"{key}_env"] = variable
        else:
            indirect[key] = value

    # --- destinations
    webhook_secret = config.text("WEBHOOK_SECRET")
    destinations = []
    seen = set()
    raw_destinations = config.get("DESTINATIONS") or []
    if not isinstance(raw_destinations, list):
        raise ValueError(f"{PREFIX}DESTINATIONS must be a YAML list of destinations")
    for index, item in enumerate(raw_destinations):
        if not isinstance(item, dict) or not item.get("name") or not item.get("type"):
            raise ValueError(f"{PREFIX}DESTINATIONS[{index}] must be a mapping with 'name' and 'type'")
        name = str(item["name"])
        if name in seen:
            raise ValueError(f"{PREFIX}DESTINATIONS: the name {name!r} is used twice")
        seen.add(name)
        rendered: dict = {}
        for key, value in item.items():
            secret = key in SECRET_DESTINATION_KEYS or (key == "url" and item["type"] == "sql")
            if secret and isinstance(value, (str, int, float)) and not isinstance(value, bool):
                variable = env_name("RC_DEST", name, key)
                consumer_env[variable] = str(value)
                rendered[f"{key}_env"] = variable
            else:
                rendered[key] = value
        if item["type"] == "webhook" and not any(k.startswith("secret") for k in item) and webhook_secret:
            # The HMAC secret Tutor generated (CONFIG_UNIQUE), shared by webhook destinations
            # that bring none of their own.
            consumer_env["RETIREMENT_WEBHOOK_SECRET"] = webhook_secret
            rendered["secret_env"] = "RETIREMENT_WEBHOOK_SECRET"
        destinations.append(rendered)

    run_consumer_setting = config.get("RUN_CONSUMER")
    if run_consumer_setting is None:
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
        "destinations": destinations,
    }
    if receipts_topic:
        consumer_config["receipts"] = {"topic": receipts_topic}

    # --- LMS settings (RETIREMENT_KAFKA; see lms-plugin/openedx_retirement_kafka/conf.py)
    client_id, client_secret = oauth_client(config)
    lms_setting = {
        "ENABLED": _bool(config.get("LMS_ENABLED", True), PREFIX + "LMS_ENABLED"),
        "BOOTSTRAP_SERVERS": servers,
        "TOPIC": topic,
        "TOPIC_PREFIX": prefix,
        "PRODUCER_CONFIG": plain,
        "DELIVERY_TIMEOUT_SECONDS": float(config.get("DELIVERY_TIMEOUT_SECONDS", 10)),
        "LMS_HOST": str(config.raw("LMS_HOST") or ""),
        "BACKFILL_LMS_BASE_URL": config.text("LMS_INTERNAL_URL") or "http://lms:8000",
        "BACKFILL_CLIENT_ID": client_id,
        "BACKFILL_CLIENT_SECRET": client_secret,
    }

    # --- the out-of-band reader (openedx-retirement-reader), environment only
    reader_url = config.text("LMS_INTERNAL_URL") or "http://lms:8000"
    reader_env = {
        "RETIREMENT_READER_LMS_URL": reader_url,
        "RETIREMENT_READER_CLIENT_ID": client_id,
        "RETIREMENT_READER_CLIENT_SECRET": client_secret,
        "RETIREMENT_READER_BOOTSTRAP_SERVERS": servers,
        "RETIREMENT_READER_TOPIC": topic,
        "RETIREMENT_READER_TOPIC_PREFIX": prefix,
    }
    if reader_url.lower().startswith("http://"):
        # Tutor's internal URL (http://lms:8000) stays on the deployment's own network; the reader
        # refuses plain http to anything but a loopback address without this opt-in
        # (docs/out-of-band-reader.md#transport-https-and-no-redirects).
        reader_env["RETIREMENT_READER_ALLOW_INSECURE_HTTP"] = "true"
    kafka_env = consumer_env_for_reader(consumer_env, indirect)
    reader_env.update(kafka_env)
    # Flags for the Kafka properties: secrets are expanded by the shell from the environment
    # at run time, so no secret sits in a command line or a pod spec.
    reader_property_flags = []
    for key, value in indirect.items():
        if key.endswith("_env"):
            reader_property_flags.append(f'--kafka-property "{key[:-4]}=${value}"')
        else:
            reader_property_flags.append("--kafka-property " + shell_quote(f"{key}={value}"))

    create_topics_setting = config.get("CREATE_TOPICS")
    create_topics = (
        run_kafka if create_topics_setting is None else _bool(create_topics_setting, PREFIX + "CREATE_TOPICS")
    )

    secret_env = dict(consumer_env)
    return {
        "event_bus_kafka": event_bus_kafka,
        "run_kafka": run_kafka,
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
        "client_properties": plain,
        "consumer_config": consumer_config,
        "consumer_config_yaml": yaml.safe_dump(consumer_config, sort_keys=False, default_flow_style=False),
        "consumer_env": secret_env,
        "kafka_env": kafka_env,
        "env_checksum": hashlib.sha256(json.dumps(secret_env, sort_keys=True).encode()).hexdigest()[:16],
        "lms_setting": lms_setting,
        "lms_settings_python": "RETIREMENT_KAFKA = " + _python_literal(lms_setting),
        "reader_env": reader_env,
        "reader_property_flags": " ".join(reader_property_flags),
        "oauth_client_id": client_id,
        "oauth_client_from_retirement_plugin": config.raw("RETIREMENT_EDX_OAUTH2_CLIENT_ID") is not None,
    }


def oauth_client(config: _Config) -> tuple[str, str]:
    """The retirement service worker's OAuth2 client: hastexo's retirement plugin's when present."""
    if config.raw("RETIREMENT_EDX_OAUTH2_CLIENT_ID") is not None:
        return (
            str(config.raw("RETIREMENT_EDX_OAUTH2_CLIENT_ID")),
            str(config.raw("RETIREMENT_EDX_OAUTH2_CLIENT_SECRET") or ""),
        )
    return config.text("OAUTH2_CLIENT_ID"), config.text("OAUTH2_CLIENT_SECRET")


def consumer_env_for_reader(consumer_env: dict, indirect: dict) -> dict:
    """The Kafka secrets the reader's --kafka-property flags refer to."""
    names = {value for key, value in indirect.items() if key.endswith("_env")}
    return {name: value for name, value in consumer_env.items() if name in names}


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


@jinja2.pass_context
def retirement_consumer(context: t.Any) -> dict:
    """Jinja global: ``{% set rc = retirement_consumer() %}``."""
    return compute(context)


def yaml_value(value: t.Any) -> str:
    """Jinja filter: a YAML scalar (JSON is YAML), with ``$`` doubled for docker compose."""
    return json.dumps(value).replace("$", "$$")


def k8s_value(value: t.Any) -> str:
    """Jinja filter: a YAML scalar for Kubernetes manifests."""
    return json.dumps(value)
