"""The reader's transport to the LMS: https except to a loopback address or with an explicit
opt-in, and a token request that follows no redirect (docs/out-of-band-reader.md)."""

from http.server import BaseHTTPRequestHandler

import pytest

from openedx_retirement_kafka.lms_api import LmsApiError, LmsRetirementApi, is_loopback_host
from openedx_retirement_kafka.reader.options import UsageError, parse_options

from .lms_api_fake import CLIENT_ID, CLIENT_SECRET, FakeLms, LocalServer
from .test_reader import ROWS, days_ago, make_rows, no_django, published, reader_env, run_reader  # noqa: F401

BASE_ENV = {
    "RETIREMENT_READER_CLIENT_ID": "client",
    "RETIREMENT_READER_CLIENT_SECRET": "secret",
    "RETIREMENT_READER_BOOTSTRAP_SERVERS": "127.0.0.1:9",
    "RETIREMENT_READER_LMS_HOST": "lms.example.org",  # the default from "[::1]:18000" is no host name
}


def options_for(url, *argv, **env):
    return parse_options(list(argv), {**BASE_ENV, "RETIREMENT_READER_LMS_URL": url, **env})


@pytest.mark.parametrize(
    "url",
    [
        "https://lms.example.org",
        "https://lms.example.org:8443/",
        "http://127.0.0.1:18000",
        "http://127.8.9.10",
        "http://localhost:18000",
        "http://LOCALHOST",
        "http://[::1]:18000",
    ],
)
def test_https_or_loopback_is_accepted(url):
    assert options_for(url).allow_insecure_http is False


@pytest.mark.parametrize(
    "url",
    [
        "http://lms.example.org",
        "http://10.0.0.5:18000",
        "http://128.0.0.1",
        "http://localhost.example.org",
        "http://127.0.0.1.nip.io",
        "http://[::2]",
        "http://0.0.0.0:18000",
    ],
)
def test_plain_http_elsewhere_is_a_usage_error_naming_the_flag_and_the_opt_in(url):
    with pytest.raises(UsageError) as info:
        options_for(url)
    text = str(info.value)
    assert text.startswith("--lms-url (env RETIREMENT_READER_LMS_URL): must be https")
    assert "--allow-insecure-http (env RETIREMENT_READER_ALLOW_INSECURE_HTTP)" in text


def test_the_opt_in_by_flag_or_environment():
    assert options_for("http://lms.example.org", "--allow-insecure-http").allow_insecure_http
    assert options_for(
        "http://lms.example.org", RETIREMENT_READER_ALLOW_INSECURE_HTTP="true"
    ).allow_insecure_http
    with pytest.raises(UsageError):
        options_for("http://lms.example.org", RETIREMENT_READER_ALLOW_INSECURE_HTTP="false")
    with pytest.raises(UsageError) as info:
        options_for("https://lms.example.org", RETIREMENT_READER_ALLOW_INSECURE_HTTP="maybe")
    assert str(info.value).startswith("--allow-insecure-http")


def test_loopback_hosts():
    for host in ("localhost", "127.0.0.1", "127.255.255.254", "::1", "localhost."):
        assert is_loopback_host(host), host
    for host in (None, "", "lms.example.org", "0.0.0.0", "::", "10.1.1.1", "127.0.0.1.example.org"):
        assert not is_loopback_host(host), host


def test_the_api_client_refuses_plain_http_when_https_only():
    with pytest.raises(LmsApiError) as info:
        LmsRetirementApi("http://lms.example.org", "c", "s", https_only=True)
    assert "must be https" in str(info.value)
    LmsRetirementApi("http://127.0.0.1:9", "c", "s", https_only=True)
    LmsRetirementApi("http://lms.example.org", "c", "s")  # the backfill's rule is unchanged


class Redirector(LocalServer):
    """Answers every request with ``status`` and a Location on ``target``; counts requests."""

    def __init__(self, status, target):
        self.requests = []
        redirector = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _redirect(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                redirector.requests.append((self.command, self.path))
                self.send_response(status)
                self.send_header("Location", target + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _redirect

        self.serve(Handler)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirected_token_request_is_an_error_and_is_not_followed(status):
    with FakeLms([]) as lms, Redirector(status, lms.url) as redirector:
        api = LmsRetirementApi(redirector.url, CLIENT_ID, CLIENT_SECRET, max_attempts=3, sleep=lambda s: None)
        with pytest.raises(LmsApiError) as info:
            api.fetch_token()
        assert lms.requests == [], "the redirect target was never asked"
    assert redirector.requests == [("POST", "/oauth2/access_token")], "asked once, not retried"
    assert info.value.status == status
    assert f"HTTP {status}" in str(info.value) and "not followed" in str(info.value)
    assert CLIENT_SECRET not in str(info.value)


def test_the_reader_stops_on_a_redirected_token_request(no_django, kafka_cluster, topic):  # noqa: F811
    with FakeLms(make_rows([r for r in ROWS if r[0] == 101])) as lms, Redirector(307, lms.url) as redirector:
        env = reader_env(no_django, lms, kafka_cluster, topic)
        env["RETIREMENT_READER_LMS_URL"] = redirector.url
        result = run_reader(env, "--start-date", days_ago(9).date().isoformat(), timeout=60)
        assert lms.requests == [], "the client secret never reached the redirect target"
    assert result.returncode == 1, result.stderr
    assert "token request answered HTTP 307" in result.stderr
    assert CLIENT_SECRET not in result.stderr


def test_the_reader_reads_a_localhost_url(no_django, kafka_cluster, topic):  # noqa: F811
    with FakeLms(make_rows([r for r in ROWS if r[0] == 101])) as lms:
        env = reader_env(no_django, lms, kafka_cluster, topic)
        env["RETIREMENT_READER_LMS_URL"] = lms.url.replace("127.0.0.1", "localhost")
        result = run_reader(env, "--start-date", days_ago(9).date().isoformat())
    assert result.returncode == 0, result.stderr
    assert "--allow-insecure-http" not in result.stderr
    assert [uid for uid, _, _ in published(kafka_cluster, topic, expected=1)] == [5001]


def test_the_reader_refuses_plain_http_elsewhere_and_warns_with_the_opt_in(no_django, kafka_cluster, topic):  # noqa: F811
    with FakeLms([]) as lms:
        env = reader_env(no_django, lms, kafka_cluster, topic, max_attempts="1", http_timeout="300ms")
        env["RETIREMENT_READER_LMS_URL"] = "http://192.0.2.1:9"  # TEST-NET-1: nothing answers
        refused = run_reader(env, timeout=30)
        assert refused.returncode == 2, refused.stderr
        assert "--lms-url (env RETIREMENT_READER_LMS_URL): must be https" in refused.stderr
        allowed = run_reader(
            env, "--allow-insecure-http", "--start-date", days_ago(0).date().isoformat(), timeout=60
        )
    assert allowed.returncode == 1, allowed.stderr  # it tried, and nothing answered
    assert "WARNING" in allowed.stderr and "over plain http" in allowed.stderr
    assert CLIENT_SECRET not in refused.stderr + allowed.stderr
