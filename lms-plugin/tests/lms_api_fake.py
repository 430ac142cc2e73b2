"""
A local HTTP server that follows the LMS retirement API as the plugin and the reader use it:
``POST /oauth2/access_token`` (client credentials, JWT) and
``GET /api/user/v1/accounts/retirements_by_status_and_date/`` with the LMS's filtering rules
(``current_state == state``, ``created`` in whole days ``start_date..end_date``, no future
dates, a plain JSON array of UserRetirementStatusSerializer rows).
"""

import json
import threading
import time
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

CLIENT_ID, CLIENT_SECRET = "backfill-client", "backfill-secret"

STATE_ORDER = [
    "PENDING",
    "LOCKING_ACCOUNT",
    "LOCKING_COMPLETE",
    "RETIRING_FORUMS",
    "FORUMS_COMPLETE",
    "RETIRING_EMAIL_LISTS",
    "EMAIL_LISTS_COMPLETE",
    "RETIRING_ENROLLMENTS",
    "ENROLLMENTS_COMPLETE",
    "RETIRING_NOTES",
    "NOTES_COMPLETE",
    "RETIRING_LMS_MISC",
    "LMS_MISC_COMPLETE",
    "RETIRING_LMS",
    "LMS_COMPLETE",
    "ERRORED",
    "ABORTED",
    "COMPLETE",
]


def api_state(name):
    index = STATE_ORDER.index(name)
    return {"id": index + 1, "state_name": name, "state_execution_order": 1 + 10 * index}


def api_row(
    retirement_id, user_id, state, created, last_state="PENDING", username=None, email=None, name=None
):
    """One row as UserRetirementStatusSerializer writes it (reference: the API's docstring example)."""
    username = username or f"learner{user_id}"
    email = email or f"learner{user_id}@foo.invalid"
    stamp = created.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    return {
        "id": retirement_id,
        "user": {
            "id": user_id,
            "username": f"retired__user_{user_id:020x}",
            "email": f"retired__user_{user_id:020x}@retired.invalid",
            "profile": {"id": user_id + 1000, "name": ""},
        },
        "current_state": api_state(state),
        "last_state": api_state(last_state),
        "created": stamp,
        "modified": stamp,
        "original_username": username,
        "original_email": email,
        "original_name": name if name is not None else f"Learner {user_id}",
        "retired_username": f"retired__user_{user_id:020x}",
        "retired_email": f"retired__user_{user_id:020x}@retired.invalid",
    }


class LocalServer:
    """A `ThreadingHTTPServer` on a free loopback port, served on a thread inside `with`."""

    def serve(self, handler) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class FakeLms(LocalServer):
    """Token endpoint + retirements_by_status_and_date with the LMS's filtering rules.

    Knobs: ``expire_first_token`` (the first token is refused once with 401),
    ``expire_token_after`` (a token is refused with 401 once it has served that many GETs),
    ``fail_5xx`` (state names whose first request answers 503), ``fail_5xx_days`` ((state,
    day) pairs whose first request answers 503), ``slow`` (state names whose first request
    stalls longer than the client timeout), ``delay`` (seconds every GET takes),
    ``always_5xx``. ``rows`` may be changed while the server runs (under ``lock``).
    """

    def __init__(self, rows):
        self.rows = rows
        self.requests = []
        self.tokens_issued = 0
        self.expire_first_token = False
        self.fail_5xx = set()
        self.slow = set()
        self.always_5xx = False
        self.expire_token_after = None
        self.fail_5xx_days = set()
        self.delay = 0.0
        self.token_uses = {}
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
                with lms.lock:
                    uses = lms.token_uses[auth] = lms.token_uses.get(auth, 0) + 1
                if lms.expire_token_after is not None and uses > lms.expire_token_after:
                    return self._send(401, {"detail": "Token has expired."})
                if lms.delay:
                    time.sleep(lms.delay)
                state = query.get("state", [""])[0]
                day_key = (state, query.get("start_date", [""])[0])
                with lms.lock:
                    first = state not in lms._failed
                    lms._failed.add(state)
                    first_day_key = day_key not in lms._failed
                    lms._failed.add(day_key)
                if (
                    lms.always_5xx
                    or (state in lms.fail_5xx and first)
                    or (day_key in lms.fail_5xx_days and first_day_key)
                ):
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
                with lms.lock:
                    rows = [json.loads(json.dumps(r)) for r in lms.rows]
                found = [
                    row
                    for row in rows
                    if row["current_state"]["state_name"] == state
                    and lo <= datetime.fromisoformat(row["created"].replace("Z", "+00:00")) < hi
                ]
                return self._send(200, found)

        self.serve(Handler)

    def gets(self, state=None):
        return [r for r in self.requests if r[0] == "GET"]
