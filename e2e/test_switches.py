"""The environment switches of DESIGN.md ("Switches"), each in its three states, through the real
gateway: AUTH_REQUIRED, AUTHZ_REQUIRED, OPA_REQUIRED."""
import pytest
import requests

from conftest import binary_path
from gateway_env import Gateway
from test_gateway import POLICY_DIR

CONFIG = """
listen: 127.0.0.1:{PORT}
admin: {listen: 127.0.0.1:{ADMIN_PORT}}
issuers:
  - issuer: ISSUER
    jwks_uri: JWKS
    audiences: [portcullis]
policy:
  directory: POLICY
routes:
  - id: devices
    match: {path_prefix: /devices}
    upstream: {urls: [http://127.0.0.1:UP]}
    auth: {mode: required}
    policy: {mode: enforce}
  - id: commands
    match: {path_prefix: /commands}
    upstream: {urls: [http://127.0.0.1:UP]}
    auth: {mode: optional}
    policy: {mode: dry_run}
  - id: auth
    match: {path_prefix: /auth}
    upstream: {urls: [http://127.0.0.1:UP]}
    auth: {mode: public}
"""


def start(tmp_path, issuer, upstream, env, policy=POLICY_DIR, wait_ready=True):
    text = (CONFIG.replace("ISSUER", issuer.url).replace("JWKS", issuer.jwks_uri)
            .replace("POLICY", str(policy)).replace("UP", str(upstream.port)))
    return Gateway(binary_path(), tmp_path, text, env=env, wait_ready=wait_ready)


def code(response):
    return response.json()["error"]["code"] if response.status_code >= 400 else None


@pytest.mark.parametrize("value,devices,commands", [
    (None, 401, 403),  # routes.yaml: devices required (401), commands optional (the policy denies anonymous: 403)
    ("1", 401, 401),   # every non-public route needs a token
    ("0", 403, 403),   # tokens optional everywhere: anonymous requests reach the policy
])
def test_auth_required(tmp_path, issuer, upstream, value, devices, commands):
    g = start(tmp_path, issuer, upstream, {"AUTH_REQUIRED": value} if value else {})
    try:
        assert requests.get(g.base + "/devices/d-1").status_code == devices
        # commands is dry_run in the file, except where AUTH_REQUIRED=1 demands a token first
        r = requests.post(g.base + "/commands")
        assert r.status_code == (401 if commands == 401 else 200)
        # A bad token is 401 in every state, and a public route never asks for one.
        bad = requests.get(g.base + "/devices/d-1", headers={"Authorization": "Bearer not.a.token"})
        assert bad.status_code == 401 and code(bad) == "invalid_token"
        assert requests.get(g.base + "/auth/login").status_code == 200
        switches = requests.get(g.admin + "/v1/status").json()["switches"]
        assert switches["AUTH_REQUIRED"] == (None if value is None else value == "1")
    finally:
        g.close()


@pytest.mark.parametrize("value,devices,commands", [
    (None, 403, 200),  # devices enforced, commands dry run (decided, logged, not enforced)
    ("1", 403, 403),
    ("0", 200, 200),
])
def test_authz_required(tmp_path, issuer, upstream, value, devices, commands):
    g = start(tmp_path, issuer, upstream, {"AUTHZ_REQUIRED": value} if value else {})
    try:
        viewer = {"Authorization": f"Bearer {issuer.token(['viewer'])}"}
        assert requests.post(g.base + "/devices", headers=viewer).status_code == devices
        assert requests.post(g.base + "/commands", headers=viewer).status_code == commands
        assert requests.get(g.base + "/devices/d-1", headers=viewer).status_code == 200
    finally:
        g.close()


@pytest.mark.parametrize("value,status,ready", [
    (None, 503, 503),  # routes.yaml says required (the default)
    ("1", 503, 503),
    ("0", 200, 200),   # no policy: allowed, with a warning
])
def test_opa_required_without_a_policy(tmp_path, issuer, upstream, value, status, ready):
    broken = tmp_path / "broken-policy"
    broken.mkdir()
    (broken / "authz.rego").write_text("package systemupdate.authz\n\nallow if {\n")
    g = start(tmp_path, issuer, upstream, {"OPA_REQUIRED": value} if value else {}, policy=broken, wait_ready=False)
    try:
        if ready == 200:
            g.wait_ready()  # the issuer's keys arrive a moment after start
        else:
            g.wait_ready_status(503)
        assert requests.get(g.admin + "/readyz").status_code == ready
        r = requests.get(g.base + "/devices/d-1", headers={"Authorization": f"Bearer {issuer.token(['viewer'])}"})
        assert r.status_code == status
        if status == 503:
            assert code(r) == "policy_unavailable"
        else:
            assert "no policy is loaded" in g.output()
    finally:
        g.close()


def test_a_bad_switch_value_refuses_to_start(tmp_path, issuer, upstream):
    with pytest.raises(RuntimeError, match="AUTH_REQUIRED"):
        start(tmp_path, issuer, upstream, {"AUTH_REQUIRED": "maybe"})
