"""
The out-of-band reader (``openedx-retirement-reader``) as a separate process: against a local
fake of the LMS API over HTTP and librdkafka's mock cluster over TCP, with Django made
unimportable in that process.
"""

import base64
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from openedx_retirement_kafka.encryption import Key, Keyring
from openedx_retirement_kafka.events import ce_id_for, parse_record

from .conftest import headers_dict
from .lms_api_fake import CLIENT_ID, CLIENT_SECRET, FakeLms, api_row

PLUGIN_ROOT = Path(__file__).resolve().parents[1]
LMS_HOST = "lms.example.org"
SCRIPT = Path(sys.executable).with_name("openedx-retirement-reader")


@pytest.fixture(scope="module")
def no_django(tmp_path_factory):
    """A directory put first on PYTHONPATH whose ``django`` package refuses to be imported."""
    root = tmp_path_factory.mktemp("no_django")
    (root / "django").mkdir()
    (root / "django" / "__init__.py").write_text(
        "raise ImportError('openedx-retirement-reader must not import Django')\n"
    )
    return root


def reader_env(no_django, lms, kafka, topic, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RETIREMENT_READER_", "DJANGO_"))}
    env.update(
        PYTHONPATH=str(no_django),
        RETIREMENT_READER_LMS_URL=lms.url,
        RETIREMENT_READER_CLIENT_ID=CLIENT_ID,
        RETIREMENT_READER_CLIENT_SECRET=CLIENT_SECRET,
        RETIREMENT_READER_BOOTSTRAP_SERVERS=kafka.bootstrap,
        RETIREMENT_READER_TOPIC=topic,
        RETIREMENT_READER_LMS_HOST=LMS_HOST,
        RETIREMENT_READER_KAFKA_PROPERTIES="log_level=3,client.id=reader-test",
        RETIREMENT_READER_INITIAL_BACKOFF="50ms",
        RETIREMENT_READER_HTTP_TIMEOUT="2s",
        RETIREMENT_READER_DELIVERY_TIMEOUT="10s",
    )
    env.update({f"RETIREMENT_READER_{k.upper()}": str(v) for k, v in extra.items()})
    return env


def run_reader(env, *args, timeout=120):
    return subprocess.run(
        [str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=PLUGIN_ROOT
    )


class Service:
    """The reader under --follow, its stderr in a file (a pipe nobody reads would block it)."""

    def __init__(self, env, log_path):
        self.log_path = log_path
        self.log = open(log_path, "a")  # noqa: SIM115
        self.proc = subprocess.Popen([str(SCRIPT)], env=env, stdout=self.log, stderr=self.log, text=True)

    def stop(self, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.log.close()
        return self.proc.returncode, Path(self.log_path).read_text()

    def output(self):
        self.log.flush()
        return Path(self.log_path).read_text()


def wait_for_cursor(cursor, count, service, timeout=30.0):
    """Until the cursor file lists ``count`` published retirements (then the topic exists)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if len(json.loads(cursor.read_text())["published"]) >= count:
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"cursor never reached {count}:\n{service.output()}")


def days_ago(days, hours=0):
    return datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(
        days=days, hours=hours
    )


def published(kafka, topic, expected, settle=1.0, timeout=20.0):
    records = kafka.read_topic(topic, expected=expected, timeout=timeout, settle=settle)
    return [(int(m.key()), headers_dict(m)["ce_id"], json.loads(m.value())) for m in records]


# Rows: (retirement id, user id, current state, last state, request days ago, eligible)
ROWS = [
    (101, 5001, "LMS_MISC_COMPLETE", "RETIRING_LMS_MISC", 8, True),
    (102, 5002, "RETIRING_LMS", "LMS_MISC_COMPLETE", 9, True),
    (103, 5003, "LMS_COMPLETE", "RETIRING_LMS", 10, True),
    (104, 5004, "COMPLETE", "LMS_COMPLETE", 20, True),
    (105, 5005, "COMPLETE", "LMS_COMPLETE", 20, True),  # same day as 104
    (106, 5006, "ERRORED", "RETIRING_LMS", 12, True),  # failed after retire_misc
    (107, 5007, "ERRORED", "RETIRING_LMS_MISC", 12, False),  # failed at retire_misc
    (108, 5008, "PENDING", "PENDING", 1, False),
    (109, 5009, "RETIRING_LMS_MISC", "NOTES_COMPLETE", 8, False),
    (110, 5010, "COMPLETE", "LMS_COMPLETE", 60, False),  # requested before the window
    (111, 5011, "LMS_MISC_COMPLETE", "RETIRING_LMS_MISC", 0, True),  # requested today
]


def make_rows(spec=ROWS):
    return [
        api_row(rid, uid, state, days_ago(age), last_state=last) for rid, uid, state, last, age, _ in spec
    ]


def redacted_row():
    return api_row(
        120,
        5020,
        "COMPLETE",
        days_ago(15),
        last_state="LMS_COMPLETE",
        username="redacted",
        email="redacted",
        name="redacted",
    )


def personal_data(rows):
    values = {r[k] for r in rows for k in ("original_username", "original_email", "original_name")}
    return values - {"redacted"}


def test_django_is_really_unimportable(no_django):
    result = subprocess.run(
        [sys.executable, "-c", "import django"],
        env={**os.environ, "PYTHONPATH": str(no_django)},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "must not import Django" in result.stderr


def test_console_script_is_installed():
    assert SCRIPT.exists(), "pip install ./lms-plugin installs the openedx-retirement-reader script"


def test_one_shot_publishes_every_eligible_learner_once(no_django, kafka_cluster, topic, tmp_path):
    rows = make_rows() + [redacted_row()]
    cursor = tmp_path / "cursor.json"
    with FakeLms(rows) as lms:
        lms.expire_token_after = 7  # the token expires mid-run: 401, renewed once, call repeated
        lms.fail_5xx_days = {("COMPLETE", days_ago(20).date().isoformat())}  # 503 once, retried
        env = reader_env(no_django, lms, kafka_cluster, topic)
        start = days_ago(30).date().isoformat()
        result = run_reader(env, "--start-date", start, "--cursor-file", str(cursor))
        assert result.returncode == 0, result.stderr
        assert lms.tokens_issued >= 2
        first_run_gets = len(lms.gets())

        expected = {(uid, rid) for rid, uid, _, _, _, ok in ROWS if ok}
        records = published(kafka_cluster, topic, expected=len(expected))
        assert sorted(uid for uid, _, _ in records) == sorted(uid for uid, _ in expected)
        for uid, ce_id, value in records:
            rid = value["retirement_id"]
            assert (uid, rid) in expected
            assert ce_id == ce_id_for(LMS_HOST, uid, rid)  # the plugin's id for the same retirement
            assert value["username"] == f"learner{uid}" and value["email"] == f"learner{uid}@foo.invalid"
        for msg in kafka_cluster.read_topic(topic, expected=len(expected)):
            parse_record(msg.key(), msg.headers(), msg.value())

        # The redacted row is skipped, counted and logged by user id only; no personal data in logs.
        assert "user_id=5020" in result.stderr and "1 redacted rows skipped" in result.stderr
        for item in personal_data(rows):
            assert item not in result.stderr
        assert "redacted" not in [v["username"] for _, _, v in records]

        # Day by day: every request asks for exactly one day.
        for _, path, _ in lms.gets():
            query = dict(p.split("=") for p in path.split("?")[1].split("&"))
            assert query["start_date"] == query["end_date"]

        # Again, with the cursor: nothing new is published.
        again = run_reader(env, "--start-date", start, "--cursor-file", str(cursor))
        assert again.returncode == 0, again.stderr
        assert f"0 published, {len(expected)} already published" in again.stderr
        assert len(published(kafka_cluster, topic, expected=len(expected) + 1, timeout=4)) == len(expected)
        assert len(lms.gets()) > first_run_gets
    saved = json.loads(cursor.read_text())
    assert set(saved["published"]) == {str(rid) for _, rid in expected}
    assert saved["lms_host"] == LMS_HOST and saved["topic"] == topic


def test_follow_survives_restarts_and_publishes_each_learner_once(no_django, kafka_cluster, topic, tmp_path):
    cursor = tmp_path / "state" / "cursor.json"
    cursor.parent.mkdir()
    log = tmp_path / "reader.log"
    spec = [row for row in ROWS if row[0] != 110]
    eligible = [r for r in spec if r[5]]
    with FakeLms(make_rows(spec)) as lms:
        env = reader_env(
            no_django,
            lms,
            kafka_cluster,
            topic,
            follow="true",
            interval="1s",
            cursor_file=cursor,
            lookback="25d",
        )
        service = Service(env, log)
        try:
            wait_for_cursor(cursor, len(eligible), service)
            got = published(kafka_cluster, topic, expected=len(eligible), settle=0)
            assert len(got) == len(eligible), service.output()
            # Between polls a learner passes retire_misc (their row moves into LMS_MISC_COMPLETE).
            with lms.lock:
                lms.rows[[r["id"] for r in lms.rows].index(109)]["current_state"]["state_name"] = (
                    "LMS_MISC_COMPLETE"
                )
            got = published(kafka_cluster, topic, expected=len(eligible) + 1, settle=0)
            assert len(got) == len(eligible) + 1, service.output()
            time.sleep(2.5)  # more polls: nothing is republished
            got = published(kafka_cluster, topic, expected=len(eligible) + 2, timeout=3)
            assert len(got) == len(eligible) + 1
            # SIGTERM in the middle of a pass (every LMS request is slow now).
            lms.delay = 0.3
            time.sleep(1.5)
        finally:
            code, output = service.stop()
        assert code == 0, output
        assert "SIGTERM received" in output
        saved = json.loads(cursor.read_text())
        assert len(saved["published"]) == len(eligible) + 1

        # While it is down: a new learner (requested today) and one already published (moved on).
        lms.delay = 0.0
        with lms.lock:
            lms.rows.append(
                api_row(130, 5030, "LMS_MISC_COMPLETE", days_ago(0), last_state="RETIRING_LMS_MISC")
            )
            lms.rows[[r["id"] for r in lms.rows].index(101)]["current_state"]["state_name"] = "COMPLETE"
        service = Service(env, log)
        total = len(eligible) + 2
        try:
            wait_for_cursor(cursor, total, service)
            got = published(kafka_cluster, topic, expected=total, settle=0)
            assert len(got) == total, service.output()
            time.sleep(3)  # a few more polls
        finally:
            code, output = service.stop()
        assert code == 0, output
    records = published(kafka_cluster, topic, expected=total + 1, timeout=4)
    ids = [value["retirement_id"] for _, _, value in records]
    assert len(ids) == total and len(set(ids)) == total, "every eligible learner exactly once"
    assert 130 in ids and 109 in ids and 107 not in ids and 108 not in ids


def test_falling_behind_is_a_warning(no_django, kafka_cluster, topic, tmp_path):
    cursor = tmp_path / "cursor.json"
    cursor.write_text(
        json.dumps(
            {
                "format": "openedx-retirement-reader-cursor/1",
                "lms_host": LMS_HOST,
                "topic": topic,
                "last_complete_scan": {
                    "finished_at": "2026-01-01T00:00:00Z",
                    "first_day": "2025-11-22",
                    "last_day": "2026-01-01",
                },
                "published": {},
            }
        )
    )
    with FakeLms([]) as lms:
        lms.always_5xx = True  # the pass fails: the cursor stays old
        env = reader_env(
            no_django,
            lms,
            kafka_cluster,
            topic,
            follow="1",
            interval="30s",
            max_lag="1h",
            max_attempts="1",
            cursor_file=cursor,
        )
        service = Service(env, tmp_path / "reader.log")
        deadline = time.monotonic() + 20
        while "Pass failed" not in service.output() and time.monotonic() < deadline:
            time.sleep(0.2)
        code, output = service.stop()
    assert code == 0, output
    assert "WARNING" in output and "Falling behind" in output
    assert "Pass failed" in output and "HTTP 503" in output


def test_lms_down_is_a_runtime_failure(no_django, kafka_cluster, topic, tmp_path):
    with FakeLms(make_rows()) as lms:
        lms.always_5xx = True
        env = reader_env(no_django, lms, kafka_cluster, topic, max_attempts="2")
        result = run_reader(env, "--start-date", days_ago(2).date().isoformat())
    assert result.returncode == 1, result.stderr
    assert "failed after 2 attempts: HTTP 503" in result.stderr


def test_kafka_down_is_a_runtime_failure_and_the_cursor_does_not_advance(
    no_django, kafka_cluster, topic, tmp_path, closed_port
):
    cursor = tmp_path / "cursor.json"
    with FakeLms(make_rows()) as lms:
        env = reader_env(no_django, lms, kafka_cluster, topic, delivery_timeout="1s")
        env["RETIREMENT_READER_BOOTSTRAP_SERVERS"] = f"127.0.0.1:{closed_port}"
        result = run_reader(
            env, "--start-date", days_ago(30).date().isoformat(), "--cursor-file", str(cursor)
        )
    assert result.returncode == 1, result.stderr
    assert "Kafka:" in result.stderr and "not published" in result.stderr
    assert not cursor.exists() or json.loads(cursor.read_text())["published"] == {}


@pytest.mark.parametrize(
    "drop,args,named",
    [
        ("RETIREMENT_READER_LMS_URL", [], "--lms-url (env RETIREMENT_READER_LMS_URL): required"),
        (
            "RETIREMENT_READER_CLIENT_SECRET",
            [],
            "--client-secret (env RETIREMENT_READER_CLIENT_SECRET): required",
        ),
        (None, ["--interval", "soon"], "--interval"),
        (None, ["--kafka-property", "acks=1"], "--kafka-property"),
        (None, ["--kafka-property", "sasl.mechanisms.typo=x"], "rejected by librdkafka"),
        (None, ["--kafka-property", "bootstrap.servers=x:1"], "--kafka-property"),
        (None, ["--follow", "--end-date", "2026-01-01"], "--end-date"),
        (None, ["--start-date", "yesterday"], "--start-date"),
        (None, ["--state", "lms misc"], "--state"),
        (None, ["--lms-host", "https://lms.example.org/"], "--lms-host"),
        (None, ["--log-level", "LOUD"], "--log-level"),
    ],
)
def test_usage_errors_exit_2_naming_the_flag(no_django, kafka_cluster, topic, drop, args, named):
    with FakeLms([]) as lms:
        env = reader_env(no_django, lms, kafka_cluster, topic)
        env.pop(drop, None)
        result = run_reader(env, *args, timeout=30)
    assert result.returncode == 2, result.stderr
    assert named in result.stderr
    assert CLIENT_SECRET not in result.stderr


def test_cursor_of_another_topic_is_refused(no_django, kafka_cluster, topic, tmp_path):
    cursor = tmp_path / "cursor.json"
    cursor.write_text(
        json.dumps(
            {
                "format": "openedx-retirement-reader-cursor/1",
                "lms_host": LMS_HOST,
                "topic": "other",
                "published": {},
            }
        )
    )
    with FakeLms([]) as lms:
        result = run_reader(reader_env(no_django, lms, kafka_cluster, topic), "--cursor-file", str(cursor))
    assert result.returncode == 2 and "--cursor-file" in result.stderr


def test_kafka_properties_as_json_and_topic_prefix(no_django, kafka_cluster, topic, tmp_path):
    with FakeLms(make_rows([r for r in ROWS if r[0] == 101])) as lms:
        env = reader_env(no_django, lms, kafka_cluster, topic, kafka_properties='{"log_level": 3}')
        env["RETIREMENT_READER_TOPIC"] = "user-retirement"
        result = run_reader(env, "--topic-prefix", topic, "--start-date", days_ago(9).date().isoformat())
    assert result.returncode == 0, result.stderr
    records = published(kafka_cluster, f"{topic}-user-retirement", expected=1)
    assert [uid for uid, _, _ in records] == [5001]


def test_one_shot_cron_pass_warns_when_the_cursor_is_behind(no_django, kafka_cluster, topic, tmp_path):
    """A cron-style run (no dates): reads the lookback window, warns about the old cursor."""
    cursor = tmp_path / "cursor.json"
    old = (datetime.now(UTC) - timedelta(days=50)).date()
    cursor.write_text(
        json.dumps(
            {
                "format": "openedx-retirement-reader-cursor/1",
                "lms_host": LMS_HOST,
                "topic": topic,
                "last_complete_scan": {
                    "finished_at": f"{old.isoformat()}T00:00:00Z",
                    "first_day": "2025-01-01",
                    "last_day": old.isoformat(),
                },
                "published": {},
            }
        )
    )
    with FakeLms(make_rows([r for r in ROWS if r[0] in (101, 110)])) as lms:
        result = run_reader(reader_env(no_django, lms, kafka_cluster, topic), "--cursor-file", str(cursor))
    assert result.returncode == 0, result.stderr
    assert "Falling behind" in result.stderr
    assert f"run once with --start-date {old.isoformat()}" in result.stderr
    assert "may already have deleted" not in result.stderr  # no explicit old --start-date
    records = published(kafka_cluster, topic, expected=1)
    assert [uid for uid, _, _ in records] == [5001]  # 110 is older than the 40-day lookback
    saved = json.loads(cursor.read_text())
    assert saved["last_complete_scan"]["last_day"] == datetime.now(UTC).date().isoformat()


class ListApi:
    """In-process stand-in for LmsRetirementApi: rows by (state, day)."""

    def __init__(self, rows):
        self.rows = rows

    def retirements_by_status_and_date(self, state, start, end):
        return [
            r
            for r in self.rows
            if r.get("current_state", {}).get("state_name") == state
            and r["created"][:10] == start.isoformat()
        ]


class RecordingPublisher:
    def __init__(self):
        self.batches = []

    def publish(self, events):
        self.batches.append(list(events))

    def flush(self, timeout):
        return 0


def test_reader_rules_in_process(tmp_path):
    """Eligibility, cursor and a malformed row, without HTTP or Kafka."""
    from openedx_retirement_kafka.reader.core import Reader
    from openedx_retirement_kafka.reader.cursor import Cursor
    from openedx_retirement_kafka.reader.options import parse_options

    env = {
        "RETIREMENT_READER_LMS_URL": "https://LMS.example.org",
        "RETIREMENT_READER_CLIENT_ID": "i",
        "RETIREMENT_READER_CLIENT_SECRET": "s",
        "RETIREMENT_READER_BOOTSTRAP_SERVERS": "127.0.0.1:9",
    }
    options = parse_options([], env)
    assert options.lms_host == "lms.example.org" and options.topic == "user-retirement"
    rows = make_rows() + [redacted_row()]
    broken = api_row(140, 5040, "COMPLETE", days_ago(3), last_state="LMS_COMPLETE")
    del broken["user"]
    rows.append(broken)
    cursor = Cursor.load(tmp_path / "c.json", options.lms_host, options.topic)
    publisher = RecordingPublisher()
    reader = Reader(options, cursor, api=ListApi(rows), publisher=publisher)
    today = datetime.now(UTC).date()
    stats = reader.run_pass(today - timedelta(days=30), today)
    ids = sorted(e.retirement_id for batch in publisher.batches for e in batch)
    assert ids == sorted(rid for rid, _, _, _, _, ok in ROWS if ok)
    assert (stats.redacted, stats.errored_before, stats.unusable) == (1, 1, 1)
    assert all(len({e.retirement_id for e in b}) == len(b) for b in publisher.batches)
    # Second pass: all in the cursor, nothing published; a reloaded cursor knows the same.
    again = reader.run_pass(today - timedelta(days=30), today)
    assert again.published == 0 and again.already_published == len(ids)
    assert set(Cursor.load(tmp_path / "c.json", options.lms_host, options.topic).published) == set(ids)


# --------------------------------------------------------------------------------------------
# The keyring: the reader encrypts as the plugin does (docs/encryption.md)
# --------------------------------------------------------------------------------------------

READER_KEY = Key(id="reader-k2", created="2026-11-01T00:00:00Z", secret=bytes(range(100, 132)))
OLD_KEY = Key(id="reader-k1", created="2026-10-01T00:00:00Z", secret=bytes(range(1, 33)))
READER_KEYRING = Keyring(current=READER_KEY.id, keys=(OLD_KEY, READER_KEY))
SECRET_TEXTS = [base64.b64encode(k.secret).decode() for k in READER_KEYRING.keys]


@pytest.mark.parametrize(
    "source", ["--keyring-file", "RETIREMENT_READER_KEYRING_FILE", "RETIREMENT_READER_KEYRING"]
)
def test_with_a_keyring_the_topic_holds_only_envelopes(no_django, kafka_cluster, topic, tmp_path, source):
    spec = [r for r in ROWS if r[0] in (101, 102, 106)]
    rows = make_rows(spec)
    path = tmp_path / "keyring.json"
    path.write_text(READER_KEYRING.to_json())
    args = ["--start-date", days_ago(15).date().isoformat()]
    with FakeLms(rows) as lms:
        env = reader_env(no_django, lms, kafka_cluster, topic)
        if source == "--keyring-file":
            args += ["--keyring-file", str(path)]
        elif source == "RETIREMENT_READER_KEYRING_FILE":
            env[source] = str(path)
        else:
            env[source] = READER_KEYRING.to_json()
        result = run_reader(env, *args)
    assert result.returncode == 0, result.stderr
    assert "Encrypting the personal fields under key reader-k2" in result.stderr
    messages = kafka_cluster.read_topic(topic, expected=len(spec), settle=1.0)
    assert len(messages) == len(spec)
    needles = personal_data(rows) | {r[k] for r in rows for k in ("retired_username", "retired_email")}
    for msg in messages:
        value = json.loads(msg.value())
        assert set(value) == {"user_id", "retirement_id", "requested_at", "encrypted"}, value
        assert value["encrypted"]["kid"] == READER_KEY.id
        for needle in needles:
            assert needle.encode() not in msg.value(), "a personal value in clear on the topic"
        obj = parse_record(msg.key(), msg.headers(), msg.value(), keyring=READER_KEYRING)
        uid = obj["user_id"]
        assert obj["username"] == f"learner{uid}" and obj["email"] == f"learner{uid}@foo.invalid"
        assert headers_dict(msg)["ce_id"] == ce_id_for(LMS_HOST, uid, obj["retirement_id"])
    for text in [*needles, *SECRET_TEXTS]:
        assert text not in result.stderr


def keyring_json(current="reader-k2", secret=None):
    doc = json.loads(READER_KEYRING.to_json())
    doc["current"] = current
    if secret is not None:
        doc["keys"][0]["secret"] = secret
    return json.dumps(doc)


@pytest.mark.parametrize(
    "file_text, inline, named, problem",
    [
        (
            keyring_json(current=None),
            None,
            "--keyring-file (env RETIREMENT_READER_KEYRING_FILE)",
            "no 'current' key",
        ),
        (None, keyring_json(current=None), "RETIREMENT_READER_KEYRING:", "no 'current' key"),
        (keyring_json(current="k9"), None, "--keyring-file", "not in the keyring"),
        (None, "{not json", "RETIREMENT_READER_KEYRING:", "not valid JSON"),
        (None, keyring_json(secret="AQEB"), "RETIREMENT_READER_KEYRING:", "32 bytes"),
        ("", None, "--keyring-file", "not valid JSON"),
        (keyring_json(), keyring_json(), "--keyring-file", "not both"),
    ],
)
def test_an_unusable_keyring_is_refused_at_start(
    no_django, kafka_cluster, topic, tmp_path, file_text, inline, named, problem
):
    with FakeLms(make_rows()) as lms:
        env = reader_env(no_django, lms, kafka_cluster, topic)
        if file_text is not None:
            path = tmp_path / "keyring.json"
            path.write_text(file_text)
            env["RETIREMENT_READER_KEYRING_FILE"] = str(path)
        if inline is not None:
            env["RETIREMENT_READER_KEYRING"] = inline
        result = run_reader(env, timeout=30)
        assert lms.requests == [], "nothing is read before the configuration is valid"
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"openedx-retirement-reader: {named}"), lines[0]
    assert problem in lines[0]
    for secret in SECRET_TEXTS:
        assert secret not in result.stderr and secret[:8] not in result.stderr


def test_a_missing_keyring_file_is_refused_at_start(no_django, kafka_cluster, topic, tmp_path):
    with FakeLms([]) as lms:
        env = reader_env(no_django, lms, kafka_cluster, topic)
        result = run_reader(env, "--keyring-file", str(tmp_path / "absent.json"), timeout=30)
    assert result.returncode == 2, result.stderr
    assert (
        "--keyring-file (env RETIREMENT_READER_KEYRING_FILE): cannot read the keyring file" in result.stderr
    )


def test_without_a_keyring_the_reader_says_it_publishes_in_clear(no_django, kafka_cluster, topic):
    with FakeLms(make_rows([r for r in ROWS if r[0] == 101])) as lms:
        result = run_reader(
            reader_env(no_django, lms, kafka_cluster, topic), "--start-date", days_ago(9).date().isoformat()
        )
    assert result.returncode == 0, result.stderr
    assert "personal fields are published in clear" in result.stderr
    [(_, _, value)] = published(kafka_cluster, topic, expected=1)
    assert value["email"] == "learner5001@foo.invalid" and "encrypted" not in value
