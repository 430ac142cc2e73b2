"""The benchmark's webhook, served by a process of its own.

`POST <path>` (default `/erase`) answers 200 after `--latency-ms`; `POST <batch-path>` (default
`/erase-batch`) takes a batched request (docs/contract.md#webhook-batches) and answers
`{"results": [{"event_id": …, "outcome": "erased"}, …]}` after the same delay; `GET /stats` answers the
counts as JSON; `POST /reset` sets them back to zero. With `--secret` the
`X-Retirement-Signature` header is checked (HMAC-SHA256 of the raw body, docs/contract.md#webhook)
and a missing or wrong one is answered 401. Nothing else is verified, so that the server stays
far above the rate the benchmark asks of it: the measured ideal is then in_flight / latency and
not what one client in the same process managed.

One asyncio protocol per connection on uvloop, requests parsed by httptools, HTTP/1.1 keep-alive
and pipelining (answers leave in request order). The delay is a timer, not a task, per request.

    webhook_server.py --port 0 --latency-ms 50 [--secret S] [--path /erase]

Prints `LISTENING <port>` on stdout once it accepts connections; exits on SIGTERM, SIGINT or
end of stdin (`--ignore-stdin` to keep running when stdin is closed, e.g. `</dev/null`).
The body is personal data: it is never printed, only `user_id` is read from it.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import sys
import threading

import httptools
import uvloop

MAX_BODY = 1 << 20
USER_ID = re.compile(rb'"user_id"\s*:\s*(\d+)')
EVENT_ID = re.compile(rb'"event_id"\s*:\s*"([^"\\]*)"')
SIGNATURE_HEADER = b"x-retirement-signature"


def response(status: str, body: bytes = b"", content_type: bytes = b"", close: bool = False) -> bytes:
    head = b"HTTP/1.1 " + status.encode() + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n"
    if content_type:
        head += b"Content-Type: " + content_type + b"\r\n"
    if close:
        head += b"Connection: close\r\n"
    return head + b"\r\n" + body


OK = response("200 OK")
OK_CLOSE = response("200 OK", close=True)
UNAUTHORIZED = response("401 Unauthorized")
UNAUTHORIZED_CLOSE = response("401 Unauthorized", close=True)
NOT_FOUND = response("404 Not Found")
NOT_FOUND_CLOSE = response("404 Not Found", close=True)
BAD_REQUEST_CLOSE = response("400 Bad Request", close=True)
TOO_LARGE_CLOSE = response("413 Content Too Large", close=True)


class Stats:
    """Counts shared by every connection (one thread: the event loop's)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.erase_requests = 0  # received, signature good (or not checked): answered 200 after the delay
        self.answered = 0  # 200s written so far (a connection closed early loses its pending ones)
        self.unauthorized = 0  # answered 401 (signature missing or wrong)
        self.without_user_id = 0  # answered 200, but no `"user_id": <digits>` found in the body
        self.other_requests = 0  # any other method or path (404), /stats and /reset excluded
        self.batch_requests = 0  # batched requests answered with results
        self.batch_events = 0  # events in them
        self.user_ids: set[int] = set()
        self.connections = 0  # accepted since start or reset

    def as_json(self) -> bytes:
        return json.dumps(
            {
                "erase_requests": self.erase_requests,
                "answered": self.answered,
                "distinct_user_ids": len(self.user_ids),
                "unauthorized": self.unauthorized,
                "without_user_id": self.without_user_id,
                "other_requests": self.other_requests,
                "batch_requests": self.batch_requests,
                "batch_events": self.batch_events,
                "connections": self.connections,
            },
            separators=(",", ":"),
        ).encode()


class Connection(asyncio.Protocol):
    """One client connection: parses requests, queues the answers in order, sends each when due."""

    def __init__(self, server: WebhookServer) -> None:
        self.server = server
        self.loop = server.loop
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        # Answers in request order: [ready, bytes, close_after]; sent from the head once ready.
        self.pending: collections.deque[list] = collections.deque()
        self.closing = False
        self._url = b""
        self._signature: bytes | None = None
        self._expect_continue = False
        self._body: list[bytes] = []
        self._body_len = 0

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.server.stats.connections += 1

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade):
            if not self.closing:
                self.queue(BAD_REQUEST_CLOSE, delay=0.0, close=True)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.pending.clear()

    # httptools callbacks

    def on_message_begin(self) -> None:
        self._url = b""
        self._signature = None
        self._expect_continue = False
        self._body = []
        self._body_len = 0

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        lower = name.lower()
        if lower == SIGNATURE_HEADER:
            self._signature = value
        elif lower == b"expect" and value.lower() == b"100-continue":
            self._expect_continue = True

    def on_headers_complete(self) -> None:
        # Only when no answer is queued: an interim answer must not overtake earlier ones.
        if self._expect_continue and not self.pending and self.transport is not None:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self._body_len += len(body)
        if self._body_len > MAX_BODY:
            self.queue(TOO_LARGE_CLOSE, delay=0.0, close=True)
            raise httptools.HttpParserError("body too large")
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self.closing:
            return
        server = self.server
        stats = server.stats
        method = self.parser.get_method()
        keep_alive = self.parser.should_keep_alive()
        path = self._url.split(b"?", 1)[0]
        if method == b"POST" and path in (server.path, server.batch_path):
            body = b"".join(self._body)
            if server.secret is not None and not server.signature_ok(body, self._signature):
                stats.unauthorized += 1
                self.queue(UNAUTHORIZED if keep_alive else UNAUTHORIZED_CLOSE, server.delay, not keep_alive)
            elif path == server.batch_path:
                self.answer_batch(body, keep_alive)
            else:
                self.answer_one(body, keep_alive)
        elif method == b"GET" and path == b"/stats":
            self.queue(
                response("200 OK", stats.as_json(), b"application/json", close=not keep_alive),
                delay=0.0,
                close=not keep_alive,
            )
        elif method == b"POST" and path == b"/reset":
            stats.reset()
            self.queue(OK if keep_alive else OK_CLOSE, delay=0.0, close=not keep_alive)
        else:
            stats.other_requests += 1
            self.queue(NOT_FOUND if keep_alive else NOT_FOUND_CLOSE, delay=0.0, close=not keep_alive)

    def answer_one(self, body: bytes, keep_alive: bool) -> None:
        stats = self.server.stats
        stats.erase_requests += 1
        match = USER_ID.search(body)
        if match is None:
            stats.without_user_id += 1
        else:
            stats.user_ids.add(int(match.group(1)))
        self.queue(OK if keep_alive else OK_CLOSE, self.server.delay, not keep_alive, count=True)

    def answer_batch(self, body: bytes, keep_alive: bool) -> None:
        """One `erased` result per event of a batched request (docs/contract.md#webhook-batches)."""
        stats = self.server.stats
        ids = EVENT_ID.findall(body)
        stats.batch_requests += 1
        stats.batch_events += len(ids)
        stats.user_ids.update(int(match) for match in USER_ID.findall(body))
        results = b",".join(b'{"event_id":"' + event_id + b'","outcome":"erased"}' for event_id in ids)
        answer = response(
            "200 OK", b'{"results":[' + results + b"]}", b"application/json", close=not keep_alive
        )
        self.queue(answer, self.server.delay, not keep_alive, count=True)

    # answers

    def queue(self, data: bytes, delay: float, close: bool, count: bool = False) -> None:
        entry = [False, data, close, count]
        self.pending.append(entry)
        if close:
            self.closing = True
        if delay > 0:
            self.loop.call_later(delay, self.ready, entry)
        else:
            self.ready(entry)

    def ready(self, entry: list) -> None:
        entry[0] = True
        transport = self.transport
        pending = self.pending
        while pending and pending[0][0]:
            _, data, close, count = pending.popleft()
            if transport is None or transport.is_closing():
                pending.clear()
                return
            transport.write(data)
            if count:
                self.server.stats.answered += 1
            if close:
                pending.clear()
                transport.close()
                return


class WebhookServer:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        latency_ms: float,
        path: str,
        secret: str | None,
        batch_path: str = "/erase-batch",
    ):
        self.loop = loop
        self.delay = latency_ms / 1000.0
        self.path = path.encode()
        self.batch_path = batch_path.encode()
        self.secret = secret.encode() if secret is not None else None
        self.stats = Stats()

    def signature_ok(self, body: bytes, header: bytes | None) -> bool:
        if header is None or self.secret is None:
            return False
        expected = b"sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest().encode()
        return hmac.compare_digest(expected, header.strip())


async def serve(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    server = WebhookServer(loop, args.latency_ms, args.path, args.secret, args.batch_path)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    listener = await loop.create_server(lambda: Connection(server), sock=sock, backlog=args.backlog)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if not args.ignore_stdin:
        # A thread, not connect_read_pipe: stdin may be a file, a terminal or /dev/null. It reads
        # the descriptor, not sys.stdin, whose lock would abort the interpreter's shutdown.
        def wait_for_eof() -> None:
            try:
                while os.read(0, 65536):
                    pass
            except OSError:
                pass
            loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=wait_for_eof, name="stdin-eof", daemon=True).start()
    port = sock.getsockname()[1]
    print(f"LISTENING {port}", flush=True)
    await stop.wait()
    listener.close()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="delay before each answer (50)")
    parser.add_argument("--path", default="/erase", help="path of the erase endpoint (default /erase)")
    parser.add_argument(
        "--batch-path", default="/erase-batch", help="path of the batched endpoint (/erase-batch)"
    )
    parser.add_argument("--secret", default=None, help="check X-Retirement-Signature with this secret")
    parser.add_argument("--backlog", type=int, default=4096, help="listen backlog (4096)")
    parser.add_argument("--ignore-stdin", action="store_true", help="do not exit at the end of stdin")
    args = parser.parse_args(argv)
    if args.latency_ms < 0:
        parser.error("--latency-ms must be >= 0")
    for name, value in (("--path", args.path), ("--batch-path", args.batch_path)):
        if not value.startswith("/") or value in ("/stats", "/reset"):
            parser.error(f"{name} must start with / and must not be /stats or /reset")
    if args.path == args.batch_path:
        parser.error("--path and --batch-path must differ")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    uvloop.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
