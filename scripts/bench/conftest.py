"""Helpers shared by the tests of the benchmark's webhook server and peer consumer."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


class WebhookProcess:
    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "webhook_server.py"), "--port", "0", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline()
        if not line.startswith("LISTENING "):
            self.stop()
            raise RuntimeError(f"webhook_server.py did not start: {line!r}")
        self.port = int(line.split()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/erase"

    def stats(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats", timeout=5) as reply:
            return json.loads(reply.read())

    def stop(self) -> int:
        """SIGTERM, then the exit status (a kill after 5 s gives a negative one)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        return self.process.returncode


@pytest.fixture
def webhook_server():
    """Starts webhook_server.py with the given arguments; stops every one started at the end."""
    started: list[WebhookProcess] = []

    def start(*args: str) -> WebhookProcess:
        server = WebhookProcess(*args)
        started.append(server)
        return server

    yield start
    statuses = [server.stop() for server in started]
    assert statuses == [0] * len(started), f"webhook_server.py exit statuses {statuses}"
