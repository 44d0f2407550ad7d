"""End-to-end tests of `portcullis serve` (issue 5): the real binary on loopback sockets in front of
a Python upstream, tokens minted by joserfc, the default policy bundle (rego-lite/policies)."""
import base64
import json
import os
import signal
import socket
import threading
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from conftest import ROOT, binary_path
from gateway_env import Gateway, WebSocketEcho, free_port, raw_request, status_of

POLICY_DIR = ROOT / "rego-lite" / "policies"

CONFIG = """
listen: 127.0.0.1:{PORT}
admin: {listen: 127.0.0.1:{ADMIN_PORT}}
shutdown_grace: 10s
issuers:
  - issuer: ISSUER
    jwks_uri: JWKS
    audiences: [portcullis]
    algorithms: [RS256]
policy:
  directory: POLICY
routes:
  - id: devices
    match: {path_prefix: [/devices, /api/devices]}
    upstream: {urls: [http://127.0.0.1:UP]}
    strip_prefix: /api
    limits: {max_body_bytes: 1KiB}
  - id: commands
    match: {path_prefix: [/commands, /api/commands]}
    upstream: {urls: [http://127.0.0.1:UP]}
    strip_prefix: /api
  - id: ingest
    match: {path_prefix: /ingest}
    upstream: {urls: [http://127.0.0.1:UP], read_timeout: 30s}
    limits: {max_body_bytes: 200MiB}
  - id: analytics
    match: {path_prefix: /analytics}
    upstream: {urls: [http://127.0.0.1:UP], read_timeout: 1s}
  - id: notifications
    match: {path_prefix: /notify}
    upstream: {urls: [http://127.0.0.1:DEAD], connect_timeout: 1s, retries: 0}
  - id: ws-hub
    match: {path_prefix: /ws}
    upstream: {urls: [http://127.0.0.1:WS]}
    websocket: {token_query: access_token}
  - id: auth
    match: {path_prefix: /auth, methods: [GET, POST]}
    upstream: {urls: [http://127.0.0.1:UP]}
    auth: {mode: public}
"""


def config_text(issuer, upstream, ws, policy=POLICY_DIR, extra=""):
    return (CONFIG.replace("ISSUER", issuer.url).replace("JWKS", issuer.jwks_uri).replace("POLICY", str(policy))
            .replace("UP", str(upstream.port)).replace("DEAD", str(free_port())).replace("WS", str(ws.port)) + extra)


@pytest.fixture(scope="module")
def ws_echo():
    w = WebSocketEcho()
    yield w
    w.stop()


@pytest.fixture(scope="module")
def gateway(issuer, upstream, ws_echo, tmp_path_factory):
    g = Gateway(binary_path(), tmp_path_factory.mktemp("gw"), config_text(issuer, upstream, ws_echo))
    yield g
    g.close()


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert len(response.headers["X-Request-ID"]) > 0
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


# --- allow / deny through the default policy ---------------------------------------------------

def test_viewer_reads_devices_and_upstream_sees_normalized_stripped_path(gateway, issuer, upstream):
    r = requests.get(gateway.base + "/api/devices/d-42?x=1", headers=auth(issuer.token(["viewer"], sub="u-7")))
    assert r.status_code == 200
    seen = r.json()
    assert seen["path"] == "/devices/d-42?x=1"
    assert seen["headers"]["X-Auth-Subject"] == "u-7"
    assert seen["headers"]["X-Auth-Roles"] == "viewer"
    assert seen["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert r.headers["X-Request-ID"] == seen["headers"]["x-request-id"]
    assert float(r.headers["X-Process-Time"]) >= 0


def test_each_route_gets_its_own_identity_headers_on_one_connection(issuer, upstream, ws_echo, tmp_path):
    """One connection, one token, two routes: the identity header lines a connection keeps for its
    token belong to the route they were made for."""
    text = config_text(issuer, upstream, ws_echo).replace(
        "  - id: commands\n    match: {path_prefix: [/commands, /api/commands]}\n",
        "  - id: commands\n    match: {path_prefix: [/commands, /api/commands]}\n    identity_headers: {X-Caller: sub}\n")
    g = Gateway(binary_path(), tmp_path, text)
    try:
        token = issuer.token(["operator"], sub="u-9")
        with requests.Session() as session:
            for _ in range(2):
                devices = session.get(g.base + "/devices/d-1", headers=auth(token))
                assert devices.status_code == 200, devices.text
                assert devices.json()["headers"]["X-Auth-Subject"] == "u-9"
                assert "X-Caller" not in devices.json()["headers"]
                commands = session.post(g.base + "/commands", headers=auth(token), data=b"{}")
                assert commands.status_code == 200, commands.text
                assert commands.json()["headers"]["X-Caller"] == "u-9"
                assert not any(k.lower().startswith("x-auth-") for k in commands.json()["headers"])
    finally:
        g.close()


def test_a_token_that_expires_fails_on_the_connection_that_kept_it(issuer, upstream, ws_echo, tmp_path):
    """A connection re-confirms its kept token instead of looking it up again: once the token
    expires, the next request on that same connection is a 401 `expired`."""
    text = config_text(issuer, upstream, ws_echo).replace("    algorithms: [RS256]\n", "    algorithms: [RS256]\n    leeway: 0s\n", 1)
    g = Gateway(binary_path(), tmp_path, text)
    try:
        minted = int(time.time())
        token = issuer.token(["viewer"], lifetime=2)  # exp = minted + 2
        with requests.Session() as session:
            for _ in range(3):
                assert session.get(g.base + "/devices/d-1", headers=auth(token)).status_code == 200
            time.sleep(max(0.0, minted + 2 + 1.1 - time.time()))
            r = session.get(g.base + "/devices/d-1", headers=auth(token))
            assert_error(r, 401, "invalid_token")
            assert 'error_description="expired"' in r.headers["WWW-Authenticate"]
    finally:
        g.close()


def test_operator_creates_a_command_but_may_not_ack_it(gateway, issuer):
    token = issuer.token(["operator"])
    assert requests.post(gateway.base + "/commands", headers=auth(token), data=b"{}").status_code == 200
    error = assert_error(requests.patch(gateway.base + "/commands/c-1/ack", headers=auth(token)), 403, "forbidden")
    assert "reasons" in error["details"]


def test_viewer_may_not_write(gateway, issuer):
    assert_error(requests.post(gateway.base + "/devices", headers=auth(issuer.token(["viewer"])), data=b"{}"), 403, "forbidden")


# --- every gateway error, with its JSON ---------------------------------------------------------

def test_missing_token_is_401_with_a_bearer_challenge(gateway):
    r = requests.get(gateway.base + "/devices")
    assert_error(r, 401, "missing_token")
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("case", ["expired", "wrong_audience", "wrong_issuer", "tampered", "alg_none", "garbage"])
def test_invalid_tokens_are_401_with_their_description(gateway, issuer, case):
    if case == "expired":
        token, code = issuer.token(["admin"], iat=int(time.time()) - 1000, exp=int(time.time()) - 500), "expired"
    elif case == "wrong_audience":
        token, code = issuer.token(["admin"], aud="someone-else"), "wrong_audience"
    elif case == "wrong_issuer":
        token, code = issuer.token(["admin"], iss="https://evil.example/realms/x"), "wrong_issuer"
    elif case == "tampered":
        header, payload, sig = issuer.token(["viewer"]).split(".")
        import base64
        claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
        claims["realm_access"]["roles"] = ["admin"]
        forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        token, code = f"{header}.{forged}.{sig}", "bad_signature"
    elif case == "alg_none":
        import base64
        h = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
        p = issuer.token(["admin"]).split(".")[1]
        token, code = f"{h}.{p}.", "unsupported_alg"
    else:
        token, code = "not-a-token", "malformed"
    r = requests.get(gateway.base + "/devices", headers=auth(token))
    error = assert_error(r, 401, "invalid_token")
    assert f'error_description="{code}"' in r.headers["WWW-Authenticate"]
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    assert error["details"]["reason"] == code


def test_no_route_is_404(gateway):
    assert_error(requests.get(gateway.base + "/nothing-here"), 404, "not_found")


def test_method_outside_the_route_is_405_with_allow(gateway):
    r = requests.delete(gateway.base + "/auth/x")
    assert_error(r, 405, "method_not_allowed")
    assert r.headers["Allow"] == "GET, POST"


def test_body_over_the_route_limit_is_413(gateway, issuer):
    r = requests.post(gateway.base + "/devices", headers=auth(issuer.token(["admin"])), data=b"x" * 2048)
    assert_error(r, 413, "payload_too_large")


def test_chunked_body_over_the_limit_is_413(gateway, issuer):
    def chunks():
        for _ in range(4):
            yield b"y" * 600
    r = requests.post(gateway.base + "/devices", headers=auth(issuer.token(["admin"])), data=chunks())
    assert_error(r, 413, "payload_too_large")


def test_upstream_down_is_502(gateway, issuer):
    assert_error(requests.get(gateway.base + "/notify", headers=auth(issuer.token(["viewer"]))), 502, "upstream_unavailable")


def test_slow_upstream_is_504(gateway, issuer):
    started = time.time()
    r = requests.get(gateway.base + "/analytics/slow?delay=3", headers=auth(issuer.token(["viewer"])))
    assert_error(r, 504, "upstream_timeout")
    assert time.time() - started < 2.5


def test_a_short_read_timeout_holds_on_a_connection_a_longer_one_used_first(gateway, issuer):
    """Read timeouts are watched per upstream connection, which routes share: a connection whose
    last exchange had 30 s (ingest) still times out a 1 s route (analytics) after about 1 s."""
    with requests.Session() as session:
        for _ in range(4):  # every upstream connection of both event loops has served ingest
            r = session.post(gateway.base + "/ingest/upload", data=b"x", headers=auth(issuer.token(["device"])))
            assert r.status_code == 200, r.text
        started = time.time()
        r = session.get(gateway.base + "/analytics/slow?delay=3", headers=auth(issuer.token(["viewer"])))
        assert_error(r, 504, "upstream_timeout")
        assert time.time() - started < 2.5


def test_encoded_slash_is_400(gateway):
    assert_error(requests.get(gateway.base + "/devices%2f..%2fadmin"), 400, "bad_request")


def test_keys_unavailable_and_policy_unavailable_are_503(issuer, upstream, ws_echo, tmp_path):
    broken_policy = tmp_path / "policy"
    broken_policy.mkdir()
    (broken_policy / "authz.rego").write_text("package systemupdate.authz\nallow if {\n")
    dead = f"http://127.0.0.1:{free_port()}/certs"
    text = config_text(issuer, upstream, ws_echo, policy=broken_policy).replace(issuer.jwks_uri, dead)
    g = Gateway(binary_path(), tmp_path, text, wait_ready=False)
    try:
        assert requests.get(g.admin + "/readyz").status_code == 503
        r = requests.get(g.base + "/devices", headers=auth(issuer.token(["admin"])))
        assert_error(r, 503, "keys_unavailable")
        r = requests.get(g.base + "/auth/login")  # public route: no token, but the policy is required
        assert_error(r, 503, "policy_unavailable")
        status = requests.get(g.admin + "/v1/status").json()
        assert status["policy"]["last_error"]
        assert status["issuers"][0]["usable"] is False
    finally:
        g.close()


# --- request smuggling and malformed requests -------------------------------------------------

SMUGGLING = {
    "cl_and_te": b"POST /auth/x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "differing_cl": b"POST /auth/x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
    "cl_list": b"POST /auth/x HTTP/1.1\r\nHost: a\r\nContent-Length: 4, 5\r\n\r\nabcde",
    "te_not_chunked": b"POST /auth/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    "obs_fold": b"GET /auth/x HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n",
    "bad_header_byte": b"GET /auth/x HTTP/1.1\r\nHost: a\r\nX-Bad: a\x01b\r\n\r\n",
    "space_before_colon": b"GET /auth/x HTTP/1.1\r\nHost: a\r\nContent-Length : 4\r\n\r\nabcd",
    "no_host": b"GET /auth/x HTTP/1.1\r\n\r\n",
    "two_hosts": b"GET /auth/x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "bare_lf": b"GET /auth/x HTTP/1.1\nHost: a\n\n",
    "bare_cr": b"GET /auth/x HTTP/1.1\r\nHost: a\r\nX-Bad: a\rb\r\n\r\n",
    "nul_in_value": b"GET /auth/x HTTP/1.1\r\nHost: a\r\nX-Bad: a\x00b\r\n\r\n",
    "two_spaces_in_request_line": b"GET  /auth/x HTTP/1.1\r\nHost: a\r\n\r\n",
    "http_2_preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "te_on_http_1_0": b"POST /auth/x HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(SMUGGLING))
def test_smuggling_and_malformed_requests_are_400(gateway, upstream, name):
    before = upstream.count()
    raw = raw_request(gateway.port, SMUGGLING[name])
    assert status_of(raw) == 400, raw[:300]
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower()
    assert json.loads(body)["error"]["code"] == "bad_request"
    assert upstream.count() == before


def test_oversized_headers_are_refused(gateway):
    raw = raw_request(gateway.port, b"GET /auth/x HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n")
    assert status_of(raw) == 400


def split_responses(raw: bytes) -> list:
    """(status, headers, body) for each response in a byte stream with Content-Length framing."""
    out = []
    while raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (l.decode().partition(":") for l in lines[1:])}
        length = int(headers.get("content-length", "0"))
        out.append((int(lines[0].split(b" ")[1]), headers, rest[:length]))
        raw = rest[length:]
    return out


def test_pipelined_requests_are_answered_in_order(gateway, issuer, upstream):
    """Five requests in one write: proxied, refused by routing, proxied, denied by the policy with
    a body, proxied. Each answer in order; the denied one never reaches the upstream, and its
    small body is read and dropped, so the connection goes on to the fifth."""
    token = issuer.token(["viewer"])
    body = b"x" * 200
    data = (f"GET /api/devices/p-1 HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {token}\r\nX-Request-ID: pipe-1\r\n\r\n"
            f"GET /nowhere HTTP/1.1\r\nHost: a\r\nX-Request-ID: pipe-2\r\n\r\n"
            f"GET /devices/p-3 HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {token}\r\nX-Request-ID: pipe-3\r\n\r\n"
            f"POST /devices/p-4 HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {token}\r\nX-Request-ID: pipe-4\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body + (
            f"GET /devices/p-5 HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {token}\r\nX-Request-ID: pipe-5\r\n"
            f"Connection: close\r\n\r\n").encode()
    before = upstream.count()
    responses = split_responses(raw_request(gateway.port, data))
    assert [(status, headers["x-request-id"]) for status, headers, _ in responses] == [
        (200, "pipe-1"), (404, "pipe-2"), (200, "pipe-3"), (403, "pipe-4"), (200, "pipe-5")]
    assert json.loads(responses[0][2])["path"] == "/devices/p-1"
    assert json.loads(responses[2][2])["path"] == "/devices/p-3"
    assert json.loads(responses[4][2])["path"] == "/devices/p-5"
    assert "connection" not in responses[3][1]
    assert upstream.count() == before + 3


def test_a_connection_reuses_a_decision_only_for_the_same_identity_and_request(gateway, issuer, upstream):
    """Decisions are cached per connection (docs/ROUTES.md, `decision_cache`). On one connection:
    the viewer's denial is not reused for the operator's identical request, nor the operator's
    allow for the viewer's; a request without a token is still refused; repeats are hits."""
    viewer, operator = issuer.token(["viewer"]), issuer.token(["operator"])

    def metric(name):
        text = requests.get(gateway.admin + "/metrics").text
        return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples if s.name == name)

    hits, misses = metric("portcullis_decision_cache_hits_total"), metric("portcullis_decision_cache_misses_total")
    sequence = [("POST", "/commands", viewer, "c-1"), ("POST", "/commands", operator, "c-2"),
                ("POST", "/commands", viewer, "c-3"), ("POST", "/commands", None, "c-4"),
                ("POST", "/commands", operator, "c-5"), ("GET", "/devices/d-1", viewer, "c-6"),
                ("GET", "/devices/d-1", viewer, "c-7")]
    data = b""
    for i, (method, path, token, rid) in enumerate(sequence):
        lines = [f"{method} {path} HTTP/1.1", "Host: a", f"X-Request-ID: {rid}", "Content-Length: 0"]
        if token:
            lines.append(f"Authorization: Bearer {token}")
        if i == len(sequence) - 1:
            lines.append("Connection: close")
        data += ("\r\n".join(lines) + "\r\n\r\n").encode()
    responses = split_responses(raw_request(gateway.port, data))
    assert [(status, headers["x-request-id"]) for status, headers, _ in responses] == [
        (403, "c-1"), (200, "c-2"), (403, "c-3"), (401, "c-4"), (200, "c-5"), (200, "c-6"), (200, "c-7")]
    # A token's identity is made once and shared (it lives with the token's cache entry): c-3 and
    # c-5 repeat c-1 and c-2 with the same identity objects, and c-7 repeats c-6 (hits); c-1, c-2
    # and c-6 are misses.
    assert metric("portcullis_decision_cache_hits_total") - hits == 3
    assert metric("portcullis_decision_cache_misses_total") - misses == 3


# --- upstream response framing ------------------------------------------------------------------

def test_upstream_response_framings_reach_the_client_whole(gateway, issuer):
    """The gateway reads upstream responses itself (ResponseParser) and frames their bodies again:
    chunked and close-delimited bodies reach an HTTP/1.1 client chunked on a connection that stays
    usable, an HTTP/1.0 client gets the body until the close, HEAD gets a head only."""
    token = issuer.token(["viewer"])
    with requests.Session() as session:
        for path, char in [("/devices/chunked?size=5500", b"c"), ("/devices/until-close?size=4321", b"u")]:
            r = session.get(gateway.base + path, headers=auth(token))
            assert r.status_code == 200, r.text
            assert r.content == char * int(path.rsplit("=", 1)[1])
            assert r.headers["Transfer-Encoding"] == "chunked" and "X-Trailer" not in r.headers
            assert r.headers["X-Request-ID"]
        assert session.get(gateway.base + "/devices/d-1", headers=auth(token)).status_code == 200
    raw = raw_request(gateway.port, f"GET /devices/chunked?size=2500 HTTP/1.0\r\nHost: a\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200") and b"chunked" not in head.lower() and b"connection: close" in head.lower()
    assert body == b"c" * 2500
    r = requests.head(gateway.base + "/devices/d-1", headers=auth(token))
    assert r.status_code == 200 and r.content == b"" and int(r.headers["Content-Length"]) > 0


def test_an_upstream_response_with_ambiguous_framing_is_502(gateway, issuer):
    r = requests.get(gateway.base + "/devices/bad-framing", headers=auth(issuer.token(["viewer"])))
    assert_error(r, 502, "upstream_unavailable")


# --- path normalization -------------------------------------------------------------------------

@pytest.mark.parametrize("path,upstream_path", [
    ("/auth/../devices/d-1", "/devices/d-1"),
    ("/auth/%2e%2e/devices/d-1", "/devices/d-1"),
    ("//devices///d-1", "/devices/d-1"),
    ("/api/devices/./d-1", "/devices/d-1"),
    ("/%64evices/d-1", "/devices/d-1"),
])
def test_normalized_path_decides_the_route_and_reaches_the_upstream(gateway, issuer, upstream, path, upstream_path):
    # Without a token: the devices route (auth required) answers, never the public auth route.
    raw = raw_request(gateway.port, f"GET {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".encode())
    assert status_of(raw) == 401
    raw = raw_request(gateway.port, f"GET {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
                                    f"Authorization: Bearer {issuer.token(['viewer'])}\r\n\r\n".encode())
    assert status_of(raw) == 200
    assert upstream.last()["path"] == upstream_path


def test_path_escaping_the_root_is_400(gateway):
    raw = raw_request(gateway.port, b"GET /auth/../../etc/passwd HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert status_of(raw) == 400


# --- identity headers ---------------------------------------------------------------------------

@pytest.mark.parametrize("path,roles", [("/devices/d-1", ["viewer"]), ("/auth/login", None)])
def test_client_sent_identity_headers_never_reach_the_upstream(gateway, issuer, upstream, path, roles):
    headers = {"X-Auth-Subject": "admin", "x-auth-roles": "admin", "X-Auth-Issuer": "me"}
    if roles:
        headers.update(auth(issuer.token(roles, sub="real-user")))
    r = requests.get(gateway.base + path, headers=headers)
    assert r.status_code == 200
    received = [(k.lower(), v) for k, v in upstream.last()["header_list"]]
    subjects = [v for k, v in received if k == "x-auth-subject"]
    assert subjects == (["real-user"] if roles else [])
    assert ("x-auth-roles", "admin") not in received
    assert ("x-auth-issuer", "me") not in received


# --- streaming ----------------------------------------------------------------------------------

def test_100_mb_upload_streams_with_bounded_memory(gateway, issuer, upstream):
    size = 100 * 1024 * 1024
    block = b"z" * (1 << 20)
    peak = [0]

    def body():
        for i in range(size // len(block)):
            if i % 10 == 0:
                peak[0] = max(peak[0], gateway.rss_kb())
            yield block

    before = gateway.rss_kb()
    r = requests.post(gateway.base + "/ingest/upload", headers=auth(issuer.token(["device"])), data=body())
    assert r.status_code == 200, r.text
    assert r.json()["body_bytes"] == size
    assert peak[0] - before < 40 * 1024, f"gateway RSS grew by {(peak[0] - before) // 1024} MB"


def test_100_mb_download_streams_with_bounded_memory(gateway, issuer):
    size = 100 * 1024 * 1024
    before = gateway.rss_kb()
    peak = before
    received = 0
    with requests.get(gateway.base + f"/analytics/download?size={size}", headers=auth(issuer.token(["viewer"])), stream=True) as r:
        assert r.status_code == 200
        for i, chunk in enumerate(r.iter_content(1 << 20)):
            received += len(chunk)
            if i % 10 == 0:
                peak = max(peak, gateway.rss_kb())
                time.sleep(0.01)  # a slow reader: the gateway must not buffer what it cannot send
    assert received == size
    assert peak - before < 40 * 1024, f"gateway RSS grew by {(peak - before) // 1024} MB"


# --- WebSocket ----------------------------------------------------------------------------------

def test_websocket_echo_and_ping_through_the_gateway(gateway, issuer, ws_echo):
    from websockets.sync.client import connect

    url = f"ws://127.0.0.1:{gateway.port}/ws/room-1"
    with connect(url, additional_headers=auth(issuer.token(["viewer"]))) as ws:
        ws.send("hello")
        assert ws.recv(timeout=5) == "hello"
        ws.send(b"\x00\x01binary")
        assert ws.recv(timeout=5) == b"\x00\x01binary"
        pong = ws.ping(b"p")
        assert pong.wait(timeout=5)
    # A browser passes the token as a query parameter; the upstream never sees it.
    with connect(url + "?access_token=" + issuer.token(["viewer"]) + "&room=1") as ws:
        ws.send("again")
        assert ws.recv(timeout=5) == "again"


def test_a_frame_sent_with_the_upgrade_request_reaches_the_upstream_after_the_101(gateway, issuer, ws_echo):
    """A client that sends its first frame in the same write as its upgrade request: the frame
    waits for the upstream's 101 and then goes through the tunnel (it is not read as HTTP)."""
    key = base64.b64encode(os.urandom(16)).decode()
    mask = os.urandom(4)
    payload = b"early"
    frame = bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    request = (f"GET /ws/room-1 HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               f"Authorization: Bearer {issuer.token(['viewer'])}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as s:
        s.sendall(request + frame)
        data = b""
        while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < 2 + len(payload):
            chunk = s.recv(65536)
            assert chunk, f"closed early: {data!r}"
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    assert rest[:2 + len(payload)] == bytes([0x81, len(payload)]) + payload  # the echo, unmasked


def test_denied_websocket_upgrade_never_reaches_the_upstream(gateway, issuer, ws_echo):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    before = ws_echo.connections
    with pytest.raises(InvalidStatus) as missing:
        connect(f"ws://127.0.0.1:{gateway.port}/ws/room-1")
    assert missing.value.response.status_code == 401
    with pytest.raises(InvalidStatus) as forbidden:
        connect(f"ws://127.0.0.1:{gateway.port}/ws/room-1", additional_headers=auth(issuer.token(["device"])))
    assert forbidden.value.response.status_code == 403
    assert ws_echo.connections == before


# --- admin listener -----------------------------------------------------------------------------

def test_status_reports_revisions_issuers_and_routes(gateway, issuer):
    status = requests.get(gateway.admin + "/v1/status").json()
    assert status["ready"] is True
    assert status["policy"]["revision"]
    assert status["config"]["revision"] >= 1
    assert status["issuers"][0]["issuer"] == issuer.url and status["issuers"][0]["usable"] is True
    assert {r["id"] for r in status["routes"]} >= {"devices", "commands", "ws-hub", "auth"}


def test_metrics_parse_and_count_what_happened(gateway, issuer):
    def families():
        text = requests.get(gateway.admin + "/metrics").text
        return {f.name: f for f in text_string_to_metric_families(text)}

    def value(fams, name, **labels):
        total = 0.0
        for family in fams.values():
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    total += sample.value
        return total

    before = families()
    viewer = issuer.token(["viewer"])
    with requests.Session() as session:  # one connection: the second and third decisions are reused
        for _ in range(3):
            session.get(gateway.base + "/devices/d-1", headers=auth(viewer))
    requests.get(gateway.base + "/devices/d-1")
    after = families()
    assert value(after, "portcullis_requests_total", route="devices", status="200") - \
        value(before, "portcullis_requests_total", route="devices", status="200") == 3
    assert value(after, "portcullis_authentication_failures_total", code="missing_token") - \
        value(before, "portcullis_authentication_failures_total", code="missing_token") == 1
    assert value(after, "portcullis_decisions_total", result="allow") > value(before, "portcullis_decisions_total", result="allow")
    assert value(after, "portcullis_request_duration_seconds_count", route="devices") >= 4
    assert value(after, "portcullis_jwt_verification_duration_seconds_count") > 0
    assert value(after, "portcullis_policy_evaluation_duration_seconds_count") > 0
    assert value(after, "portcullis_decision_cache_hits_total") > value(before, "portcullis_decision_cache_hits_total")
    assert value(after, "portcullis_jwks_fetches_total") >= 1
    assert "portcullis_active_connections" in after


# --- reload and shutdown ------------------------------------------------------------------------

def hammer(url, headers, stop, results):
    session = requests.Session()
    while not stop.is_set():
        try:
            results.append(session.get(url, headers=headers, timeout=5).status_code)
        except requests.RequestException as e:
            results.append(repr(e))


def test_reload_under_load_loses_no_request(issuer, upstream, ws_echo, tmp_path):
    text = config_text(issuer, upstream, ws_echo)
    g = Gateway(binary_path(), tmp_path, text)
    try:
        stop, results = threading.Event(), []
        threads = [threading.Thread(target=hammer, args=(g.base + "/devices/d-1", auth(issuer.token(["viewer"])), stop, results))
                   for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        for i in range(5):
            g.write_config(text + f"\n# revision {i}\n")
            r = requests.post(g.admin + "/v1/config/reload")
            assert r.status_code == 200 and r.json()["reloaded"] is True
            time.sleep(0.1)
        g.signal(signal.SIGHUP)
        time.sleep(0.3)
        # An invalid file is refused and the running configuration stays.
        g.write_config(text + "\nroutes_typo: []\n")
        bad = requests.post(g.admin + "/v1/config/reload")
        assert bad.status_code == 400 and "routes_typo" in bad.json()["error"]["message"]
        time.sleep(0.2)
        stop.set()
        for t in threads:
            t.join()
        assert len(results) > 20
        assert set(results) == {200}, [r for r in results if r != 200][:5]
        assert requests.get(g.admin + "/v1/status").json()["config"]["revision"] >= 7
    finally:
        g.close()


def test_sigterm_lets_in_flight_requests_finish(issuer, upstream, ws_echo, tmp_path):
    text = config_text(issuer, upstream, ws_echo).replace("read_timeout: 1s", "read_timeout: 10s")
    g = Gateway(binary_path(), tmp_path, text)
    token = issuer.token(["viewer"])
    results = []

    def slow():
        try:
            results.append(requests.get(g.base + "/analytics/slow?delay=1.5", headers=auth(token), timeout=10).status_code)
        except requests.RequestException as e:
            results.append(repr(e))

    threads = [threading.Thread(target=slow) for _ in range(5)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    g.signal(signal.SIGTERM)
    for t in threads:
        t.join()
    assert results == [200] * 5
    assert g.process.wait(timeout=15) == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(g.base + "/auth/x", timeout=2)
    g.close()


def test_tunnel_idle_timeout_and_close_on_token_expiry(issuer, upstream, ws_echo, tmp_path):
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    text = config_text(issuer, upstream, ws_echo).replace(
        "websocket: {token_query: access_token}",
        "websocket: {token_query: access_token, idle_timeout: 1s, close_on_token_expiry: true}")
    g = Gateway(binary_path(), tmp_path, text)
    try:
        url = f"ws://127.0.0.1:{g.port}/ws/room-1"
        # Idle: no frame either way for idle_timeout closes the tunnel.
        with connect(url, additional_headers=auth(issuer.token(["viewer"]))) as ws:
            ws.send("x")
            assert ws.recv(timeout=5) == "x"
            started = time.time()
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=5)
            assert 0.8 < time.time() - started < 3
        # Token expiry: traffic keeps the tunnel busy, the expiry still closes it with 1008.
        with connect(url, additional_headers=auth(issuer.token(["viewer"], lifetime=2))) as ws:
            deadline = time.time() + 6
            with pytest.raises(ConnectionClosed) as closed:
                while time.time() < deadline:
                    ws.send("ping")
                    ws.recv(timeout=2)
                    time.sleep(0.2)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    finally:
        g.close()
