"""
A local stand-in for the LMS retirement API as edx-platform's retirement driver
(scripts/user_retirement: get_learners_to_retire.py, retire_one_learner.py) calls it, written
from the LMS views' documented behaviour (docs/tutor.md, "The driver"):

- ``POST /oauth2/access_token`` (client credentials) -> a token, then ``Authorization: JWT <token>``;
- ``GET /api/user/v1/accounts/retirement_queue/?cool_off_days=N&states=A&states=B[&limit=N]``;
- ``GET /api/user/v1/accounts/<username>/retirement_status/``;
- ``PATCH /api/user/v1/accounts/update_retirement_status/`` ``{username, new_state, response}``:
  refused (400) unless the new state comes later in the execution order and the current one
  is not a dead end;
- the step endpoints (``deactivate_logout``, ``retire_forum``, ``unenroll``, ``retire_user``
  of notes, ``retire_misc``, ``retire``): refused (400) unless the learner is in the matching
  working state, as ``get_retirement_for_retirement_action`` does.

Every state the learner passes through is recorded in ``transitions``.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

TOKEN = "fake-jwt-token"
STATES = [
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
DEAD_ENDS = ("ERRORED", "ABORTED", "COMPLETE")
STEPS = {
    "/api/user/v1/accounts/deactivate_logout/": "LOCKING_ACCOUNT",
    "/api/discussion/v1/accounts/retire_forum/": "RETIRING_FORUMS",
    "/api/enrollment/v1/unenroll/": "RETIRING_ENROLLMENTS",
    "/api/edxnotes/v1/retire_user/": "RETIRING_NOTES",
    "/api/user/v1/accounts/retire_misc/": "RETIRING_LMS_MISC",
    "/api/user/v1/accounts/retire/": "RETIRING_LMS",
}


def _state(name: str) -> dict:
    index = STATES.index(name)
    return {"id": index + 1, "state_name": name, "state_execution_order": 1 + 10 * index}


class FakeLms:
    def __init__(self, client_id: str, client_secret: str):
        self.client_id, self.client_secret = client_id, client_secret
        self.learners: dict[str, dict] = {}
        self.transitions: dict[str, list[str]] = {}
        self.steps: list[tuple[str, str]] = []
        self.errors: list[str] = []
        lms = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, body=None):
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _authorized(self) -> bool:
                if self.headers.get("Authorization") != f"JWT {TOKEN}":
                    lms.errors.append(f"unauthorized {self.command} {self.path}")
                    self._send(401, {"detail": "no token"})
                    return False
                return True

            def do_POST(self):  # noqa: N802
                url = urlparse(self.path)
                if url.path == "/oauth2/access_token":
                    form = {k: v[0] for k, v in parse_qs(self._body().decode()).items()}
                    if (form.get("client_id"), form.get("client_secret")) != (
                        lms.client_id,
                        lms.client_secret,
                    ):
                        lms.errors.append("bad client credentials")
                        return self._send(401, {"error": "invalid_client"})
                    if form.get("grant_type") != "client_credentials":
                        return self._send(400, {"error": "unsupported_grant_type"})
                    return self._send(200, {"access_token": TOKEN, "token_type": "JWT", "expires_in": 3600})
                if not self._authorized():
                    return None
                if url.path not in STEPS:
                    lms.errors.append(f"unknown POST {url.path}")
                    return self._send(404)
                username = json.loads(self._body() or b"{}").get("username")
                learner = lms.learners.get(username)
                if learner is None:
                    return self._send(404)
                if learner["current_state"]["state_name"] != STEPS[url.path]:
                    lms.errors.append(f"{url.path} in state {learner['current_state']['state_name']}")
                    return self._send(400, "RetirementStateError")
                lms.steps.append((url.path, username))
                return self._send(204)

            def do_GET(self):  # noqa: N802
                if not self._authorized():
                    return None
                url = urlparse(self.path)
                query = parse_qs(url.query)
                if url.path == "/api/user/v1/accounts/retirement_queue/":
                    cool_off = int(query["cool_off_days"][0])
                    states = query.get("states", [])
                    unknown = [s for s in states if s not in STATES]
                    if unknown:
                        return self._send(400, f"Unknown state {unknown}")
                    cutoff = datetime.now(UTC) - timedelta(days=cool_off)
                    rows = [
                        row
                        for row in lms.learners.values()
                        if row["current_state"]["state_name"] in states
                        and datetime.fromisoformat(row["created"].replace("Z", "+00:00")) < cutoff
                    ]
                    if "limit" in query:
                        rows = rows[: int(query["limit"][0])]
                    return self._send(200, rows)
                parts = url.path.strip("/").split("/")
                if parts[:4] == ["api", "user", "v1", "accounts"] and parts[-1] == "retirement_status":
                    learner = lms.learners.get(parts[4])
                    return self._send(200, learner) if learner else self._send(404)
                lms.errors.append(f"unknown GET {url.path}")
                return self._send(404)

            def do_PATCH(self):  # noqa: N802
                if not self._authorized():
                    return None
                if urlparse(self.path).path != "/api/user/v1/accounts/update_retirement_status/":
                    return self._send(404)
                body = json.loads(self._body() or b"{}")
                learner = lms.learners.get(body.get("username"))
                new_state = body.get("new_state")
                if learner is None:
                    return self._send(404)
                current = learner["current_state"]["state_name"]
                if new_state not in STATES or current in DEAD_ENDS:
                    return self._send(400, "bad state")
                if STATES.index(new_state) <= STATES.index(current) and not body.get("force"):
                    lms.errors.append(f"{current} -> {new_state} goes back")
                    return self._send(400, "state goes back")
                learner["last_state"] = learner["current_state"]
                learner["current_state"] = _state(new_state)
                lms.transitions.setdefault(learner["original_username"], []).append(new_state)
                return self._send(204)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def add_learner(self, username: str, user_id: int, days_ago: float) -> None:
        created = (datetime.now(UTC) - timedelta(days=days_ago)).isoformat().replace("+00:00", "Z")
        self.learners[username] = {
            "id": len(self.learners) + 1,
            "user": {
                "id": user_id,
                "username": username,
                "email": f"retired__user_{user_id:020x}@retired.invalid",
                "profile": {"id": user_id + 1000, "name": ""},
            },
            "current_state": _state("PENDING"),
            "last_state": _state("PENDING"),
            "created": created,
            "modified": created,
            "original_username": username,
            "original_email": f"{username}@example.org",
            "original_name": username.title(),
            "retired_username": f"retired__user_{user_id:020x}",
            "retired_email": f"retired__user_{user_id:020x}@retired.invalid",
        }
        self.transitions[username] = []

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
