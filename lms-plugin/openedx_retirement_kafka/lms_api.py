"""
The LMS retirement API client and the rules for which rows become events.

Shared by the backfill management command (``publish_retirement_backfill``, inside the LMS)
and the out-of-band reader (``openedx-retirement-reader``, outside it). No Django here: the
reader imports this module without Django settings.

API (see docs/lms-plugin.md and docs/out-of-band-reader.md):

* ``POST {LMS}/oauth2/access_token`` form ``grant_type=client_credentials, client_id,
  client_secret, token_type=jwt`` -> ``{"access_token": ...}``; calls send
  ``Authorization: JWT <token>``.
* ``GET {LMS}/api/user/v1/accounts/retirements_by_status_and_date/?start_date=YYYY-MM-DD
  &end_date=YYYY-MM-DD&state=STATE`` -> a JSON array of UserRetirementStatus rows. The LMS
  filters on ``created`` (the request date), whole days, both ends inclusive, and refuses
  dates in the future.

A 401 renews the token once and retries the call; 5xx, connection errors and timeouts are
retried with exponential backoff, a bounded number of times. The token request follows no
redirect: a 3xx answer is an error naming the status (following a 307/308 would send the client
secret wherever the answer points). With ``https_only`` (the out-of-band reader) the base URL
must be https unless it is a loopback address (:func:`is_loopback_host`).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests

from .events import RetirementRecord

log = logging.getLogger(__name__)

TOKEN_PATH = "/oauth2/access_token"
RETIREMENTS_PATH = "/api/user/v1/accounts/retirements_by_status_and_date/"
USER_AGENT = "openedx-retirement-kafka"


class LmsApiError(Exception):
    """The LMS API could not be read. The message holds no personal data."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


BackfillError = LmsApiError  # the name the backfill command has always used


def is_loopback_host(host: str | None) -> bool:
    """``localhost``, an IPv4 address in 127.0.0.0/8 or ``::1`` (a URL's hostname, no brackets)."""
    if not host:
        return False
    host = host.lower().rstrip(".")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def insecure_http(url: str) -> bool:
    """Whether ``url`` is plain http to a host that is not a loopback address."""
    parts = urlsplit(url)
    return parts.scheme.lower() == "http" and not is_loopback_host(parts.hostname)


_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d|w)\Z")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_time(text: str, now: datetime | None = None) -> datetime:
    """``24h``/``7d`` (back from now) or an RFC 3339 / ISO date-time (UTC when no offset)."""
    now = now or datetime.now(UTC)
    text = text.strip()
    match = _DURATION.match(text)
    if match:
        return now - timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"not a time: {text!r} (use RFC 3339, YYYY-MM-DD, or a duration like 24h, 7d)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class LmsRetirementApi:
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        timeout: float = 30.0,
        max_attempts: int = 5,
        initial_backoff: float = 1.0,
        max_backoff: float = 60.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        https_only: bool = False,
        credentials_hint: str = (
            "set RETIREMENT_KAFKA['BACKFILL_CLIENT_ID'/'BACKFILL_CLIENT_SECRET'] "
            "or env RETIREMENT_KAFKA_BACKFILL_CLIENT_ID / RETIREMENT_KAFKA_BACKFILL_CLIENT_SECRET"
        ),
    ):
        if not client_id or not client_secret:
            raise LmsApiError(f"no OAuth2 client credentials: {credentials_hint}")
        if urlsplit(base_url).scheme.lower() not in ("http", "https") or (
            https_only and insecure_http(base_url)
        ):
            raise LmsApiError(
                "the LMS URL must be https (http only to a loopback address: 127.0.0.0/8, ::1, localhost)"
            )
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self._sleep = sleep
        self._token: str | None = None

    # -- transport ------------------------------------------------------------------------

    def _with_retries(self, what: str, call: Callable[[], requests.Response]) -> requests.Response:
        """Run ``call``; retry 5xx, connection errors and timeouts with exponential backoff."""
        delay = self.initial_backoff
        for attempt in range(1, self.max_attempts + 1):
            problem = None
            try:
                response = call()
            except (requests.ConnectionError, requests.Timeout) as exc:
                problem = type(exc).__name__
            else:
                if response.status_code < 500:
                    return response
                problem = f"HTTP {response.status_code}"
            if attempt == self.max_attempts:
                raise LmsApiError(f"{what} failed after {attempt} attempts: {problem}")
            log.warning(
                "%s failed (%s), attempt %d of %d; retrying in %.1fs",
                what,
                problem,
                attempt,
                self.max_attempts,
                delay,
            )
            self._sleep(delay)
            delay = min(delay * 2, self.max_backoff)
        raise AssertionError("unreachable")  # pragma: no cover

    def fetch_token(self) -> str:
        response = self._with_retries(
            "token request",
            lambda: self.session.post(
                self.base_url + TOKEN_PATH,
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                    "token_type": "jwt",
                },
                timeout=self.timeout,
                allow_redirects=False,  # never send the client secret where a redirect points
            ),
        )
        if 300 <= response.status_code < 400:
            raise LmsApiError(
                f"token request answered HTTP {response.status_code} (a redirect); redirects are not "
                "followed: use the LMS's final https base URL",
                response.status_code,
            )
        if response.status_code != 200:
            raise LmsApiError(f"token request refused: HTTP {response.status_code}", response.status_code)
        try:
            token = response.json()["access_token"]
        except (ValueError, KeyError, TypeError):
            raise LmsApiError("token response has no access_token") from None
        if not isinstance(token, str) or not token:
            raise LmsApiError("token response has an empty access_token")
        self._token = token
        return token

    def _get(self, path: str, params: dict) -> requests.Response:
        if self._token is None:
            self.fetch_token()
        renewed = False
        while True:
            token = self._token
            response = self._with_retries(
                f"GET {path}",
                lambda token=token: self.session.get(
                    self.base_url + path,
                    params=params,
                    headers={"Authorization": f"JWT {token}", "Accept": "application/json"},
                    timeout=self.timeout,
                ),
            )
            if response.status_code == 401 and not renewed:
                log.info("LMS answered 401; renewing the access token once")
                self.fetch_token()
                renewed = True
                continue
            return response

    # -- API ------------------------------------------------------------------------------

    def retirements_by_status_and_date(self, state: str, start: date, end: date) -> list[dict]:
        params = {
            "start_date": start.strftime("%Y-%m-%d"),
            "end_date": end.strftime("%Y-%m-%d"),
            "state": state,
        }
        response = self._get(RETIREMENTS_PATH, params)
        if response.status_code == 404:
            return []  # the LMS answers 404 when nothing matches in some versions
        if response.status_code != 200:
            raise LmsApiError(
                f"retirements_by_status_and_date state={state} start_date={params['start_date']} "
                f"end_date={params['end_date']} answered HTTP {response.status_code}",
                response.status_code,
            )
        try:
            rows = response.json()
        except ValueError:
            raise LmsApiError("retirements_by_status_and_date did not answer JSON") from None
        if not isinstance(rows, list):
            raise LmsApiError("retirements_by_status_and_date did not answer a JSON array")
        return rows


# --------------------------------------------------------------------------------------------
# Which rows become events
# --------------------------------------------------------------------------------------------

ERRORED = "ERRORED"
# What retirement_cleanup writes over original_username/email/name before it deletes the rows
# (its default; the driver's cleanup script does not change it).
REDACTED_VALUES = frozenset({"redacted"})

ELIGIBLE = "eligible"
SKIP_REDACTED = "redacted"
SKIP_ERRORED_BEFORE = "errored_before_the_states"
SKIP_OTHER_STATE = "other_state"


def _state_name(row: Mapping[str, Any], key: str) -> str:
    state = row.get(key)
    if isinstance(state, Mapping) and isinstance(state.get("state_name"), str):
        return state["state_name"]
    return ""


def classify_row(row: Mapping[str, Any], states: Iterable[str]) -> tuple[str, RetirementRecord]:
    """(verdict, record) for one API row; ``verdict`` is ELIGIBLE or why the row is skipped.

    * a row whose original username or email was already redacted by ``retirement_cleanup`` is
      never published (the "redacted" placeholder is not a learner's identity);
    * a row in one of ``states`` is eligible;
    * a row in ``ERRORED`` is eligible when its ``last_state`` (the state it failed from) is one
      of ``states``: it had passed those states, e.g. ``retire_misc``, before the error;
    * anything else is not.

    Raises LmsApiError when the row lacks ``id`` or ``user.id``.
    """
    try:
        record = RetirementRecord.from_api(row)
    except ValueError as exc:
        raise LmsApiError(f"unexpected retirement row: {exc}") from None
    wanted = set(states)
    if record.original_username in REDACTED_VALUES or record.original_email in REDACTED_VALUES:
        return SKIP_REDACTED, record
    current = _state_name(row, "current_state")
    if current in wanted and current != ERRORED:
        return ELIGIBLE, record
    if current == ERRORED:
        return (ELIGIBLE if _state_name(row, "last_state") in wanted else SKIP_ERRORED_BEFORE), record
    return SKIP_OTHER_STATE, record


def query_states(states: Iterable[str]) -> list[str]:
    """The states to ask the API for: ``states`` plus ERRORED (see classify_row)."""
    result = [s for s in states if s != ERRORED]
    return result + [ERRORED]


def collect_records(
    api: LmsRetirementApi, states: Iterable[str], since: datetime, until: datetime
) -> list[RetirementRecord]:
    """Eligible retirements requested in [since, until), oldest first, no duplicates.

    Reads each of ``states`` and ERRORED; keeps the rows :func:`classify_row` finds eligible.
    """
    states = list(states)
    today = datetime.now(UTC).date()
    start_day = since.astimezone(UTC).date()
    end_day = min(until.astimezone(UTC).date(), today)  # the LMS refuses future dates
    if start_day > end_day:
        return []
    seen = {}
    for state in query_states(states):
        rows = api.retirements_by_status_and_date(state, start_day, end_day)
        kept = 0
        for row in rows:
            verdict, record = classify_row(row, states)
            if record.created is not None and not since <= record.created < until:
                continue
            if verdict == SKIP_REDACTED:
                log.warning(
                    "skipped user_id=%s retirement_id=%s: already redacted by the LMS cleanup",
                    record.user_id,
                    record.retirement_id,
                )
            if verdict != ELIGIBLE:
                continue
            seen[record.retirement_id] = record
            kept += 1
        log.info("state %s: %d retirement(s) in the window", state, kept)
    return sorted(seen.values(), key=lambda r: (r.created or since, r.retirement_id))
