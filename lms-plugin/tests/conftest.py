"""
Shared fixtures.

Kafka: librdkafka's mock cluster (``test.mock.num.brokers``). It lives inside one "holder"
client for the whole session and listens on 127.0.0.1; the plugin's producer and the test's
consumers reach it over TCP with the Kafka protocol, like a real cluster.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from django.apps import apps
from django.utils.module_loading import import_string

from .lms_api_fake import STATE_ORDER

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = REPO_ROOT / "schema"


# --------------------------------------------------------------------------------------------
# Plugin wiring as edx-platform does it
# --------------------------------------------------------------------------------------------


def connect_plugin_receivers(project_type: str = "lms.djangoapp") -> list:
    """What edx_django_utils.plugins.connect_plugin_receivers does (edx_django_utils plugin_signals.py)."""
    from importlib import import_module

    connected = []
    for app_config in apps.get_app_configs():
        plugin_app = getattr(app_config, "plugin_app", None)
        if not plugin_app:
            continue
        signals_config = plugin_app.get("signals_config", {}).get(project_type)
        if not signals_config:
            continue
        module = import_module(f"{app_config.name}.{signals_config.get('relative_path', 'signals')}")
        for receiver in signals_config.get("receivers", []):
            func = getattr(module, receiver["receiver_func_name"])
            signal = import_string(receiver["signal_path"])
            sender = import_string(receiver["sender_path"]) if receiver.get("sender_path") else None
            uid = receiver.get("dispatch_uid") or f"{func.__module__}.{func.__name__}"
            signal.connect(func, sender=sender, dispatch_uid=uid)
            connected.append((signal, uid))
    return connected


@pytest.fixture(scope="session", autouse=True)
def plugin_receivers(django_db_setup):  # noqa: ARG001 - after Django is set up
    connected = connect_plugin_receivers()
    yield connected
    for signal, uid in connected:
        signal.disconnect(dispatch_uid=uid)


@pytest.fixture(autouse=True)
def fresh_plugin_state():
    """Each test starts without a producer and without the 'disabled' log flag."""
    from openedx_retirement_kafka import conf, producer, signals

    producer.reset_publisher(flush_timeout=2.0)
    conf.reset_config_cache()
    signals._disabled_logged = False  # pylint: disable=protected-access
    yield
    producer.reset_publisher(flush_timeout=2.0)
    conf.reset_config_cache()


# --------------------------------------------------------------------------------------------
# Kafka
# --------------------------------------------------------------------------------------------


class MockCluster:
    def __init__(self, brokers: int = 1):
        self._holder = Producer({"test.mock.num.brokers": brokers, "log_level": 3})
        metadata = self._holder.list_topics(timeout=10)
        self.bootstrap = ",".join(f"{b.host}:{b.port}" for b in metadata.brokers.values())

    def read_topic(self, topic: str, expected: int, timeout: float = 15.0, settle: float = 0.5) -> list:
        """All records of ``topic`` (waits for ``expected`` of them, then ``settle`` s for extras)."""
        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": f"reader-{uuid.uuid4()}",
                "enable.auto.commit": False,
                "log_level": 3,
            }
        )
        try:
            metadata = consumer.list_topics(topic, timeout=10)
            partitions = metadata.topics[topic].partitions
            consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
            records = []
            deadline = time.monotonic() + timeout
            settle_until = None
            while time.monotonic() < deadline:
                msg = consumer.poll(0.2)
                if msg is not None and not msg.error():
                    records.append(msg)
                if len(records) >= expected:
                    settle_until = settle_until or time.monotonic() + settle
                    if time.monotonic() >= settle_until:
                        break
            return records
        finally:
            consumer.close()

    def high_watermarks(self, topic: str) -> dict:
        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "watermarks", "log_level": 3})
        try:
            metadata = consumer.list_topics(topic, timeout=10)
            if metadata.topics[topic].error is not None:
                return {}
            return {
                p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in metadata.topics[topic].partitions
            }
        finally:
            consumer.close()


@pytest.fixture(scope="session")
def kafka_cluster():
    return MockCluster()


@pytest.fixture
def topic():
    return f"user-retirement-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def closed_port():
    """A 127.0.0.1 port with nothing listening (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def kafka_settings(bootstrap: str, topic: str, **extra) -> dict:
    value = {
        "ENABLED": True,
        "BOOTSTRAP_SERVERS": bootstrap,
        "TOPIC": topic,
        "LMS_HOST": "lms.example.org",
        "DELIVERY_TIMEOUT_SECONDS": 10,
        "PRODUCER_CONFIG": {"log_level": 3},
    }
    value.update(extra)
    return value


@pytest.fixture
def plugin_on_kafka(settings, kafka_cluster, topic):
    """RETIREMENT_KAFKA pointed at the mock cluster and a fresh topic."""
    settings.RETIREMENT_KAFKA = kafka_settings(kafka_cluster.bootstrap, topic)
    return settings.RETIREMENT_KAFKA


def headers_dict(msg) -> dict:
    return {k: v.decode("utf-8") for k, v in (msg.headers() or [])}


# --------------------------------------------------------------------------------------------
# LMS data (test doubles of edx-platform models)
# --------------------------------------------------------------------------------------------

# The driver's states in edx-platform's order (the same list the fake LMS API serves).
STATES = STATE_ORDER


@pytest.fixture
def retirement_states(db):
    from openedx.core.djangoapps.user_api.models import RetirementState

    required = {"PENDING", "ERRORED", "ABORTED", "COMPLETE"}
    for index, name in enumerate(STATES):
        RetirementState.objects.get_or_create(
            state_name=name,
            defaults={
                "state_execution_order": 1 + 10 * index,
                "is_dead_end_state": name in {"ERRORED", "ABORTED", "COMPLETE"},
                "required": name in required,
            },
        )
    return {s.state_name: s for s in RetirementState.objects.all()}


@pytest.fixture
def make_retirement(retirement_states):
    """Create a learner and their UserRetirementStatus the way the LMS does at request time."""
    from django.contrib.auth import get_user_model
    from openedx.core.djangoapps.user_api.models import UserRetirementStatus

    User = get_user_model()

    def make(
        username="retirement_test",
        email="orig@foo.invalid",
        name="Retirement Test",
        state="RETIRING_LMS_MISC",
        created=None,
        user_id=None,
    ):
        digest = uuid.uuid5(uuid.NAMESPACE_DNS, username).hex
        retired_username = f"retired__user_{digest[:20]}"
        retired_email = f"retired__user_{digest[20:]}@retired.invalid"
        user = User.objects.create(id=user_id, username=username, email=retired_email)
        status = UserRetirementStatus.objects.create(
            user=user,
            original_username=username,
            original_email=email,
            original_name=name,
            retired_username=retired_username,
            retired_email=retired_email,
            current_state=retirement_states[state],
            last_state=retirement_states["PENDING"],
            responses="",
        )
        if created is not None:
            UserRetirementStatus.objects.filter(pk=status.pk).update(created=created)
            status.refresh_from_db()
        return status

    return make


def serialize_retirement(status) -> dict:
    """The JSON of UserRetirementStatusSerializer (edx-platform user_api/accounts/serializers.py)."""

    def state(s):
        return {"id": s.id, "state_name": s.state_name, "state_execution_order": s.state_execution_order}

    def stamp(moment: datetime) -> str:
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")

    return {
        "id": status.id,
        "user": {
            "id": status.user.id,
            "username": status.user.username,
            "email": status.user.email,
            "profile": {"id": status.user.id + 1000, "name": ""},
        },
        "current_state": state(status.current_state),
        "last_state": state(status.last_state),
        "created": stamp(status.created),
        "modified": stamp(status.modified),
        "original_username": status.original_username,
        "original_email": status.original_email,
        "original_name": status.original_name,
        "retired_username": status.retired_username,
        "retired_email": status.retired_email,
    }


def load_json(name: str):
    return json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
