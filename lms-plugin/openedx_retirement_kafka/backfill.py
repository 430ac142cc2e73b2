"""
Backfill: read retirements from the LMS retirement API and publish their events.

For learners whose ``retire_misc`` step ran while the plugin was not installed, disabled or
misconfigured. Events are built by :mod:`.events` exactly as the receiver builds them, so
they carry the same ``ce_id``; publishing one twice is harmless (the consumer is idempotent).

API (see docs/lms-plugin.md):

* ``POST {LMS}/oauth2/access_token`` form ``grant_type=client_credentials, client_id,
  client_secret, token_type=jwt`` -> ``{"access_token": ...}``; calls send
  ``Authorization: JWT <token>``.
* ``GET {LMS}/api/user/v1/accounts/retirements_by_status_and_date/?start_date=YYYY-MM-DD
  &end_date=YYYY-MM-DD&state=STATE`` -> a JSON array of UserRetirementStatus rows. The LMS
  filters on ``created`` (the request date), whole days, both ends inclusive, and refuses
  dates in the future.

A 401 renews the token once and retries the call; 5xx, connection errors and timeouts are
retried with exponential backoff, a bounded number of times.
"""
from __future__ import annotations

import logging
import re
import time
from datetime import date, datetime, timedelta, timezone
from typing import Callable, Iterable, List, Optional

import requests

from .events import RetirementRecord

log = logging.getLogger(__name__)

TOKEN_PATH = "/oauth2/access_token"
RETIREMENTS_PATH = "/api/user/v1/accounts/retirements_by_status_and_date/"
USER_AGENT = "openedx-retirement-kafka-backfill"


class BackfillError(Exception):
    """The LMS API could not be read. The message holds no personal data."""


_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d|w)\Z")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_time(text: str, now: Optional[datetime] = None) -> datetime:
    """``24h``/``7d`` (back from now) or an RFC 3339 / ISO date-time (UTC when no offset)."""
    now = now or datetime.now(timezone.utc)
    text = text.strip()
    match = _DURATION.match(text)
    if match:
        return now - timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a time: {text!r} (use RFC 3339, YYYY-MM-DD, or a duration like 24h, 7d)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


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
        session: Optional[requests.Session] = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if not client_id or not client_secret:
            raise BackfillError(
                "no OAuth2 client credentials: set RETIREMENT_KAFKA['BACKFILL_CLIENT_ID'/'BACKFILL_CLIENT_SECRET'] "
                "or env RETIREMENT_KAFKA_BACKFILL_CLIENT_ID / RETIREMENT_KAFKA_BACKFILL_CLIENT_SECRET"
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
        self._token: Optional[str] = None

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
                raise BackfillError(f"{what} failed after {attempt} attempts: {problem}")
            log.warning("%s failed (%s), attempt %d of %d; retrying in %.1fs",
                        what, problem, attempt, self.max_attempts, delay)
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
            ),
        )
        if response.status_code != 200:
            raise BackfillError(f"token request refused: HTTP {response.status_code}")
        try:
            token = response.json()["access_token"]
        except (ValueError, KeyError, TypeError):
            raise BackfillError("token response has no access_token") from None
        if not isinstance(token, str) or not token:
            raise BackfillError("token response has an empty access_token")
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
                lambda: self.session.get(
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

    def retirements_by_status_and_date(self, state: str, start: date, end: date) -> List[dict]:
        params = {"start_date": start.strftime("%Y-%m-%d"), "end_date": end.strftime("%Y-%m-%d"), "state": state}
        response = self._get(RETIREMENTS_PATH, params)
        if response.status_code == 404:
            return []  # the LMS answers 404 when nothing matches in some versions
        if response.status_code != 200:
            raise BackfillError(f"retirements_by_status_and_date state={state} answered HTTP {response.status_code}")
        try:
            rows = response.json()
        except ValueError:
            raise BackfillError("retirements_by_status_and_date did not answer JSON") from None
        if not isinstance(rows, list):
            raise BackfillError("retirements_by_status_and_date did not answer a JSON array")
        return rows


def collect_records(
    api: LmsRetirementApi, states: Iterable[str], since: datetime, until: datetime
) -> List[RetirementRecord]:
    """Retirements requested in [since, until) in any of ``states``, oldest first, no duplicates."""
    today = datetime.now(timezone.utc).date()
    start_day = since.astimezone(timezone.utc).date()
    end_day = min(until.astimezone(timezone.utc).date(), today)  # the LMS refuses future dates
    if start_day > end_day:
        return []
    seen = {}
    for state in states:
        rows = api.retirements_by_status_and_date(state, start_day, end_day)
        kept = 0
        for row in rows:
            try:
                record = RetirementRecord.from_api(row)
            except ValueError as exc:
                raise BackfillError(f"unexpected retirement row in state {state}: {exc}") from None
            if record.created is not None and not since <= record.created < until:
                continue
            seen[record.retirement_id] = record
            kept += 1
        log.info("state %s: %d retirement(s) in the window", state, kept)
    return sorted(seen.values(), key=lambda r: (r.created or since, r.retirement_id))
