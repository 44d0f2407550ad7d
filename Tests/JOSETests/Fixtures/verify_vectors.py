#!/usr/bin/env python3
"""Re-verify every vector in rfc-vectors.json (same folder).

For each vector: the compact JWS must have three parts, each canonical unpadded
base64url; the protected header's "alg" (and "kid", if the JWK has one) must
match the entry; the decoded payload must equal "payload_text" and agree with
"payload_is_json"; the signature must verify with the public JWK over the ASCII
signing input (RS*: PKCS#1 v1.5; PS*: PSS, MGF1 with the same hash, salt length
= hash length; ES*: raw R||S converted to DER; EdDSA: Ed25519); and a copy with
one flipped signature bit must NOT verify.

Prints one line per vector; exits 1 if any check fails.
Needs only the `cryptography` package. Usage: python3 verify_vectors.py [path]
"""
import base64
import json
import os
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

CURVES = {"P-256": (ec.SECP256R1(), 32), "P-384": (ec.SECP384R1(), 48), "P-521": (ec.SECP521R1(), 66)}
HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


def b64url_decode(s):
    if "=" in s or any(c in s for c in "+/ \r\n"):
        raise ValueError("not unpadded base64url")
    raw = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    # reject non-canonical encodings (non-zero unused bits in the last character)
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != s:
        raise ValueError("non-canonical base64url")
    return raw


def b64_int(s):
    return int.from_bytes(b64url_decode(s), "big")


def public_key(jwk):
    kty = jwk["kty"]
    if kty == "RSA":
        return rsa.RSAPublicNumbers(b64_int(jwk["e"]), b64_int(jwk["n"])).public_key()
    if kty == "EC":
        curve, size = CURVES[jwk["crv"]]
        for c in ("x", "y"):
            if len(b64url_decode(jwk[c])) != size:
                raise ValueError("EC coordinate %s is not %d octets" % (c, size))
        return ec.EllipticCurvePublicNumbers(b64_int(jwk["x"]), b64_int(jwk["y"]), curve).public_key()
    if kty == "OKP" and jwk["crv"] == "Ed25519":
        return ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
    raise ValueError("unsupported key %s/%s" % (kty, jwk.get("crv")))


def verify_sig(alg, key, signing_input, sig):
    """Raises InvalidSignature (or ValueError) when the signature does not verify."""
    family, bits = alg[:2], alg[2:]
    if family == "RS":
        key.verify(sig, signing_input, padding.PKCS1v15(), HASHES[bits]())
    elif family == "PS":
        h = HASHES[bits]
        key.verify(sig, signing_input,
                   padding.PSS(mgf=padding.MGF1(h()), salt_length=h.digest_size), h())
    elif family == "ES":
        size = (key.curve.key_size + 7) // 8
        expected_curve = {"256": "secp256r1", "384": "secp384r1", "512": "secp521r1"}[bits]
        if key.curve.name != expected_curve:
            raise ValueError("curve %s does not match %s" % (key.curve.name, alg))
        if len(sig) != 2 * size:
            raise ValueError("ECDSA signature is %d octets, expected %d" % (len(sig), 2 * size))
        r = int.from_bytes(sig[:size], "big")
        s = int.from_bytes(sig[size:], "big")
        key.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(HASHES[bits]()))
    elif alg == "EdDSA":
        key.verify(sig, signing_input)
    else:
        raise ValueError("unsupported alg " + alg)


def check(v):
    parts = v["token"].split(".")
    if len(parts) != 3:
        raise ValueError("token has %d parts" % len(parts))
    header = json.loads(b64url_decode(parts[0]))
    if header.get("alg") != v["alg"]:
        raise ValueError("header alg %r != %r" % (header.get("alg"), v["alg"]))
    if "kid" in v["jwk"] and header.get("kid") != v["jwk"]["kid"]:
        raise ValueError("header kid %r != jwk kid %r" % (header.get("kid"), v["jwk"]["kid"]))
    payload = b64url_decode(parts[1])
    text = payload.decode("utf-8")
    if text != v["payload_text"]:
        raise ValueError("payload_text does not match decoded payload")
    try:
        json.loads(text)
        is_json = True
    except ValueError:
        is_json = False
    if is_json != v["payload_is_json"]:
        raise ValueError("payload_is_json is %r but payload parses: %r" % (v["payload_is_json"], is_json))
    key = public_key(v["jwk"])
    signing_input = (parts[0] + "." + parts[1]).encode("ascii")
    sig = b64url_decode(parts[2])
    verify_sig(v["alg"], key, signing_input, sig)
    tampered = bytearray(sig)
    tampered[len(tampered) // 2] ^= 0x01
    try:
        verify_sig(v["alg"], key, signing_input, bytes(tampered))
    except (InvalidSignature, ValueError):
        pass
    else:
        raise ValueError("a tampered signature also verified")
    return "%d-octet signature, payload %d octets" % (len(sig), len(payload))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "rfc-vectors.json")
    with open(path, encoding="utf-8") as f:
        vectors = json.load(f)["vectors"]
    failures = 0
    for v in vectors:
        try:
            detail = check(v)
            print("PASS %-12s %-6s %s" % (v["name"], v["alg"], detail))
        except Exception as e:  # report every vector, then fail at the end
            failures += 1
            print("FAIL %-12s %-6s %s: %s" % (v.get("name"), v.get("alg"), type(e).__name__, e))
    print("%d/%d vectors verified" % (len(vectors) - failures, len(vectors)))
    return 1 if failures or not vectors else 0


if __name__ == "__main__":
    sys.exit(main())
