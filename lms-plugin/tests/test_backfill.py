"""The backfill command against a fake LMS (a real HTTP server on 127.0.0.1) and the Kafka mock."""

import json
import time
from datetime import UTC, datetime, timedelta
from io import StringIO
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.management import CommandError, call_command

from openedx_retirement_kafka.backfill import BackfillError, LmsRetirementApi, parse_time
from openedx_retirement_kafka.events import ce_id_for, parse_record

from .conftest import headers_dict, kafka_settings, serialize_retirement
from .lms_api_fake import CLIENT_ID, CLIENT_SECRET, FakeLms
from .test_receiver import retire_misc


@pytest.fixture
def backfill_settings(settings, kafka_cluster, topic):
    settings.RETIREMENT_KAFKA = kafka_settings(
        kafka_cluster.bootstrap,
        topic,
        BACKFILL_CLIENT_ID=CLIENT_ID,
        BACKFILL_CLIENT_SECRET=CLIENT_SECRET,
        BACKFILL_INITIAL_BACKOFF_SECONDS=0.05,
        BACKFILL_MAX_ATTEMPTS=4,
        BACKFILL_HTTP_TIMEOUT_SECONDS=1,
    )
    return settings.RETIREMENT_KAFKA


@pytest.fixture
def learners(make_retirement):
    """Retirements in different states and request dates."""
    now = datetime.now(UTC)
    spec = [
        # username, user id, state, requested hours ago, expected in a --since 10d backfill
        ("complete_recent", 1001, "COMPLETE", 30, True),
        ("lms_complete", 1002, "LMS_COMPLETE", 50, True),
        ("misc_complete", 1003, "LMS_MISC_COMPLETE", 2, True),
        ("retiring_lms", 1004, "RETIRING_LMS", 100, True),
        ("pending", 1005, "PENDING", 5, False),  # before LMS_MISC: not a default state
        ("errored", 1006, "ERRORED", 5, False),  # not a default state
        ("complete_old", 1007, "COMPLETE", 24 * 20, False),  # requested before the window
        ("retiring_misc", 1008, "RETIRING_LMS_MISC", 1, False),
    ]
    made = {}
    for username, uid, state, hours, expected in spec:
        status = make_retirement(
            username=username,
            email=f"{username}@foo.invalid",
            name=f"Name {username}",
            state=state,
            created=now - timedelta(hours=hours),
            user_id=uid,
        )
        made[username] = (status, expected)
    return made


def read_events(kafka_cluster, topic, expected):
    return {int(m.key()): m for m in kafka_cluster.read_topic(topic, expected=expected)}


@pytest.mark.django_db
def test_backfill_publishes_the_receivers_events(backfill_settings, kafka_cluster, topic, learners):
    rows = [serialize_retirement(status) for status, _ in learners.values()]
    expected = {status.user_id: status for status, wanted in learners.values() if wanted}
    with FakeLms(rows) as lms:
        lms.expire_first_token = True  # 401 once: the token is renewed and the call retried
        lms.fail_5xx = {"LMS_COMPLETE"}  # 503 once: retried after a backoff
        out = StringIO()
        call_command("publish_retirement_backfill", "--since", "10d", "--lms-url", lms.url, stdout=out)

    records = read_events(kafka_cluster, topic, expected=len(expected))
    assert set(records) == set(expected)
    for uid, status in expected.items():
        msg = records[uid]
        headers = headers_dict(msg)
        assert headers["ce_id"] == ce_id_for("lms.example.org", uid, status.id)
        value = json.loads(msg.value())
        assert value["username"] == status.original_username
        assert value["email"] == status.original_email
        assert value["retirement_id"] == status.id
        parse_record(msg.key(), msg.headers(), msg.value())
    assert lms.tokens_issued == 2
    gets = [(parse_qs(urlparse(path).query)["state"][0], auth) for _, path, auth in lms.gets()]
    # The default states, and ERRORED (kept only when its last_state is one of them).
    assert {state for state, _ in gets} == {
        "LMS_MISC_COMPLETE",
        "RETIRING_LMS",
        "LMS_COMPLETE",
        "COMPLETE",
        "ERRORED",
    }
    assert gets[0][1] == "JWT token-1" and gets[1][1] == "JWT token-2"  # 401, renewed, retried
    assert [state for state, _ in gets].count("LMS_COMPLETE") == 2  # 503 once, then retried
    assert len(gets) == 7
    output = out.getvalue()
    assert f"published {len(expected)} event(s)" in output
    for status, _ in learners.values():  # ids only in the output
        assert status.original_email not in output and status.original_username not in output


@pytest.mark.django_db
def test_backfill_ids_equal_the_receivers(backfill_settings, kafka_cluster, topic, learners, settings):
    """The receiver publishes learner 1008 at retire_misc; the backfill later sends the same event."""
    status, _ = learners["retiring_misc"]
    assert retire_misc("retiring_misc") == (204, "")
    receiver_msg = read_events(kafka_cluster, topic, expected=1)[1008]

    with FakeLms([serialize_retirement(status)]) as lms:
        call_command(
            "publish_retirement_backfill",
            "--since",
            "2d",
            "--states",
            "RETIRING_LMS_MISC",
            "--lms-url",
            lms.url,
            stdout=StringIO(),
        )
    msgs = [m for m in kafka_cluster.read_topic(topic, expected=2) if int(m.key()) == 1008]
    assert len(msgs) == 2
    backfill_msg = msgs[1]
    assert headers_dict(backfill_msg)["ce_id"] == headers_dict(receiver_msg)["ce_id"]
    assert backfill_msg.value() == receiver_msg.value()
    assert backfill_msg.partition() == receiver_msg.partition()


@pytest.mark.django_db
def test_backfill_dry_run_publishes_nothing(backfill_settings, kafka_cluster, topic, learners):
    rows = [serialize_retirement(status) for status, _ in learners.values()]
    with FakeLms(rows) as lms:
        out = StringIO()
        call_command(
            "publish_retirement_backfill", "--since", "10d", "--dry-run", "--lms-url", lms.url, stdout=out
        )
    assert "dry run: 4 event(s) not published" in out.getvalue()
    status, _ = learners["complete_recent"]
    assert f"ce_id={ce_id_for('lms.example.org', 1001, status.id)}" in out.getvalue()
    assert sum(kafka_cluster.high_watermarks(topic).values()) == 0


@pytest.mark.django_db
def test_backfill_window_and_states(backfill_settings, kafka_cluster, topic, learners):
    rows = [serialize_retirement(status) for status, _ in learners.values()]
    now = datetime.now(UTC)
    with FakeLms(rows) as lms:
        out = StringIO()
        call_command(
            "publish_retirement_backfill",
            "--since",
            (now - timedelta(hours=60)).isoformat(),
            "--until",
            (now - timedelta(hours=10)).isoformat(),
            "--states",
            "COMPLETE,LMS_COMPLETE",
            "--states",
            "ERRORED",
            "--dry-run",
            "--lms-url",
            lms.url,
            stdout=out,
        )
    text = out.getvalue()
    assert "user_id=1001 " in text and "user_id=1002 " in text
    for uid in (1003, 1004, 1005, 1006, 1007, 1008):
        assert f"user_id={uid} " not in text
    asked = {parse_qs(urlparse(path).query)["state"][0] for _, path, _ in lms.gets()}
    assert asked == {"COMPLETE", "LMS_COMPLETE", "ERRORED"}


@pytest.mark.django_db
def test_backfill_gives_up_after_bounded_retries(backfill_settings, learners):
    with FakeLms([]) as lms:
        lms.always_5xx = True
        started = time.monotonic()
        with pytest.raises(CommandError, match="failed after 4 attempts: HTTP 503"):
            call_command(
                "publish_retirement_backfill", "--since", "1d", "--lms-url", lms.url, stdout=StringIO()
            )
        assert time.monotonic() - started < 5
        assert len(lms.gets()) == 4


@pytest.mark.django_db
def test_backfill_retries_a_timeout(backfill_settings, kafka_cluster, topic, learners):
    status, _ = learners["complete_recent"]
    with FakeLms([serialize_retirement(status)]) as lms:
        lms.slow = {"COMPLETE"}  # first request stalls 1.5 s > 1 s client timeout
        call_command(
            "publish_retirement_backfill",
            "--since",
            "2d",
            "--states",
            "COMPLETE",
            "--lms-url",
            lms.url,
            stdout=StringIO(),
        )
    assert set(read_events(kafka_cluster, topic, expected=1)) == {1001}


@pytest.mark.django_db
def test_backfill_wrong_credentials(backfill_settings, settings):
    settings.RETIREMENT_KAFKA = dict(backfill_settings, BACKFILL_CLIENT_SECRET="wrong")
    with FakeLms([]) as lms:
        with pytest.raises(CommandError, match="token request refused: HTTP 401"):
            call_command(
                "publish_retirement_backfill", "--since", "1d", "--lms-url", lms.url, stdout=StringIO()
            )


@pytest.mark.django_db
def test_backfill_kafka_down_fails(settings, closed_port, topic, learners):
    settings.RETIREMENT_KAFKA = kafka_settings(
        f"127.0.0.1:{closed_port}",
        topic,
        DELIVERY_TIMEOUT_SECONDS=1,
        BACKFILL_CLIENT_ID=CLIENT_ID,
        BACKFILL_CLIENT_SECRET=CLIENT_SECRET,
    )
    status, _ = learners["complete_recent"]
    with FakeLms([serialize_retirement(status)]) as lms:
        with pytest.raises(CommandError, match="0 event\\(s\\) published before the failure"):
            call_command(
                "publish_retirement_backfill", "--since", "2d", "--lms-url", lms.url, stdout=StringIO()
            )


def test_credentials_required():
    with pytest.raises(BackfillError, match="no OAuth2 client credentials"):
        LmsRetirementApi("http://127.0.0.1:9", "", "")


@pytest.mark.parametrize(
    "text,expected",
    [
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
        ("30m", timedelta(minutes=30)),
    ],
)
def test_parse_time_durations(text, expected):
    now = datetime(2026, 11, 2, tzinfo=UTC)
    assert parse_time(text, now) == now - expected


def test_parse_time_absolute():
    assert parse_time("2026-11-01T00:00:00Z") == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_time("2026-11-01") == datetime(2026, 11, 1, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_time("last tuesday")
