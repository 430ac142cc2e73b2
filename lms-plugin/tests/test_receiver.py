"""The USER_RETIRE_LMS_MISC receiver against a Kafka mock cluster over TCP."""

import json
import logging
import threading
import time

import pytest
from jsonschema import Draft202012Validator

from openedx_retirement_kafka import producer as producer_module
from openedx_retirement_kafka.events import EVENT_TYPE, ce_id_for, parse_record, parse_rfc3339
from openedx_retirement_kafka.producer import RetirementPublishError
from openedx_retirement_kafka.signals import on_user_retire_lms_misc

from .conftest import headers_dict, kafka_settings, load_json

SCHEMA = Draft202012Validator(
    load_json("retirement-event.v1.schema.json"), format_checker=Draft202012Validator.FORMAT_CHECKER
)

PERSONAL = ("retirement_test", "orig@foo.invalid", "Retirement Test")


def retire_misc(username="retirement_test"):
    """POST /api/user/v1/accounts/retire_misc/ as the test double of the real view runs it."""
    from openedx.core.djangoapps.user_api.accounts.views import LMSAccountRetirementView

    return LMSAccountRetirementView().post(username)


@pytest.mark.django_db
def test_receiver_is_connected_through_plugin_signals_config(plugin_receivers):
    from openedx.core.djangoapps.user_api.accounts.signals import USER_RETIRE_LMS_MISC

    assert any(signal is USER_RETIRE_LMS_MISC for signal, _ in plugin_receivers)
    assert USER_RETIRE_LMS_MISC.has_listeners()


@pytest.mark.django_db
def test_publishes_the_event(plugin_on_kafka, kafka_cluster, topic, make_retirement):
    status = make_retirement(user_id=5213599)
    before = time.time()

    assert retire_misc() == (204, "")

    records = kafka_cluster.read_topic(topic, expected=1)
    assert len(records) == 1
    msg = records[0]
    assert msg.key() == b"5213599"
    headers = headers_dict(msg)
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_type"] == EVENT_TYPE
    assert headers["ce_id"] == ce_id_for("lms.example.org", 5213599, status.id)
    assert headers["ce_source"] == "openedx/lms/lms.example.org"
    assert headers["content-type"] == "application/json"
    assert before - 1 <= parse_rfc3339(headers["ce_time"]).timestamp() <= time.time() + 1
    value = json.loads(msg.value().decode("utf-8"))
    assert value == {
        "user_id": 5213599,
        "username": "retirement_test",
        "email": "orig@foo.invalid",  # the original address, not user.email (already hashed)
        "full_name": "Retirement Test",
        "retired_username": status.retired_username,
        "retired_email": status.retired_email,
        "retirement_id": status.id,
        "requested_at": status.created.isoformat(timespec="microseconds").replace("+00:00", "Z"),
    }
    assert status.user.email == status.retired_email
    SCHEMA.validate(value)
    parse_record(msg.key(), msg.headers(), msg.value())


@pytest.mark.django_db
def test_logs_carry_no_personal_data(plugin_on_kafka, kafka_cluster, topic, make_retirement, caplog):
    status = make_retirement(user_id=77)
    with caplog.at_level(logging.DEBUG):
        assert retire_misc()[0] == 204
    text = caplog.text
    assert "user_id=77" in text and ce_id_for("lms.example.org", 77, status.id) in text
    for item in PERSONAL + (status.retired_email, status.retired_username):
        assert item not in text


@pytest.mark.django_db
def test_a_retried_step_publishes_the_same_ce_id(plugin_on_kafka, kafka_cluster, topic, make_retirement):
    status = make_retirement(user_id=42)
    assert retire_misc()[0] == 204
    # The driver re-runs the step (e.g. after a later step failed and the state was rewound).
    assert retire_misc()[0] == 204
    records = kafka_cluster.read_topic(topic, expected=2)
    assert len(records) == 2
    ids = {headers_dict(m)["ce_id"] for m in records}
    assert ids == {ce_id_for("lms.example.org", 42, status.id)}
    assert records[0].value() == records[1].value()
    assert records[0].partition() == records[1].partition()


@pytest.mark.django_db
def test_kafka_unreachable_raises_within_the_timeout(settings, closed_port, topic, make_retirement, caplog):
    settings.RETIREMENT_KAFKA = kafka_settings(f"127.0.0.1:{closed_port}", topic, DELIVERY_TIMEOUT_SECONDS=2)
    status = make_retirement(user_id=42)

    started = time.monotonic()
    with pytest.raises(RetirementPublishError) as info:
        on_user_retire_lms_misc(sender=None, user=status.user)
    elapsed = time.monotonic() - started
    assert elapsed < 2 + 1 + 1.5, elapsed
    message = str(info.value)
    assert "user_id=42" in message and ce_id_for("lms.example.org", 42, status.id) in message
    for item in PERSONAL:
        assert item not in message
        assert item not in caplog.text


@pytest.mark.django_db
def test_kafka_unreachable_makes_the_lms_step_answer_500(settings, closed_port, topic, make_retirement):
    settings.RETIREMENT_KAFKA = kafka_settings(f"127.0.0.1:{closed_port}", topic, DELIVERY_TIMEOUT_SECONDS=1)
    make_retirement(user_id=42)
    status_code, body = retire_misc()
    assert status_code == 500
    for item in PERSONAL:
        assert item not in body  # the driver stores this body in the learner's row


@pytest.mark.django_db
def test_recovers_when_kafka_comes_back(settings, closed_port, kafka_cluster, topic, make_retirement):
    """First attempt fails (Kafka down), the retried step succeeds with the same ce_id."""
    settings.RETIREMENT_KAFKA = kafka_settings(f"127.0.0.1:{closed_port}", topic, DELIVERY_TIMEOUT_SECONDS=1)
    status = make_retirement(user_id=42)
    assert retire_misc()[0] == 500
    settings.RETIREMENT_KAFKA = kafka_settings(kafka_cluster.bootstrap, topic)
    assert retire_misc()[0] == 204
    records = kafka_cluster.read_topic(topic, expected=1)
    assert [headers_dict(m)["ce_id"] for m in records] == [ce_id_for("lms.example.org", 42, status.id)]


@pytest.mark.django_db
def test_unconfigured_plugin_fails_the_step_then_publishes_once_configured(
    settings, kafka_cluster, topic, make_retirement
):
    """Loaded without BOOTSTRAP_SERVERS (e.g. a deploy that forgot it): the step fails, not passes."""
    settings.RETIREMENT_KAFKA = {"TOPIC": topic}
    status = make_retirement(user_id=42)
    status_code, body = retire_misc()
    assert status_code == 500
    assert "openedx_retirement_kafka.E001" in body and "BOOTSTRAP_SERVERS" in body
    for item in PERSONAL:
        assert item not in body
    assert sum(kafka_cluster.high_watermarks(topic).values()) == 0
    settings.RETIREMENT_KAFKA = kafka_settings(kafka_cluster.bootstrap, topic)
    assert retire_misc()[0] == 204  # the driver's retry, once the setting is fixed
    records = kafka_cluster.read_topic(topic, expected=1)
    assert [headers_dict(m)["ce_id"] for m in records] == [ce_id_for("lms.example.org", 42, status.id)]


@pytest.mark.django_db
def test_disabled_publishes_nothing_and_logs_once(settings, kafka_cluster, topic, make_retirement, caplog):
    settings.RETIREMENT_KAFKA = {"ENABLED": False, "TOPIC": topic}
    make_retirement(user_id=42)
    make_retirement(username="second", email="second@foo.invalid", user_id=43)
    with caplog.at_level(logging.INFO, logger="openedx_retirement_kafka"):
        assert retire_misc()[0] == 204
        assert retire_misc("second")[0] == 204
    lines = [r for r in caplog.records if "ENABLED'] is False" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.INFO
    assert producer_module._publisher is None  # pylint: disable=protected-access
    assert sum(kafka_cluster.high_watermarks(topic).values()) == 0


@pytest.mark.django_db
def test_one_producer_per_process_shared_by_threads(plugin_on_kafka, kafka_cluster, topic, make_retirement):
    # Built in the main thread (SQLite test DB and threads do not mix); published from 8 threads.
    from openedx_retirement_kafka.conf import get_config
    from openedx_retirement_kafka.events import RetirementRecord, build_event

    config = get_config()
    events = [
        build_event(
            RetirementRecord.from_model(
                make_retirement(username=f"learner{i}", email=f"l{i}@foo.invalid", user_id=100 + i)
            ),
            config.lms_host,
        )
        for i in range(8)
    ]
    errors, seen = [], set()
    start = threading.Barrier(len(events))

    def fire(event):
        try:
            start.wait(5)
            producer_module.publish(config, [event])
            seen.add(id(producer_module._publisher))  # pylint: disable=protected-access
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=fire, args=(e,)) for e in events]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert len(seen) == 1
    records = kafka_cluster.read_topic(topic, expected=8)
    assert sorted(int(m.key()) for m in records) == list(range(100, 108))


@pytest.mark.django_db
def test_topic_prefix(settings, kafka_cluster, topic, make_retirement):
    settings.RETIREMENT_KAFKA = kafka_settings(kafka_cluster.bootstrap, "user-retirement", TOPIC_PREFIX=topic)
    make_retirement(user_id=42)
    assert retire_misc()[0] == 204
    assert len(kafka_cluster.read_topic(f"{topic}-user-retirement", expected=1)) == 1


@pytest.mark.django_db
def test_user_without_retirement_row_raises(plugin_on_kafka, make_retirement):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create(username="no_row", email="x@foo.invalid")
    with pytest.raises(RetirementPublishError) as info:
        on_user_retire_lms_misc(sender=None, user=user)
    assert "no_row" not in str(info.value) and "x@foo.invalid" not in str(info.value)
