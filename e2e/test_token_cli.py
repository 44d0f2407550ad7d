"""`portcullis token ...` against an independent JOSE implementation (joserfc + cryptography).

Tokens minted by joserfc must verify in portcullis, tokens signed by portcullis must verify in
joserfc, and every attack class must give exit status 1 with its stable code.
"""
import base64
import hashlib
import hmac
import http.server
import json
import threading
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from joserfc import jwk, jwt
from joserfc.jwk import KeySet

ISS = "https://issuer.e2e"
AUD = "api"

ALGORITHMS = {
    "RS256": "rsa", "RS384": "rsa", "RS512": "rsa",
    "PS256": "rsa", "PS384": "rsa", "PS512": "rsa",
    "ES256": "P-256", "ES384": "P-384", "ES512": "P-521",
    "EdDSA": "Ed25519",
}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(obj) -> str:
    return b64(json.dumps(obj, separators=(",", ":")).encode())


@pytest.fixture(scope="module")
def keys():
    """One joserfc key per family, each with a kid, and the public JWKS file."""
    made = {
        "rsa": jwk.RSAKey.generate_key(2048, parameters={"kid": "rsa-1"}),
        "P-256": jwk.ECKey.generate_key("P-256", parameters={"kid": "p256-1"}),
        "P-384": jwk.ECKey.generate_key("P-384", parameters={"kid": "p384-1"}),
        "P-521": jwk.ECKey.generate_key("P-521", parameters={"kid": "p521-1"}),
        "Ed25519": jwk.OKPKey.generate_key("Ed25519", parameters={"kid": "ed-1"}),
    }
    return made


@pytest.fixture(scope="module")
def jwks_file(keys, tmp_path_factory):
    path = tmp_path_factory.mktemp("jwks") / "jwks.json"
    path.write_text(json.dumps({"keys": [k.as_dict(private=False) for k in keys.values()]}))
    return str(path)


def claims(**extra):
    now = int(time.time())
    base = {"iss": ISS, "aud": AUD, "sub": "user-1", "iat": now, "exp": now + 300}
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def joserfc_token(keys, alg, **extra):
    key = keys[ALGORITHMS[alg]]
    return jwt.encode({"alg": alg, "kid": key.kid}, claims(**extra), key, algorithms=[alg])


@pytest.mark.parametrize("alg", sorted(ALGORITHMS))
def test_token_minted_by_joserfc_verifies(cli, keys, jwks_file, alg):
    token = joserfc_token(keys, alg)
    status, out, err = cli.run("token", "verify", token, "--jwks", jwks_file, "--issuer", ISS, "--audience", AUD)
    assert status == 0, (out, err)
    assert out["valid"] is True and out["code"] == "ok"
    assert out["claims"]["sub"] == "user-1"
    assert out["header"]["alg"] == alg


@pytest.mark.parametrize("alg,kind", [("RS256", "rsa"), ("PS256", "rsa"), ("ES256", "ec-p256"), ("EdDSA", "ed25519"),
                                      ("ES384", "ec-p384"), ("ES512", "ec-p521")])
def test_token_signed_by_portcullis_verifies_in_joserfc(cli, tmp_path, alg, kind):
    status, pem, err = cli.run("token", "keygen", "--type", kind)
    assert status == 0, err
    key_file = tmp_path / "key.pem"
    key_file.write_text(pem)
    status, token, err = cli.run("token", "sign", "--key", str(key_file), "--alg", alg, "--kid", "k",
                                 "--claims", json.dumps({"sub": "alice", "n": 12345678901234567890}), "--expires-in", "60")
    assert status == 0, err
    token = token.strip()
    # joserfc verifies with the public key from the PEM (independently of our JWKS output)...
    private = serialization.load_pem_private_key(pem.encode(), password=None)
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    public = jwk.import_key(public_pem, {"rsa": "RSA", "ec-p256": "EC", "ec-p384": "EC", "ec-p521": "EC", "ed25519": "OKP"}[kind])
    decoded = jwt.decode(token, public, algorithms=[alg])
    assert decoded.header["alg"] == alg and decoded.header["kid"] == "k"
    assert decoded.claims["sub"] == "alice"
    assert decoded.claims["exp"] - decoded.claims["iat"] == 60
    # ...and with the key set `portcullis token jwks` prints.
    status, out, err = cli.run("token", "jwks", "--key", str(key_file), "--kid", "k")
    assert status == 0, err
    decoded = jwt.decode(token, KeySet.import_key_set(out), algorithms=[alg])
    assert decoded.claims["n"] == 12345678901234567890


def test_private_jwk_from_joserfc_signs(cli, keys, tmp_path):
    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps(keys["P-256"].as_dict(private=True)))
    status, token, err = cli.run("token", "sign", "--key", str(key_file), "--alg", "ES256", "--claims", '{"a":1}')
    assert status == 0, err
    assert jwt.decode(token.strip(), keys["P-256"], algorithms=["ES256"]).claims == {"a": 1}


def verify(cli, token, jwks_file, *extra):
    return cli.run("token", "verify", token, "--jwks", jwks_file, "--issuer", ISS, "--audience", AUD, *extra)


def forge(header, payload, signature=b"sig"):
    return f"{b64json(header)}.{b64json(payload)}.{b64(signature)}"


@pytest.fixture(scope="module")
def weak_key():
    """A 1024-bit RSA key: portcullis must refuse it when loading the key set."""
    return jwk.RSAKey.import_key(rsa.generate_private_key(public_exponent=65537, key_size=1024), parameters={"kid": "weak-1"})


@pytest.fixture(scope="module")
def attack_jwks(keys, weak_key, tmp_path_factory):
    """The RSA key pinned to RS256 (for the alg-mismatch case), the P-256 key and the weak key."""
    rsa_pub = keys["rsa"].as_dict(private=False) | {"alg": "RS256"}
    path = tmp_path_factory.mktemp("attack") / "jwks.json"
    path.write_text(json.dumps({"keys": [rsa_pub, keys["P-256"].as_dict(private=False), weak_key.as_dict(private=False)]}))
    return str(path)


def signed_raw(key, header, payload: bytes) -> str:
    """Signs exact header/payload bytes with RS256, so malformed JSON can carry a valid signature."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    header_bytes = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    signing_input = f"{b64(header_bytes)}.{b64(payload)}"
    signature = key.get_op_key("sign").sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64(signature)}"


def attack_cases(keys, weak_key):
    """(name, token, expected code) for every attack class the issue lists."""
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
    rsa_key = keys["rsa"]
    h, p, s = joserfc_token(keys, "RS256").split(".")
    public_pem = rsa_key.get_op_key("verify").public_bytes(serialization.Encoding.PEM,
                                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    hs_input = f"{b64json({'alg': 'HS256', 'kid': 'rsa-1'})}.{b64json(claims())}"
    hs_token = hs_input + "." + b64(hmac.new(public_pem, hs_input.encode(), hashlib.sha256).digest())
    attacker = jwk.RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})
    jku_token = jwt.encode({"alg": "RS256", "kid": "rsa-1", "jku": "https://evil.example/jwks",
                            "jwk": attacker.as_dict(private=False)}, claims(), attacker, algorithms=["RS256"])
    es_h, es_p, es_s = joserfc_token(keys, "ES256").split(".")
    raw = base64.urlsafe_b64decode(es_s + "==")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    rs_header = {"alg": "RS256", "kid": "rsa-1"}
    now = int(time.time())
    return [
        ("alg none", forge({"alg": "none"}, claims(), b""), "unsupported_alg"),
        ("alg None with a kid", forge({"alg": "None", "kid": "rsa-1"}, claims()), "unsupported_alg"),
        ("HS256 keyed with the RSA public key", hs_token, "unsupported_alg"),
        ("tampered header", f"{b64json({'alg': 'RS256', 'kid': 'rsa-1', 'x': 1})}.{p}.{s}", "bad_signature"),
        ("tampered payload", f"{h}.{b64json(claims(sub='admin'))}.{s}", "bad_signature"),
        ("stripped signature", f"{h}.{p}.", "bad_signature"),
        ("JWE-shaped token", f"{b64json({'alg': 'RSA-OAEP', 'enc': 'A256GCM'})}.AAAA.AAAA.AAAA.AAAA", "malformed"),
        ("expired", joserfc_token(keys, "RS256", exp=now - 3600), "expired"),
        ("not yet valid", joserfc_token(keys, "RS256", nbf=now + 3600), "not_yet_valid"),
        ("issued in the future", joserfc_token(keys, "RS256", iat=now + 3600), "issued_in_future"),
        ("wrong iss", joserfc_token(keys, "RS256", iss="https://evil.example"), "wrong_issuer"),
        ("missing iss", joserfc_token(keys, "RS256", iss=None), "missing_claim"),
        ("wrong aud", joserfc_token(keys, "RS256", aud="other"), "wrong_audience"),
        ("unknown kid", forge({"alg": "RS256", "kid": "nope"}, claims()), "unknown_kid"),
        ("unknown crit", signed_raw(rsa_key, rs_header | {"crit": ["x-policy"], "x-policy": 1}, json.dumps(claims()).encode()),
         "unsupported_crit"),
        ("RSA-1024 key", jwt.encode({"alg": "RS256", "kid": "weak-1"}, claims(), weak_key, algorithms=["RS256"]), "weak_key"),
        ("ES256 with a DER signature", f"{es_h}.{es_p}.{b64(der)}", "bad_signature"),
        ("all-zero ES256 signature", f"{es_h}.{es_p}.{b64(bytes(64))}", "bad_signature"),
        ("jku/jwk naming the attacker's key", jku_token, "bad_signature"),
        ("oversized token", joserfc_token(keys, "RS256", pad="x" * 20000), "too_large"),
        ("non-base64url characters", f"{h}.{p[:10]}+/{p[10:]}.{s}", "malformed"),
        ("padding", f"{h}.{p}.{s}" + "=" * (-len(s) % 4 or 4), "malformed"),
        ("payload not an object", signed_raw(rsa_key, rs_header, b"[1,2,3]"), "malformed"),
        ("exp as a string", signed_raw(rsa_key, rs_header, json.dumps(claims(exp=str(now + 300))).encode()), "invalid_claim"),
        ("duplicate header members", signed_raw(rsa_key, b'{"alg":"RS256","alg":"none","kid":"rsa-1"}',
                                                json.dumps(claims()).encode()), "malformed"),
        ("JWK alg differs from the token's", joserfc_token(keys, "PS256"), "key_mismatch"),
    ]


def test_every_attack_class_exits_1_with_its_code(cli, keys, weak_key, attack_jwks):
    failures = []
    for name, token, code in attack_cases(keys, weak_key):
        status, out, err = verify(cli, token, attack_jwks)
        if status != 1 or not isinstance(out, dict) or out.get("code") != code or out.get("valid") is not False or "claims" in out:
            failures.append(f"{name}: status {status}, out {out!r:.300}, stderr {err!r:.200}")
    assert not failures, "\n".join(failures)


def test_a_valid_token_passes_the_attack_key_set(cli, keys, attack_jwks):
    """Control for the attack test: the same set accepts an honest token."""
    status, out, _ = verify(cli, joserfc_token(keys, "RS256"), attack_jwks)
    assert status == 0 and out["valid"] is True


def test_usage_errors_exit_2(cli, jwks_file, keys):
    token = joserfc_token(keys, "RS256")
    assert cli.run("token", "verify", token, "--jwks", "/nonexistent/jwks.json")[0] == 2
    assert cli.run("token", "verify", token, "--jwks", jwks_file, "--alg", "HS256")[0] == 2
    assert cli.run("token", "verify", token, "--jwks", jwks_file, "--alg", "none")[0] == 2
    assert cli.run("token", "verify", token)[0] == 2
    assert cli.run("token", "verify", token, "--jwks", jwks_file, "--bogus")[0] == 2


def test_token_from_stdin(cli, keys, jwks_file):
    status, out, _ = cli.run("token", "verify", "-", "--jwks", jwks_file, "--issuer", ISS, stdin=joserfc_token(keys, "ES256") + "\n")
    assert status == 0 and out["valid"] is True


def test_inspect_marks_output_unverified(cli, keys):
    status, out, _ = cli.run("token", "inspect", joserfc_token(keys, "RS256", iss="https://anyone"))
    assert status == 0
    assert out["verified"] is False and "UNVERIFIED" in out["warning"]
    assert out["claims"]["iss"] == "https://anyone"
    assert cli.run("token", "inspect", "not-a-token")[0] == 1


def serve(routes):
    """A loopback HTTP server answering GET path -> (status, JSON body)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            status, body = routes(self.path)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_jwks_from_a_loopback_url(cli, keys):
    server = serve(lambda path: (200, {"keys": [keys["rsa"].as_dict(private=False)]}))
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/certs"
        status, out, err = cli.run("token", "verify", joserfc_token(keys, "RS256"), "--jwks", url, "--issuer", ISS, "--audience", AUD)
        assert status == 0, (out, err)
    finally:
        server.shutdown()


@pytest.mark.parametrize("flag", ["--help", "--version"])
@pytest.mark.parametrize("command", [[], ["token"], ["token", "verify"], ["token", "inspect"], ["token", "sign"],
                                     ["token", "keygen"], ["token", "jwks"]])
def test_help_and_version_on_every_command(cli, command, flag):
    status, out, err = cli.run(*command, flag)
    assert status == 0, err
    text = out if isinstance(out, str) else json.dumps(out)
    assert ("USAGE" in text) if flag == "--help" else (text.strip() == "0.5.0")


def test_verify_against_a_live_issuer_with_discovery(cli, keys):
    state = {}

    def routes(path):
        base = state["issuer"]
        if path == "/realms/dev/.well-known/openid-configuration":
            return 200, {"issuer": state.get("claimed", base), "jwks_uri": base + "/protocol/openid-connect/certs"}
        if path == "/realms/dev/protocol/openid-connect/certs":
            return 200, {"keys": [keys["rsa"].as_dict(private=False)]}
        return 404, {}

    server = serve(routes)
    try:
        issuer = f"http://127.0.0.1:{server.server_address[1]}/realms/dev"
        state["issuer"] = issuer
        token = jwt.encode({"alg": "RS256", "kid": "rsa-1"}, claims(iss=issuer), keys["rsa"], algorithms=["RS256"])
        status, out, err = cli.run("token", "verify", token, "--issuer", issuer, "--audience", AUD)
        assert status == 0, (out, err)
        assert out["valid"] is True and out["claims"]["iss"] == issuer
        status, out, _ = cli.run("token", "verify", token, "--issuer", issuer, "--audience", "other")
        assert status == 1 and out["code"] == "wrong_audience"
        # Discovery naming another issuer is refused: no keys, exit 2 with the reason.
        state["claimed"] = "https://evil.example/realms/dev"
        status, out, err = cli.run("token", "verify", token, "--issuer", issuer)
        assert status == 2 and "evil.example" in err
    finally:
        server.shutdown()
