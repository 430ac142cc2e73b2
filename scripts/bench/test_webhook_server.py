"""webhook_server.py as a separate process, over real sockets."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import http.client
import json
import signal
import socket
import time

# The contract's worked example (docs/contract.md#webhook-example): body and the deprecated
# X-Retirement-Signature with the example's key `retirement-consumer-example-key!`.
EXAMPLE_BODY = (
    b'{"email":"orig@foo.invalid","event_id":"168726d1-9e87-59dd-861f-1be5dcbb6eaf",'
    b'"requested_at":"2018-10-18T20:35:52.349757Z",'
    b'"retired_email":"retired__user_d0891fd1b3f5d37c7f6c@retired.invalid",'
    b'"retired_username":"retired__user_88ad1f6f5ac2d2d26b4e","user_id":5213599,"username":"retirement_test"}'
)
EXAMPLE_SIGNATURE = "sha256=173893d2e2944a36cd14b8f69ae5669680a5940b691a04789e44560b9f5f38b0"
EXAMPLE_KEY = "retirement-consumer-example-key!"
# Slack above the configured delay for a loaded 2-core machine.
SLACK = 0.25


def body(user_id: int) -> bytes:
    return json.dumps({"email": "e@x.invalid", "event_id": f"id-{user_id}", "user_id": user_id}).encode()


def post(conn: http.client.HTTPConnection, data: bytes, headers: dict | None = None) -> tuple[int, float]:
    started = time.monotonic()
    conn.request("POST", "/erase", body=data, headers={"Content-Type": "application/json", **(headers or {})})
    reply = conn.getresponse()
    reply.read()
    return reply.status, time.monotonic() - started


def test_answers_after_the_latency_and_counts_on_one_keep_alive_connection(webhook_server):
    server = webhook_server("--latency-ms", "50")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    elapsed = []
    for user_id in [1, 2, 3, 4, 5] * 2:
        status, seconds = post(conn, body(user_id))
        assert status == 200
        elapsed.append(seconds)
    conn.close()
    assert min(elapsed) >= 0.049, elapsed
    assert max(elapsed) < 0.05 + SLACK, elapsed
    stats = server.stats()
    assert stats["erase_requests"] == 10
    assert stats["answered"] == 10
    assert stats["distinct_user_ids"] == 5
    assert stats["without_user_id"] == 0
    assert stats["connections"] == 2  # the keep-alive connection and the /stats request


def test_delays_overlap_across_connections(webhook_server):
    server = webhook_server("--latency-ms", "200")

    async def one(user_id: int) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        data = body(user_id)
        writer.write(
            b"POST /erase HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(data)
            + data
        )
        answer = await reader.read()
        writer.close()
        return answer

    async def all_of_them() -> list[bytes]:
        return await asyncio.gather(*(one(user_id) for user_id in range(100)))

    started = time.monotonic()
    answers = asyncio.run(all_of_them())
    seconds = time.monotonic() - started
    assert all(answer.startswith(b"HTTP/1.1 200 OK\r\n") for answer in answers)
    assert all(b"Connection: close" in answer for answer in answers)
    assert 0.2 <= seconds < 0.2 + 2 * SLACK  # 100 × 200 ms one after another would be 20 s
    stats = server.stats()
    assert stats["erase_requests"] == 100
    assert stats["distinct_user_ids"] == 100


def test_pipelined_answers_keep_request_order(webhook_server):
    server = webhook_server("--latency-ms", "100")
    data = body(7)
    erase = b"POST /erase HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(data), data)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        # The 404 is ready at once but must wait behind the first erase.
        sock.sendall(erase + b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n" + erase)
        received = b""
        while received.count(b"HTTP/1.1 ") < 3:
            chunk = sock.recv(65536)
            assert chunk, received
            received += chunk
    statuses = [part.split(b"\r\n", 1)[0] for part in received.split(b"HTTP/1.1 ")[1:]]
    assert statuses == [b"200 OK", b"404 Not Found", b"200 OK"]
    stats = server.stats()
    assert (stats["erase_requests"], stats["distinct_user_ids"], stats["other_requests"]) == (2, 1, 1)


def test_checks_the_signature_with_a_secret(webhook_server):
    server = webhook_server("--latency-ms", "0", "--secret", EXAMPLE_KEY)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    assert post(conn, EXAMPLE_BODY, {"X-Retirement-Signature": EXAMPLE_SIGNATURE})[0] == 200
    wrong = "sha256=" + hmac.new(b"other", EXAMPLE_BODY, hashlib.sha256).hexdigest()
    assert post(conn, EXAMPLE_BODY, {"X-Retirement-Signature": wrong})[0] == 401
    assert post(conn, EXAMPLE_BODY)[0] == 401
    assert post(conn, EXAMPLE_BODY + b" ", {"X-Retirement-Signature": EXAMPLE_SIGNATURE})[0] == 401
    conn.close()
    stats = server.stats()
    assert (stats["erase_requests"], stats["unauthorized"], stats["distinct_user_ids"]) == (1, 3, 1)


def test_batched_requests_get_one_result_per_event(webhook_server):
    server = webhook_server("--latency-ms", "20")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    batch = b'{"events":[' + b",".join(body(user_id) for user_id in (7, 8, 9)) + b"]}"
    started = time.monotonic()
    conn.request("POST", "/erase-batch", body=batch, headers={"Content-Type": "application/json"})
    reply = conn.getresponse()
    answer = json.loads(reply.read())
    assert reply.status == 200 and time.monotonic() - started >= 0.019
    assert answer == {"results": [{"event_id": f"id-{n}", "outcome": "erased"} for n in (7, 8, 9)]}
    conn.close()
    stats = server.stats()
    assert (stats["batch_requests"], stats["batch_events"], stats["distinct_user_ids"]) == (1, 3, 3)


def test_reset_and_body_without_user_id(webhook_server):
    server = webhook_server("--latency-ms", "0")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    assert post(conn, b'{"user_id": "42"}')[0] == 200
    assert server.stats()["without_user_id"] == 1
    conn.request("POST", "/reset")
    reply = conn.getresponse()
    reply.read()
    assert reply.status == 200
    conn.close()
    stats = server.stats()
    assert (stats["erase_requests"], stats["without_user_id"], stats["distinct_user_ids"]) == (0, 0, 0)


def test_exits_at_end_of_stdin(webhook_server):
    server = webhook_server("--latency-ms", "0")
    server.process.stdin.close()
    assert server.process.wait(timeout=5) == 0


def test_exits_on_sigterm_and_ignores_stdin_when_asked(webhook_server):
    server = webhook_server("--latency-ms", "0", "--ignore-stdin")
    server.process.stdin.close()
    time.sleep(0.3)
    assert server.process.poll() is None
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=5) == 0


def test_answers_garbage_with_400_and_closes(webhook_server):
    server = webhook_server("--latency-ms", "0")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"Connection: close" in received


def test_answers_expect_100_continue_before_the_body(webhook_server):
    server = webhook_server("--latency-ms", "0")
    data = body(9)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(
            b"POST /erase HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n"
            % len(data)
        )
        assert sock.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(data)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
    assert server.stats()["distinct_user_ids"] == 1
