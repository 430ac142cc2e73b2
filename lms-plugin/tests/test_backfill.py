"""The backfill command against a fake LMS (a real HTTP server on 127.0.0.1) and the Kafka mock."""

import json
import threading
import time
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.management import CommandError, call_command
from openedx_retirement_kafka.backfill import BackfillError, LmsRetirementApi, parse_time
from openedx_retirement_kafka.events import ce_id_for, parse_record

from .conftest import headers_dict, kafka_settings, serialize_retirement
from .test_receiver import retire_misc

CLIENT_ID, CLIENT_SECRET = "backfill-client", "backfill-secret"


class FakeLms:
    """Token endpoint + retirements_by_status_and_date with the LMS's filtering rules.

    Knobs: ``expire_first_token`` (the first token is refused once with 401),
    ``fail_5xx`` (state names whose first request answers 503), ``slow`` (state names whose
    first request stalls longer than the client timeout).
    """

    def __init__(self, rows):
        self.rows = rows
        self.requests = []
        self.tokens_issued = 0
        self.expire_first_token = False
        self.fail_5xx = set()
        self.slow = set()
        self.always_5xx = False
        self._failed = set()
        self.lock = threading.Lock()
        lms = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body=None):
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                with lms.lock:
                    lms.requests.append(("POST", self.path, None))
                if self.path != "/oauth2/access_token":
                    return self._send(404)
                if (
                    form.get("grant_type") != ["client_credentials"]
                    or form.get("token_type") != ["jwt"]
                    or form.get("client_id") != [CLIENT_ID]
                    or form.get("client_secret") != [CLIENT_SECRET]
                ):
                    return self._send(401, {"error": "invalid_client"})
                with lms.lock:
                    lms.tokens_issued += 1
                    token = f"token-{lms.tokens_issued}"
                return self._send(200, {"access_token": token, "token_type": "JWT", "expires_in": 3600})

            def do_GET(self):
                url = urlparse(self.path)
                query = parse_qs(url.query)
                auth = self.headers.get("Authorization", "")
                with lms.lock:
                    lms.requests.append(("GET", self.path, auth))
                if url.path != "/api/user/v1/accounts/retirements_by_status_and_date/":
                    return self._send(404)
                if not auth.startswith("JWT token-"):
                    return self._send(401)
                if lms.expire_first_token and auth == "JWT token-1":
                    return self._send(401, {"detail": "Token has expired."})
                state = query.get("state", [""])[0]
                with lms.lock:
                    first = state not in lms._failed
                    lms._failed.add(state)
                if lms.always_5xx or (state in lms.fail_5xx and first):
                    return self._send(503, {"detail": "unavailable"})
                if state in lms.slow and first:
                    time.sleep(1.5)
                try:
                    start = date.fromisoformat(query["start_date"][0])
                    end = date.fromisoformat(query["end_date"][0])
                except (KeyError, ValueError):
                    return self._send(400, "bad date")
                today = datetime.now(UTC).date()
                if start > end or end > today:
                    return self._send(400, "dates must not be in the future and start <= end")
                lo = datetime(start.year, start.month, start.day, tzinfo=UTC)
                hi = datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1)
                found = [
                    row
                    for row in lms.rows
                    if row["current_state"]["state_name"] == state
                    and lo <= datetime.fromisoformat(row["created"].replace("Z", "+00:00")) < hi
                ]
                return self._send(200, found)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def gets(self, state=None):
        return [r for r in self.requests if r[0] == "GET"]


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
    assert {state for state, _ in gets} == {"LMS_MISC_COMPLETE", "RETIRING_LMS", "LMS_COMPLETE", "COMPLETE", "ERRORED"}
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
