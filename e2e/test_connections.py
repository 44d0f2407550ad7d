"""End-to-end tests of how connections survive: upstreams that close after every response
(HTTP/1.0 servers such as `python3 -m http.server`, and `Connection: close` on HTTP/1.1), and
client connections kept across answers the gateway gives before it read the request body."""
import concurrent.futures
import http.server
import socket
import sys
import threading
import time

import pytest
import requests

from conftest import binary_path
from gateway_env import Gateway, free_port, spawn, stop, wait_port
from test_gateway import POLICY_DIR

# One event loop: upstream pools are per loop, and the tests count upstream connections.
CONFIG = """
listen: 127.0.0.1:{PORT}
admin: {listen: 127.0.0.1:{ADMIN_PORT}}
workers: 1
issuers:
  - issuer: ISSUER
    jwks_uri: JWKS
    audiences: [portcullis]
    algorithms: [RS256]
policy:
  directory: POLICY
routes:
  - id: http10
    match: {path_prefix: /h10}
    upstream: {urls: [http://127.0.0.1:H10]}
    strip_prefix: /h10
    auth: {mode: public}
    policy: {mode: "off"}
  - id: closing
    match: {path_prefix: /close}
    upstream: {urls: [http://127.0.0.1:CLOSING]}
    auth: {mode: public}
    policy: {mode: "off"}
  - id: early
    match: {path_prefix: /early}
    upstream: {urls: [http://127.0.0.1:EARLY]}
    auth: {mode: public}
    policy: {mode: "off"}
  - id: devices
    match: {path_prefix: /devices}
    upstream: {urls: [http://127.0.0.1:CLOSING]}
    limits: {max_body_bytes: 100MiB}
"""


class ClosingUpstream:
    """HTTP/1.1 that answers `Connection: close` and closes after every response."""

    def __init__(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length", "0") or 0)
                if length:
                    self.rfile.read(length)
                body = self.path.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            do_GET = do_POST = _handle

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class EarlyUpstream:
    """Answers each request as soon as its head arrives, then reads its body (as nginx's `return`
    and many applications that refuse early do), keeping the connection. Records what it got."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.received = []
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        buffer = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                length = next((int(v) for k, _, v in (l.partition(":") for l in lines[1:]) if k.lower() == "content-length"), 0)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nearly")
                while len(buffer) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                self.received.append((lines[0].split(" ")[1], buffer[:length]))
                buffer = buffer[length:]

    def stop(self):
        self.listener.close()


@pytest.fixture(scope="module")
def early():
    u = EarlyUpstream()
    yield u
    u.stop()


@pytest.fixture(scope="module")
def served_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    (root / "hello.txt").write_text("hello from an HTTP/1.0 server\n")
    return root


@pytest.fixture(scope="module")
def http10(served_dir, tmp_path_factory):
    """Python's own `python3 -m http.server`: HTTP/1.0, one response per connection."""
    port = free_port()
    log = open(tmp_path_factory.mktemp("h10") / "server.log", "w")
    process = spawn([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(served_dir)], log)
    wait_port(port)
    yield port
    stop(process)
    log.close()


@pytest.fixture(scope="module")
def closing():
    u = ClosingUpstream()
    yield u
    u.stop()


@pytest.fixture(scope="module")
def gateway(issuer, http10, closing, early, tmp_path_factory):
    config = (CONFIG.replace("ISSUER", issuer.url).replace("JWKS", issuer.jwks_uri).replace("POLICY", str(POLICY_DIR))
              .replace("H10", str(http10)).replace("CLOSING", str(closing.port)).replace("EARLY", str(early.port)))
    g = Gateway(binary_path(), tmp_path_factory.mktemp("gw"), config)
    yield g
    g.close()


def assert_alive(gateway):
    assert gateway.process.poll() is None, gateway.output()[-3000:]


# --- upstreams that close after each response ---------------------------------------------------

@pytest.mark.parametrize("path,expected", [("/h10/hello.txt", b"hello from an HTTP/1.0 server\n"), ("/close/x-1", b"/close/x-1")])
def test_a_thousand_keep_alive_requests_through_an_upstream_that_closes_each_time(gateway, path, expected):
    """The client keeps one connection; the gateway opens a new upstream connection for each
    request because the upstream closes after every response."""
    with requests.Session() as session:
        for i in range(1000):
            r = session.get(gateway.base + path, timeout=10)
            assert (r.status_code, r.content) == (200, expected), f"request {i}: {r.status_code} {r.text[:200]}"
    assert_alive(gateway)


@pytest.mark.parametrize("path", ["/h10/hello.txt", "/close/y"])
def test_64_concurrent_clients_through_an_upstream_that_closes_each_time(gateway, path):
    def client(n):
        with requests.Session() as session:
            return [session.get(gateway.base + path, timeout=20).status_code for _ in range(20)]

    with concurrent.futures.ThreadPoolExecutor(64) as pool:
        statuses = [s for result in pool.map(client, range(64)) for s in result]
    assert statuses == [200] * (64 * 20)
    assert_alive(gateway)


# --- connections kept across early answers ------------------------------------------------------

def read_response(sock) -> tuple[int, dict, bytes]:
    """One response with Content-Length framing from a socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the connection closed before a response head: {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.decode().partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "the connection closed inside a response body"
        rest += chunk
    assert len(rest) == length, "bytes beyond the response: nothing else was asked for yet"
    return int(lines[0].split(b" ")[1]), headers, rest


def post_head(path, token, length, request_id):
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (f"POST {path} HTTP/1.1\r\nHost: a\r\n{auth}X-Request-ID: {request_id}\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {length}\r\n\r\n").encode()


def test_a_denied_post_with_a_small_body_keeps_the_connection(gateway, issuer):
    """403 (the viewer may not write) and 401 (no token), each answered before its 1 KiB body was
    read: the bodies are read and dropped, and the next request on the connection is answered."""
    viewer = issuer.token(["viewer"])
    body = b"b" * 1024
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as s:
        s.sendall(post_head("/devices/d-1", viewer, len(body), "deny-1") + body)
        status, headers, _ = read_response(s)
        assert (status, headers["x-request-id"]) == (403, "deny-1")
        assert "connection" not in headers
        s.sendall(post_head("/devices/d-2", None, len(body), "deny-2") + body)
        status, headers, _ = read_response(s)
        assert (status, headers["x-request-id"]) == (401, "deny-2")
        assert "connection" not in headers
        s.sendall(b"GET /close/after HTTP/1.1\r\nHost: a\r\nX-Request-ID: next\r\n\r\n")
        status, headers, payload = read_response(s)
        assert (status, headers["x-request-id"], payload) == (200, "next", b"/close/after")


def test_a_body_sent_after_the_denial_is_dropped_and_the_connection_kept(gateway, issuer):
    """The client waits for the answer before sending its body (as with `Expect: 100-continue`
    ignored): the body that follows is not taken for the next request."""
    viewer = issuer.token(["viewer"])
    body = b"GET /close/smuggled HTTP/1.1\r\nHost: a\r\n\r\n".ljust(1024, b"x")
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as s:
        s.sendall(post_head("/devices/d-3", viewer, len(body), "later-1"))
        status, _, _ = read_response(s)
        assert status == 403
        s.sendall(body)
        s.sendall(b"GET /close/real HTTP/1.1\r\nHost: a\r\nX-Request-ID: later-2\r\n\r\n")
        status, headers, payload = read_response(s)
        assert (status, headers["x-request-id"], payload) == (200, "later-2", b"/close/real")


def test_a_denied_50_mib_upload_is_closed_without_reading_it(gateway, issuer):
    viewer = issuer.token(["viewer"])
    size = 50 * 1024 * 1024
    sent = 0
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as s:
        s.sendall(post_head("/devices/d-4", viewer, size, "big"))
        status, headers, _ = read_response(s)
        assert status == 403
        assert headers["connection"] == "close"
        block = b"z" * 65536
        closed = False
        try:
            while sent < size:
                sent += s.send(block)
        except (BrokenPipeError, ConnectionResetError):
            closed = True
        if not closed:
            try:
                closed = s.recv(1) == b""
            except ConnectionResetError:
                closed = True
        assert closed, "the gateway read the whole 50 MiB"
    assert sent < size


def test_a_slow_rest_of_a_body_closes_the_connection(gateway, issuer):
    """A denied request whose small body does not arrive within `discard_body_timeout` (1 s): the
    connection closes instead of waiting for it."""
    viewer = issuer.token(["viewer"])
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as s:
        s.sendall(post_head("/devices/d-5", viewer, 1000, "slow") + b"x" * 10)
        status, _, _ = read_response(s)
        assert status == 403
        started = time.monotonic()
        try:
            assert s.recv(1) == b""
        except ConnectionResetError:
            pass
        assert time.monotonic() - started < 5
    assert_alive(gateway)


def test_an_upstream_that_answers_before_the_body_gets_the_body_and_keeps_both_connections(gateway, early):
    """The response reaches the client before the client sent its body: the body still goes to
    the upstream, and the next request uses the same client and upstream connections."""
    before = (len(early.received), early.connections)
    body = b"q" * 1000
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as s:
        s.sendall(b"POST /early/a HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n")
        status, headers, payload = read_response(s)
        assert (status, payload) == (200, b"early")
        assert "connection" not in headers
        s.sendall(body)
        s.sendall(b"GET /early/b HTTP/1.1\r\nHost: a\r\n\r\n")
        status, _, payload = read_response(s)
        assert (status, payload) == (200, b"early")
    deadline = time.time() + 5
    while len(early.received) < before[0] + 2 and time.time() < deadline:
        time.sleep(0.02)
    assert early.received[before[0]:] == [("/early/a", body), ("/early/b", b"")]
    assert early.connections == before[1] + 1, "one upstream connection for both requests"
    assert_alive(gateway)


def test_an_early_answer_on_a_closing_client_connection_still_keeps_the_upstream_one(gateway, early):
    """The client asked to close: its connection closes after the response, but the rest of its
    body still reaches the upstream, whose connection serves the next client."""
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as s:
        s.sendall(b"GET /early/warm HTTP/1.1\r\nHost: a\r\n\r\n")
        assert read_response(s)[0] == 200
    deadline = time.time() + 5
    while ("/early/warm", b"") not in early.received and time.time() < deadline:
        time.sleep(0.02)  # the upstream records a request after answering it
    before = (len(early.received), early.connections)
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as s:
        s.sendall(b"POST /early/c HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 500\r\n\r\n")
        status, headers, _ = read_response(s)
        assert (status, headers.get("connection")) == (200, "close")
        s.sendall(b"w" * 500)
        assert s.recv(1) == b""
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as s:
        s.sendall(b"GET /early/d HTTP/1.1\r\nHost: a\r\n\r\n")
        assert read_response(s)[0] == 200
    deadline = time.time() + 5
    while len(early.received) < before[0] + 2 and time.time() < deadline:
        time.sleep(0.02)
    assert early.received[before[0]:] == [("/early/c", b"w" * 500), ("/early/d", b"")]
    assert early.connections == before[1], "no new upstream connection"
