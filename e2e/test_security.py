"""Security end-to-end tests: the whole local system as `make demo` runs it — the dev issuer
(`portcullis idp`), the upstream stubs (`portcullis stubs`) and the gateway with the root
routes.yaml and the default policy bundle — driven with independent clients (requests,
websockets, joserfc). Forged tokens are signed here with the issuer's own key (the issuer is
started with a key this module generated), so only the property under test is wrong.
"""
import base64
import hashlib
import hmac
import json
import time
import uuid

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from prometheus_client.parser import text_string_to_metric_families

from conftest import binary_path
from gateway_env import Gateway
from security_env import DevIdP, Realm, Stack, Stubs, routes_for, rsa_private_key_pem

AUDIENCE = "portcullis"


# --- fixtures: one issuer + stubs + gateway for the module, more where a test changes state ------

@pytest.fixture(scope="module")
def realm():
    return Realm()


@pytest.fixture(scope="module")
def signing_key_pem():
    return rsa_private_key_pem()


@pytest.fixture(scope="module")
def stubs(tmp_path_factory):
    s = Stubs(binary_path(), tmp_path_factory.mktemp("stubs"))
    yield s
    s.close()


@pytest.fixture(scope="module")
def stack(realm, stubs, signing_key_pem, tmp_path_factory):
    s = Stack(binary_path(), tmp_path_factory.mktemp("stack"), realm, stubs, key_pem=signing_key_pem)
    yield s
    s.close()


@pytest.fixture(scope="module")
def idp(stack):
    return stack.idp


@pytest.fixture(scope="module")
def tokens(idp):
    """One password-grant token per role user, fetched once."""
    return {user: idp.token(user) for user in ("admin", "operator", "viewer", "approver")}


class Forger:
    """Re-signs real tokens of the dev issuer with changed claims or headers, with the issuer's own
    private key (trusted by the gateway) or with any other key."""

    def __init__(self, pem: bytes, idp: DevIdP):
        private = serialization.load_pem_private_key(pem, password=None)
        n = private.public_key().public_numbers().n
        n64 = b64(n.to_bytes((n.bit_length() + 7) // 8, "big"))
        kids = [k["kid"] for k in idp.jwks()["keys"] if k.get("n") == n64]
        assert kids, "the dev issuer does not publish the key it was started with (--key)"
        self.kid = kids[0]
        self.key = RSAKey.import_key(pem, parameters={"kid": self.kid})
        self.public_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                            serialization.PublicFormat.SubjectPublicKeyInfo)

    def resign(self, token: str, key=None, header: dict | None = None, **claims) -> str:
        payload = decode_part(token.split(".")[1])
        payload.update(claims)
        head = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        head.update(header or {})
        return jwt.encode(head, payload, key or self.key)


@pytest.fixture(scope="module")
def forger(signing_key_pem, idp):
    return Forger(signing_key_pem, idp)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def decode_part(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def assert_gateway_error(response, status: int, code: str) -> dict:
    """The gateway's own error: JSON {"error": {code, message[, details]}}, a request id, and for
    401 an RFC 6750 challenge."""
    assert response.status_code == status, f"{response.status_code} {response.text}"
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers.get("X-Request-ID"), "every gateway error carries X-Request-ID"
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) <= {"code", "message", "details"} and error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"]
    if status == 401:
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith("Bearer "), challenge
    return error


def echo_headers(response) -> dict[str, list[str]]:
    """Headers as the stub's /echo received them, lower-cased names -> every value."""
    seen: dict[str, list[str]] = {}
    for name, value in response.json()["header_list"]:
        seen.setdefault(name.lower(), []).append(value)
    return seen


@pytest.fixture(scope="module")
def command_id(stack, tokens):
    """A command created by the operator through the gateway (the seed's first step)."""
    r = requests.post(stack.base + "/commands", headers=bearer(tokens["operator"]),
                      json={"device_id": "d-1", "command": "reboot"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


# --- the dev issuer: Keycloak's protocol, checked independently -------------------------------

def test_dev_issuer_token_verifies_with_joserfc_against_the_jwks_fetched_over_http(idp, realm):
    discovery = requests.get(f"{idp.realm_url}/.well-known/openid-configuration", timeout=5).json()
    assert discovery["issuer"] == idp.realm_url
    assert discovery["token_endpoint"] == idp.token_url
    jwks = requests.get(discovery["jwks_uri"], timeout=5).json()
    token = idp.token("operator")
    decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["RS256"])
    assert decoded.header["alg"] == "RS256"
    assert decoded.header["kid"] in {k["kid"] for k in jwks["keys"]}
    claims = decoded.claims
    now = time.time()
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": idp.issuer}, exp={"essential": True},
                          iat={"essential": True}, sub={"essential": True}, jti={"essential": True}).validate(claims)
    assert claims["iat"] - 5 <= now < claims["exp"]
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    assert AUDIENCE in audiences
    uuid.UUID(claims["sub"])
    assert claims["typ"] == "Bearer"
    assert claims["azp"] == realm.password_client()["clientId"]
    assert claims["preferred_username"] == "operator"
    assert isinstance(claims["scope"], str)
    assert set(realm.user("operator").get("realmRoles", [])) <= set(claims["realm_access"]["roles"])


def test_token_response_has_keycloaks_fields(idp):
    body = idp.password_grant("viewer").json()
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0
    assert body["access_token"].count(".") == 2


@pytest.mark.parametrize("case", ["bad_password", "unknown_user"])
def test_bad_credentials_are_keycloaks_invalid_grant_401(idp, case):
    r = idp.password_grant("operator", password="not-the-password") if case == "bad_password" else \
        idp.password_grant("nobody-" + uuid.uuid4().hex[:6], password="x")
    assert r.status_code == 401
    assert r.json() == {"error": "invalid_grant", "error_description": "Invalid user credentials"}


def test_disabled_user_is_keycloaks_account_disabled_400(idp, realm):
    user = realm.disabled_user()
    r = idp.password_grant(user, password=realm.password(user))
    assert r.status_code == 400
    assert r.json() == {"error": "invalid_grant", "error_description": "Account disabled"}


def test_client_credentials_grant_issues_a_service_token(idp, realm):
    r = idp.client_credentials()
    assert r.status_code == 200, r.text
    claims = decode_part(r.json()["access_token"].split(".")[1])
    assert claims["azp"] == realm.service_client()["clientId"]
    roles = set(claims.get("realm_access", {}).get("roles", []))
    for client in claims.get("resource_access", {}).values():
        roles |= set(client.get("roles", []))
    assert "service" in roles


def test_client_credentials_with_http_basic_auth(idp, realm):
    client = realm.service_client()
    r = requests.post(idp.token_url, data={"grant_type": "client_credentials"},
                      auth=(client["clientId"], client["secret"]), timeout=10)
    assert r.status_code == 200, r.text


def test_wrong_client_secret_is_keycloaks_unauthorized_client_401(idp):
    r = idp.client_credentials(secret="wrong-secret")
    assert r.status_code == 401
    assert r.json() == {"error": "unauthorized_client", "error_description": "Invalid client or Invalid client credentials"}


# --- allow and deny per role through the gateway -------------------------------------------------

ROLE_MATRIX = [
    # user, method, path, allowed by the default policy
    ("viewer", "GET", "/devices", True),
    ("viewer", "GET", "/api/devices/d-1", True),
    ("viewer", "POST", "/devices", False),
    ("viewer", "GET", "/commands", True),
    ("viewer", "POST", "/commands", False),
    ("viewer", "PATCH", "/commands/{command}/ack", False),
    ("operator", "GET", "/devices/d-1", True),
    ("operator", "POST", "/api/devices", True),
    ("operator", "POST", "/commands", True),
    ("operator", "GET", "/commands/{command}", True),
    ("operator", "PATCH", "/commands/{command}/ack", False),
    ("admin", "GET", "/devices", True),
    ("admin", "POST", "/devices", True),
    ("admin", "POST", "/commands", True),
    ("admin", "PATCH", "/commands/{command}/ack", True),
    # approver: realm role viewer + the client role commands-approver (resource_access.portcullis.roles)
    ("approver", "PATCH", "/commands/{command}/ack", True),
    ("approver", "POST", "/commands", False),
]


@pytest.mark.parametrize("user,method,path,allowed", ROLE_MATRIX,
                         ids=[f"{u}-{m}-{p.replace('/', '_')}" for u, m, p, _ in ROLE_MATRIX])
def test_role_matrix_on_devices_and_commands(stack, tokens, command_id, user, method, path, allowed):
    body = {"device_id": "d-1", "command": "reboot"} if path.endswith("commands") else \
        {"id": f"d-{uuid.uuid4().hex[:6]}", "name": "e2e device"} if method == "POST" else None
    r = requests.request(method, stack.base + path.format(command=command_id), headers=bearer(tokens[user]),
                         json=body)
    if allowed:
        assert 200 <= r.status_code < 300, f"{user} {method} {path}: {r.status_code} {r.text}"
    else:
        assert_gateway_error(r, 403, "forbidden")


def test_seed_flow_operator_creates_a_command_then_may_not_ack_it(stack, tokens):
    operator = bearer(tokens["operator"])
    created = requests.post(stack.base + "/commands", headers=operator, json={"device_id": "d-1", "command": "reboot"})
    assert created.status_code == 201, created.text
    command = created.json()["id"]
    denied = requests.patch(f"{stack.base}/commands/{command}/ack", headers=operator)
    error = assert_gateway_error(denied, 403, "forbidden")
    assert isinstance(error["details"]["reasons"], list)
    # The admin may acknowledge the same command: the denial was the role, not the command.
    assert requests.patch(f"{stack.base}/commands/{command}/ack", headers=bearer(tokens["admin"])).status_code == 200


def test_seed_flow_denial_names_the_policy_reason_with_the_decision_query(stack, stubs, tokens, tmp_path):
    """With the policy's `decision` rule as the route query, the 403 carries its reason."""
    text = routes_for(stack.idp.port, stubs.base_port).replace(
        "  query: data.systemupdate.authz.allow", "  query: data.systemupdate.authz.decision")
    assert "authz.decision" in text
    g = Gateway(binary_path(), tmp_path, text)
    try:
        operator = bearer(tokens["operator"])
        created = requests.post(g.base + "/commands", headers=operator, json={"device_id": "d-1", "command": "reboot"})
        assert created.status_code == 201, created.text
        denied = requests.patch(f"{g.base}/commands/{created.json()['id']}/ack", headers=operator)
        error = assert_gateway_error(denied, 403, "forbidden")
        assert any("commands:ack" in reason for reason in error["details"]["reasons"]), error
    finally:
        g.close()


def test_service_account_may_send_notifications_only(stack, idp):
    service = bearer(idp.client_credentials("service").json()["access_token"])
    r = requests.post(stack.base + "/notify", headers=service, json={"to": "ops", "message": "e2e"})
    assert r.status_code == 201, r.text
    assert_gateway_error(requests.get(stack.base + "/devices", headers=service), 403, "forbidden")
    assert_gateway_error(requests.post(stack.base + "/ingest", headers=service, json={}), 403, "forbidden")


def test_device_account_may_send_telemetry_only(stack, idp):
    device = bearer(idp.client_credentials("device").json()["access_token"])
    r = requests.post(stack.base + "/ingest", headers=device, json={"device_id": "d-1", "metrics": {"temp": 21.5}})
    assert 200 <= r.status_code < 300, r.text
    assert_gateway_error(requests.get(stack.base + "/devices", headers=device), 403, "forbidden")


# --- authentication failures: each forgery is 401 with its reason ---------------------------------

def test_no_token_is_401_missing_token(stack):
    r = requests.get(stack.base + "/devices")
    assert_gateway_error(r, 401, "missing_token")


def forged_token(case: str, forger: Forger, honest: str) -> str:
    header, payload, signature = honest.split(".")
    now = int(time.time())
    if case == "expired":
        return forger.resign(honest, iat=now - 900, exp=now - 600)
    if case == "wrong_audience":
        return forger.resign(honest, aud="someone-else", azp="someone-else")
    if case == "wrong_issuer":
        return forger.resign(honest, iss="http://127.0.0.1:1/realms/evil")
    if case == "alg_none":
        return f"{b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{payload}."
    if case == "hs256_with_the_public_key":
        head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": forger.kid}).encode())
        mac = hmac.new(forger.public_pem, f"{head}.{payload}".encode(), hashlib.sha256).digest()
        return f"{head}.{payload}.{b64(mac)}"
    if case == "tampered_payload":
        claims = decode_part(payload)
        claims["realm_access"]["roles"] = ["admin"]
        return f"{header}.{b64(json.dumps(claims).encode())}.{signature}"
    if case == "signed_by_another_key":
        return forger.resign(honest, key=RSAKey.generate_key(2048))
    if case == "unknown_kid":
        return forger.resign(honest, header={"kid": "not-a-key-of-this-issuer"})
    if case == "garbage":
        return "not-a-token"
    raise AssertionError(case)


FORGERIES = {
    "expired": "expired",
    "wrong_audience": "wrong_audience",
    "wrong_issuer": "wrong_issuer",
    "alg_none": "unsupported_alg",
    "hs256_with_the_public_key": "unsupported_alg",
    "tampered_payload": "bad_signature",
    "signed_by_another_key": "bad_signature",
    "unknown_kid": "unknown_kid",
    "garbage": "malformed",
}


def test_the_forger_signs_tokens_the_gateway_accepts(stack, forger, tokens):
    """The control for the table below: the same re-signing with only the claims kept is accepted."""
    r = requests.get(stack.base + "/devices", headers=bearer(forger.resign(tokens["viewer"])))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("case", sorted(FORGERIES))
def test_forged_token_is_401_with_its_description(stack, forger, tokens, case):
    r = requests.get(stack.base + "/devices", headers=bearer(forged_token(case, forger, tokens["viewer"])))
    error = assert_gateway_error(r, 401, "invalid_token")
    challenge = r.headers["WWW-Authenticate"]
    assert 'error="invalid_token"' in challenge
    assert f'error_description="{FORGERIES[case]}"' in challenge, challenge
    assert error["details"]["reason"] == FORGERIES[case]


# --- gateway error JSON on every error it makes ----------------------------------------------

@pytest.mark.parametrize("method,path,status,code", [
    ("GET", "/nothing-here", 404, "not_found"),
    ("GET", "/devices%2f..%2fadmin", 400, "bad_request"),
    ("GET", "/devices", 401, "missing_token"),
])
def test_gateway_errors_are_json_with_a_request_id(stack, method, path, status, code):
    assert_gateway_error(requests.request(method, stack.base + path), status, code)


# --- request ids and identity headers reach the upstream as they should ------------------------

def test_client_request_id_reaches_the_stub_and_comes_back(stack, tokens):
    rid = "e2e-" + uuid.uuid4().hex
    r = requests.get(stack.base + "/devices/echo", headers={**bearer(tokens["viewer"]), "X-Request-ID": rid})
    assert r.status_code == 200, r.text
    assert r.headers["X-Request-ID"] == rid
    assert echo_headers(r)["x-request-id"] == [rid]


def test_request_id_is_minted_when_absent_or_malformed(stack, tokens):
    for sent in (None, "bad id with spaces " + "x" * 200):
        headers = bearer(tokens["viewer"]) | ({"X-Request-ID": sent} if sent else {})
        r = requests.get(stack.base + "/devices/echo", headers=headers)
        assert r.status_code == 200, r.text
        minted = r.headers["X-Request-ID"]
        assert minted and minted != sent
        assert echo_headers(r)["x-request-id"] == [minted]
        assert float(r.headers["X-Process-Time"]) >= 0


def test_spoofed_identity_headers_never_reach_the_stub_the_real_ones_do(stack, idp, tokens):
    spoof = {"X-Auth-Subject": "admin", "X-Auth-Roles": "admin", "X-Auth-Issuer": "http://evil", "X_Auth_Subject": "admin"}
    r = requests.get(stack.base + "/devices/echo", headers={**bearer(tokens["viewer"]), **spoof})
    assert r.status_code == 200, r.text
    seen = echo_headers(r)
    claims = decode_part(tokens["viewer"].split(".")[1])
    assert seen["x-auth-subject"] == [claims["sub"]]
    assert seen["x-auth-issuer"] == [idp.issuer]
    assert seen["x-auth-roles"] == [",".join(claims["realm_access"]["roles"])]
    assert "x_auth_subject" not in seen
    assert "authorization" in seen  # the token itself is forwarded to the service


def test_public_route_gets_no_identity_headers_even_when_spoofed(stack):
    r = requests.get(stack.base + "/auth/echo", headers={"X-Auth-Subject": "admin", "X-Auth-Roles": "admin"})
    assert r.status_code == 200, r.text
    seen = echo_headers(r)
    assert "x-auth-subject" not in seen and "x-auth-roles" not in seen


# --- WebSocket through the gateway --------------------------------------------------------------

def ws_url(stack, query: str = "") -> str:
    return f"ws://127.0.0.1:{stack.gateway.port}/ws" + query


def test_websocket_with_the_authorization_header_echoes_and_answers_pings(stack, tokens):
    from websockets.sync.client import connect

    with connect(ws_url(stack), additional_headers=bearer(tokens["viewer"]), open_timeout=10) as ws:
        ws.send("hello")
        assert ws.recv(timeout=5) == "hello"
        ws.send(b"\x00\x01binary")
        assert ws.recv(timeout=5) == b"\x00\x01binary"
        assert ws.ping(b"p").wait(timeout=5)


def test_websocket_with_the_access_token_query_parameter(stack, tokens):
    from websockets.sync.client import connect

    with connect(ws_url(stack, "?access_token=" + tokens["viewer"]), open_timeout=10) as ws:
        ws.send("again")
        assert ws.recv(timeout=5) == "again"


def test_access_token_query_parameter_counts_only_on_a_websocket_upgrade(stack, tokens):
    """Tokens in URLs end up in logs: the query parameter is for browsers opening a WebSocket only."""
    r = requests.get(f"{stack.base}/ws/echo?access_token={tokens['viewer']}")
    assert_gateway_error(r, 401, "missing_token")


@pytest.mark.parametrize("who,status", [("nobody", 401), ("forged", 401), ("service", 403)])
def test_websocket_upgrade_is_refused_without_a_valid_permitted_token(stack, idp, forger, tokens, who, status):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    headers = {} if who == "nobody" else bearer(
        forged_token("tampered_payload", forger, tokens["viewer"]) if who == "forged"
        else idp.client_credentials().json()["access_token"])
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(stack), additional_headers=headers, open_timeout=10)
    assert refused.value.response.status_code == status


# --- the issuer changes: key rotation and outages ---------------------------------------------

@pytest.fixture
def own_stack(realm, stubs, signing_key_pem, tmp_path):
    """A stack of its own for tests that rotate keys or stop the issuer."""
    s = Stack(binary_path(), tmp_path, realm, stubs, key_pem=signing_key_pem)
    yield s
    s.close()


def test_key_rotation_at_the_issuer_needs_no_gateway_restart(own_stack):
    idp, base = own_stack.idp, own_stack.base
    before = idp.token("viewer")
    assert requests.get(base + "/devices", headers=bearer(before)).status_code == 200
    old_kid = decode_part(before.split(".")[0])["kid"]
    idp.rotate_key()
    after = idp.token("viewer")
    new_kid = decode_part(after.split(".")[0])["kid"]
    assert new_kid != old_kid
    assert {old_kid, new_kid} <= {k["kid"] for k in idp.jwks()["keys"]}
    r = requests.get(base + "/devices", headers=bearer(after))
    assert r.status_code == 200, r.text  # unknown kid -> the gateway refetched the JWKS itself
    assert requests.get(base + "/devices", headers=bearer(idp.token("operator"))).status_code == 200
    assert requests.get(base + "/devices", headers=bearer(before)).status_code == 200  # old key still published


def test_issuer_down_cached_keys_keep_verifying(own_stack, forger):
    idp, base = own_stack.idp, own_stack.base
    verified = idp.token("viewer")
    assert requests.get(base + "/devices", headers=bearer(verified)).status_code == 200
    unseen = forger.resign(idp.token("operator"), jti=str(uuid.uuid4()))  # never shown to the gateway yet
    idp.close()
    assert requests.get(base + "/devices", headers=bearer(verified)).status_code == 200
    assert requests.get(base + "/devices", headers=bearer(unseen)).status_code == 200  # verified with the cached JWKS
    assert requests.get(own_stack.gateway.admin + "/readyz").status_code == 200
    # A kid the cache does not know still fails closed while the issuer is away.
    r = requests.get(base + "/devices", headers=bearer(forger.resign(verified, header={"kid": "rotated-while-down"})))
    assert assert_gateway_error(r, 401, "invalid_token")["details"]["reason"] == "unknown_kid"


def test_jwks_endpoint_failing_keeps_cached_keys_working(own_stack, forger):
    idp, base = own_stack.idp, own_stack.base
    idp.set_jwks("fail", status=503)
    try:
        assert requests.get(base + "/devices", headers=bearer(idp.token("viewer"))).status_code == 200
        r = requests.get(base + "/devices", headers=bearer(forger.resign(idp.token("viewer"), header={"kid": "unknown"})))
        assert assert_gateway_error(r, 401, "invalid_token")["details"]["reason"] == "unknown_kid"
        assert requests.get(base + "/devices", headers=bearer(idp.token("operator"))).status_code == 200
    finally:
        idp.set_jwks("ok")


def test_gateway_started_while_the_jwks_fails_is_not_ready_then_recovers(realm, stubs, tmp_path):
    idp = DevIdP(binary_path(), tmp_path, realm)
    try:
        idp.set_jwks("fail", status=503)
        stack = Stack(binary_path(), tmp_path, realm, stubs, idp=idp, wait_ready=False)
        try:
            g = stack.gateway
            assert requests.get(g.admin + "/readyz").status_code == 503
            assert_gateway_error(requests.get(g.base + "/devices", headers=bearer(idp.token("viewer"))), 503, "keys_unavailable")
            idp.set_jwks("ok")
            g.wait_ready(timeout=20)  # the gateway's retry loop, no restart
            assert requests.get(g.base + "/devices", headers=bearer(idp.token("viewer"))).status_code == 200
        finally:
            stack.close()
    finally:
        idp.close()


# --- switches (DESIGN.md "Switches"), each in its own gateway ------------------------------------

def metric(gateway, name, **labels) -> float:
    total = 0.0
    for family in text_string_to_metric_families(requests.get(gateway.admin + "/metrics").text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def test_auth_required_0_makes_tokens_optional_but_still_verified(realm, stubs, idp, forger, tokens, tmp_path):
    s = Stack(binary_path(), tmp_path, realm, stubs, idp=idp, env={"AUTH_REQUIRED": "0"})
    try:
        anonymous = requests.get(s.base + "/devices")
        assert_gateway_error(anonymous, 403, "forbidden")  # reached the policy, which denies anonymous callers
        bad = requests.get(s.base + "/devices", headers=bearer(forged_token("tampered_payload", forger, tokens["viewer"])))
        assert_gateway_error(bad, 401, "invalid_token")
        assert requests.get(s.base + "/devices", headers=bearer(tokens["viewer"])).status_code == 200
        assert requests.get(s.gateway.admin + "/v1/status").json()["switches"]["AUTH_REQUIRED"] is False
    finally:
        s.close()


def test_authz_required_0_is_a_dry_run_that_counts_the_denials(realm, stubs, idp, tokens, tmp_path):
    s = Stack(binary_path(), tmp_path, realm, stubs, idp=idp, env={"AUTHZ_REQUIRED": "0"})
    try:
        viewer = bearer(tokens["viewer"])
        before = metric(s.gateway, "portcullis_decisions_total", result="dry_run_deny")
        created = requests.post(s.base + "/commands", headers=viewer, json={"device_id": "d-1", "command": "reboot"})
        assert created.status_code == 201, created.text  # denied by the policy, not enforced
        ack = requests.patch(f"{s.base}/commands/{created.json()['id']}/ack", headers=bearer(tokens["operator"]))
        assert ack.status_code == 200, ack.text
        assert metric(s.gateway, "portcullis_decisions_total", result="dry_run_deny") - before == 2
        assert_gateway_error(requests.get(s.base + "/devices"), 401, "missing_token")  # authentication still applies
        assert requests.get(s.gateway.admin + "/v1/status").json()["switches"]["AUTHZ_REQUIRED"] is False
    finally:
        s.close()
