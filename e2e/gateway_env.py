"""A gateway under test: the real `portcullis serve` on free loopback ports, in front of a small
upstream (HTTP + WebSocket echo) and a JWKS served over HTTP, with tokens minted by joserfc.

Every process and server started here is stopped by the fixture that started it, also when a
test fails; processes run in their own process group and whatever is still running when pytest
exits (an interrupted run, a fixture that never reached its teardown) is killed by `atexit`."""
import atexit
import http.server
import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import requests
from joserfc import jwt
from joserfc.jwk import RSAKey

ISSUER_PATH = "/realms/test"
AUDIENCE = "portcullis"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_LIVE: set[subprocess.Popen] = set()


def wait_port(port: int, timeout: float = 10):
    """Returns once something accepts connections on 127.0.0.1:`port`; raises after `timeout`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing accepts connections on port {port}")


def spawn(args: list[str], log, env: dict | None = None, cwd=None) -> subprocess.Popen:
    """Starts a process in its own process group (so `stop` reaches its children too), output to `log`."""
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True)
    _LIVE.add(process)
    return process


def stop(process: subprocess.Popen, timeout: float = 15) -> int:
    """SIGTERM to the process group, SIGKILL after `timeout`; returns the exit status."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # anything left in the group, the leader included
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()
    _LIVE.discard(process)
    return process.returncode


@atexit.register
def _kill_leftovers():
    for process in list(_LIVE):
        if process.poll() is not None:
            continue
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class Upstream:
    """An HTTP/1.1 upstream that reports what it received.

    GET/POST/... any path  -> 200 JSON {method, path, headers, body_bytes}
    /slow?delay=S          -> waits S seconds first
    /download?size=N       -> N bytes streamed with Content-Length
    /upload (POST/PUT)     -> reads the body in chunks (Content-Length or chunked), answers its size
    .../status/NNN         -> that status with a JSON body
    (the behaviour is chosen by the path's last segment, whatever the prefix)
    /drop                  -> closes the connection without answering
    /chunked?size=N        -> N bytes in chunks of up to 1000 (Transfer-Encoding: chunked)
    /until-close?size=N    -> N bytes without a length, then the upstream closes the connection
    /bad-framing           -> a head with both Content-Length and Transfer-Encoding (never valid)
    """

    def __init__(self):
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # The head and the body are two writes: with Nagle's algorithm the body waits for
            # the gateway's delayed ACK (40 ms a request on keep-alive connections).
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def _read_body(self) -> int:
                total = 0
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    while True:
                        size = int(self.rfile.readline().strip().split(b";")[0], 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return total
                        remaining = size
                        while remaining:
                            chunk = self.rfile.read(min(remaining, 1 << 16))
                            if not chunk:
                                return total
                            remaining -= len(chunk)
                            total += len(chunk)
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length", "0") or 0)
                while length:
                    chunk = self.rfile.read(min(length, 1 << 16))
                    if not chunk:
                        break
                    length -= len(chunk)
                    total += len(chunk)
                return total

            def _handle(self):
                path, _, query = self.path.partition("?")
                path = "/" + path.rsplit("/", 1)[-1] if not path.startswith("/status/") else path  # the last segment names the behaviour
                params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
                if path == "/drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if path == "/slow":
                    time.sleep(float(params.get("delay", "1")))
                body_bytes = self._read_body()
                record = {"method": self.command, "path": self.path, "headers": dict(self.headers.items()),
                          "header_list": list(self.headers.items()), "body_bytes": body_bytes}
                with upstream.lock:
                    upstream.requests.append(record)
                if path == "/chunked":
                    size = int(params.get("size", "0"))
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    while size:
                        n = min(size, 1000)
                        self.wfile.write(b"%x\r\n" % n + b"c" * n + b"\r\n")
                        size -= n
                    self.wfile.write(b"0\r\nX-Trailer: dropped\r\n\r\n")
                    return
                if path == "/until-close":
                    self.close_connection = True
                    self.send_response(200)
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(b"u" * int(params.get("size", "0")))
                    return
                if path == "/bad-framing":
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
                    return
                if path == "/download":
                    size = int(params.get("size", "0"))
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(size))
                    self.end_headers()
                    block = b"x" * (1 << 16)
                    while size:
                        n = min(size, len(block))
                        self.wfile.write(block[:n])
                        size -= n
                    return
                status = 200
                if "/status/" in path:
                    status = int(path.rsplit("/", 1)[1])
                body = json.dumps(record).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def last(self) -> dict:
        with self.lock:
            return self.requests[-1]

    def count(self) -> int:
        with self.lock:
            return len(self.requests)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class WebSocketEcho:
    """A WebSocket echo server (the `websockets` library) counting the upgrades it accepted."""

    def __init__(self):
        from websockets.sync.server import serve

        self.connections = 0
        self.seen_headers: list[dict] = []

        def handler(ws):
            self.connections += 1
            self.seen_headers.append(dict(ws.request.headers.raw_items()))
            for message in ws:
                ws.send(message)

        self.server = serve(handler, "127.0.0.1", 0)
        self.port = self.server.socket.getsockname()[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


class Issuer:
    """An RSA key, its JWKS served on loopback, and tokens shaped like Keycloak's."""

    def __init__(self):
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig", "alg": "RS256"})
        self.jwks = {"keys": [self.key.as_dict(private=False)]}
        issuer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = json.dumps(issuer.jwks).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}{ISSUER_PATH}"
        self.jwks_uri = f"http://127.0.0.1:{self.port}{ISSUER_PATH}/protocol/openid-connect/certs"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, roles=(), sub="user-1", lifetime=300, **extra) -> str:
        now = int(time.time())
        claims = {"iss": self.url, "aud": AUDIENCE, "sub": sub, "iat": now, "exp": now + lifetime,
                  "preferred_username": sub, "realm_access": {"roles": list(roles)}}
        claims.update(extra)
        return jwt.encode({"alg": "RS256", "kid": "test-key", "typ": "JWT"}, claims, self.key)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Gateway:
    """`portcullis serve` with a generated routes.yaml; stopped (and checked stopped) on close."""

    def __init__(self, binary: Path, workdir: Path, config: str, env: dict | None = None, wait_ready: bool = True):
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.admin_port = free_port()
        self.config_path = workdir / "routes.yaml"
        self.write_config(config)
        self.log_path = workdir / f"gateway-{self.port}.log"
        environment = {k: v for k, v in os.environ.items() if k not in ("AUTH_REQUIRED", "AUTHZ_REQUIRED", "OPA_REQUIRED")}
        # SwiftNIO's strict mode: misuse it only warns about (a task scheduled on a loop that has
        # shut down) crashes the gateway instead, so a test sees it.
        environment["SWIFTNIO_STRICT"] = "1"
        environment.update(env or {})
        self.log = open(self.log_path, "wb")
        self.process = spawn([str(binary), "serve", "--config", str(self.config_path)], self.log, env=environment, cwd=workdir)
        self.base = f"http://127.0.0.1:{self.port}"
        self.admin = f"http://127.0.0.1:{self.admin_port}"
        try:
            self._wait_listening()
            if wait_ready:
                self.wait_ready()
        except BaseException:
            self.close()
            raise

    def write_config(self, config: str):
        text = config.replace("{PORT}", str(self.port)).replace("{ADMIN_PORT}", str(self.admin_port))
        self.config_path.write_text(text)

    def _wait_listening(self, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.process.returncode}:\n{self.output()}")
            try:
                requests.get(self.admin + "/healthz", timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.05)
        raise RuntimeError(f"gateway did not start:\n{self.output()}")

    def wait_ready(self, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if requests.get(self.admin + "/readyz", timeout=2).status_code == 200:
                return
            time.sleep(0.05)
        raise RuntimeError(f"gateway not ready:\n{requests.get(self.admin + '/readyz').text}\n{self.output()}")

    def wait_ready_status(self, status: int, timeout=10):
        """Waits until the keys are fetched (status shows the issuer usable), then expects /readyz to answer `status`."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            issuers = requests.get(self.admin + "/v1/status", timeout=2).json()["issuers"]
            if all(i["usable"] for i in issuers):
                break
            time.sleep(0.05)
        assert requests.get(self.admin + "/readyz", timeout=2).status_code == status

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def signal(self, sig):
        self.process.send_signal(sig)

    def close(self):
        stop(self.process)
        self.log.close()


def raw_request(port: int, data: bytes, timeout=5.0) -> bytes:
    """Sends bytes as they are and returns everything the gateway answers before closing (or the timeout)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except socket.timeout:
            pass
        return b"".join(chunks)


def status_of(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/") else 0
