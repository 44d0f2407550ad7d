"""Production-shaped traffic for bench/gateway_bench.py: Keycloak-shaped tokens and request shapes.

Tokens: RS256 access tokens shaped as Keycloak mints them for the systemupdate realm
(realms/systemupdate-dev.json), ~1.3 KB each, one subject each, their realm and client roles
drawn from the roles of the default policy (rego-lite/policies/systemupdate/data.json) in fixed
shares (PERSONAS). Signed here with Python's `cryptography`, by a key whose JWKS the bench's
gateways load from a file.

Shapes: requests over every route of routes.yaml, bodies included (SHAPES), each with the action
the default policy gives it. A `{id}` in a path is replaced by a random number on every request,
so no path repeats often enough for a path-keyed cache to answer it. Tokens and shapes are drawn
independently and at random for every request (bench/gateway_traffic.lua); the share of denied
requests that this mix implies is worked out from data.json (`denied_share`), and the bench checks
every shape against the gateway before it measures.
"""
import base64
import bisect
import hashlib
import json
import random
import uuid
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ISSUER = "https://idp.bench/realms/systemupdate"
AUDIENCE = "portcullis"
CLIENT = "portcullis"  # the client whose roles the policy reads (data.json, role_sources)
# Every request but the tokenless ones carries these, as a browser or an HTTP client library would.
COMMON_HEADERS = ("User-Agent: systemupdate-console/4.12.3 (okhttp/4.12.0)\r\n"
                  "Accept: application/json\r\nAccept-Encoding: gzip, deflate\r\nAccept-Language: en-US,en;q=0.9\r\n")


@dataclass(frozen=True)
class Persona:
    name: str
    share: int
    realm_roles: tuple
    client_roles: tuple = ()


# Mostly people reading, some operating, a few admins and machine clients. With shapes drawn
# independently of tokens this denies about a quarter of all requests, all of them for roles.
PERSONAS = (
    Persona("viewer", 26, ("viewer",)),
    Persona("viewer (client role)", 10, (), ("viewer",)),
    Persona("operator", 34, ("operator",)),
    Persona("commands approver", 12, ("viewer",), ("commands-approver",)),
    Persona("admin", 9, ("admin",)),
    Persona("device", 6, ("device",)),
    Persona("service account", 3, ("service",)),
)


@dataclass(frozen=True)
class Shape:
    weight: int
    method: str
    path: str
    action: str
    body: str = ""
    content_type: str = "application/json"
    token: bool = True

    def head(self):
        """The header lines after Host and Authorization, as sent on the wire."""
        head = COMMON_HEADERS
        if self.body:
            head += f"Content-Type: {self.content_type}\r\nContent-Length: {len(self.body)}\r\n"
        return head


def compact(doc):
    return json.dumps(doc, separators=(",", ":"))


def pem_block(rng, label, size):
    der = base64.b64encode(rng.randbytes(size)).decode()
    lines = [der[i:i + 64] for i in range(0, len(der), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


def device(rng, certificate=False):
    doc = {
        "serial": f"SU-{rng.randrange(16 ** 4):04X}-{rng.randrange(16 ** 4):04X}-{rng.randrange(10 ** 4):04d}",
        "model": "edge-gateway-x2", "hardware_revision": "C", "status": "online",
        "firmware": {"version": "4.12.3", "channel": "stable", "build": "2026.11.20-1f3e9a2", "bootloader": "2.1.0"},
        "site": {"id": "site-0042", "name": "Rotterdam DC 2", "rack": "R12", "position": 7, "timezone": "Europe/Amsterdam"},
        "network": {"mac": "3c:22:fb:8e:41:07", "ipv4": "10.42.7.19", "ipv6": "fd00:42::7:19", "uplink": "eth0"},
        "labels": {"env": "production", "tier": "edge", "owner": "fleet-ops", "cost-center": "CC-4471"},
        "capabilities": ["ota", "remote-shell", "metrics", "log-forwarding"],
    }
    if certificate:
        doc["certificate"] = pem_block(rng, "CERTIFICATE", 900)
    return compact(doc)


def maintenance():
    return compact({"status": "maintenance", "labels": {"tier": "edge", "owner": "fleet-ops", "maintenance": "psu-swap"},
                    "note": "Replacing the PSU in rack R12; expect the device offline for up to 40 minutes",
                    "maintenance_window": {"start": "2026-11-26T08:00:00Z", "end": "2026-11-26T09:00:00Z"},
                    "updated_by": "operator@systemupdate.example"})


def ack(comment):
    return compact({"status": "acknowledged", "comment": comment, "acknowledged_at": "2026-11-26T09:14:03Z",
                    "acknowledged_by": "approver@systemupdate.example", "change_request": "CHG-5521",
                    "checks": {"canary_passed": True, "rollback_plan": "https://wiki.systemupdate.example/runbooks/ota-rollback"}})


def command(rng, artifacts=0):
    doc = {
        "device_id": f"d-{rng.randrange(10 ** 6):06d}", "type": "firmware_update", "priority": "normal",
        "parameters": {"version": "4.12.4", "channel": "stable", "reboot": True, "max_download_kbps": 2048},
        "schedule": {"not_before": "2026-11-26T02:00:00Z", "expires_at": "2026-11-27T02:00:00Z", "maintenance_window": "02:00-04:00"},
        "requested_by": "operator@systemupdate.example", "reason": "Security fixes for the OTA agent (SU-2231)",
    }
    if artifacts:
        doc["artifacts"] = [{"name": f"rootfs-part{i}.img.zst", "size": rng.randrange(10 ** 6, 10 ** 8),
                             "sha256": rng.randbytes(32).hex(), "url": f"https://cdn.systemupdate.example/fw/4.12.4/rootfs-part{i}.img.zst"}
                            for i in range(artifacts)]
    return compact(doc)


def telemetry(rng, samples):
    return compact({
        "device_id": f"d-{rng.randrange(10 ** 6):06d}", "schema": "telemetry/v3",
        "samples": [{"ts": 1795600000 + 10 * i, "cpu": round(rng.uniform(3, 90), 1), "mem": round(rng.uniform(20, 80), 1),
                     "temp_c": round(rng.uniform(35, 70), 1), "disk_free_mb": rng.randrange(500, 30000),
                     "rx_kbps": rng.randrange(0, 5000), "tx_kbps": rng.randrange(0, 2000)} for i in range(samples)],
    })


def notification(rng, recipients):
    return compact({
        "channel": "email", "template": "command-completed", "severity": "info",
        "recipients": [f"oncall-{i}@systemupdate.example" for i in range(recipients)],
        "subject": "Firmware 4.12.4 rolled out to site Rotterdam DC 2",
        "variables": {"site": "Rotterdam DC 2", "version": "4.12.4", "devices": rng.randrange(10, 500), "failed": 0,
                      "dashboard": "https://console.systemupdate.example/sites/site-0042/rollouts/r-7781"},
    })


def token_form(rng, grant):
    fields = {"grant_type": grant, "client_id": "portcullis-web", "scope": "openid profile email"}
    if grant == "password":
        fields.update(username="operator", password="correct-horse-battery-staple")
    else:
        fields["refresh_token"] = base64.urlsafe_b64encode(rng.randbytes(600)).decode().rstrip("=")
    return "&".join(f"{k}={v.replace(' ', '+')}" for k, v in fields.items())


def shapes(seed=7):
    """The request shapes, every route of routes.yaml under both its prefixes; reads dominate."""
    rng = random.Random(seed)
    form = "application/x-www-form-urlencoded"
    realm = "realms/systemupdate/protocol/openid-connect"
    return (
        Shape(4, "GET", "/devices?status=online&limit=50&cursor={id}", "devices:read"),
        Shape(4, "GET", "/api/devices/d-{id}", "devices:read"),
        Shape(3, "GET", "/devices/d-{id}", "devices:read"),
        Shape(2, "GET", "/api/devices?site=site-{id}", "devices:read"),
        Shape(1, "GET", "/devices/healthz", "health:read"),
        Shape(2, "POST", "/devices", "devices:write", device(rng)),
        Shape(1, "POST", "/api/devices", "devices:write", device(rng, certificate=True)),
        Shape(2, "PUT", "/devices/d-{id}", "devices:write", device(rng)),
        Shape(2, "PATCH", "/api/devices/d-{id}", "devices:write", maintenance()),
        Shape(1, "DELETE", "/devices/d-{id}", "devices:delete"),
        Shape(1, "DELETE", "/api/devices/d-{id}", "devices:delete"),
        Shape(3, "GET", "/commands?device=d-{id}&limit=20", "commands:read"),
        Shape(3, "GET", "/api/commands/c-{id}", "commands:read"),
        Shape(2, "GET", "/commands/c-{id}", "commands:read"),
        Shape(1, "GET", "/api/commands/healthz", "health:read"),
        Shape(2, "POST", "/commands", "commands:create", command(rng)),
        Shape(1, "POST", "/api/commands", "commands:create", command(rng, artifacts=8)),
        Shape(2, "PATCH", "/commands/c-{id}/ack", "commands:ack", ack("Verified on the canary devices first")),
        Shape(1, "PATCH", "/api/commands/c-{id}/ack", "commands:ack", ack("Approved in change CHG-5521")),
        Shape(2, "POST", "/ingest", "ingest:write", telemetry(rng, 20)),
        Shape(2, "POST", "/api/ingest/d-{id}", "ingest:write", telemetry(rng, 6)),
        Shape(1, "POST", "/ingest/d-{id}", "ingest:write", telemetry(rng, 2)),
        Shape(1, "GET", "/ingest/healthz", "health:read"),
        Shape(2, "GET", "/analytics", "analytics:read"),
        Shape(3, "GET", "/api/analytics/summary/daily?from=2026-11-01&to=2026-11-25&site=site-{id}", "analytics:read"),
        Shape(2, "GET", "/analytics/devices/d-{id}/uptime", "analytics:read"),
        Shape(2, "GET", "/api/analytics/fleet/site-{id}/firmware", "analytics:read"),
        Shape(1, "GET", "/analytics/healthz", "health:read"),
        Shape(2, "GET", "/notify", "notifications:read"),
        Shape(2, "GET", "/api/notifications/n-{id}", "notifications:read"),
        Shape(2, "GET", "/notifications?unread=true&cursor={id}", "notifications:read"),
        Shape(2, "POST", "/notify", "notifications:send", notification(rng, 2)),
        Shape(1, "POST", "/api/notifications", "notifications:send", notification(rng, 24)),
        Shape(1, "GET", "/api/notify/healthz", "health:read"),
        Shape(2, "GET", "/ws/devices/d-{id}/events", "ws:connect"),
        Shape(1, "GET", "/api/ws/fleet/site-{id}", "ws:connect"),
        Shape(1, "GET", "/ws/healthz", "health:read"),
        # The auth service is public: clients come here without a token to get one.
        Shape(1, "GET", "/auth/realms/systemupdate/.well-known/openid-configuration", "auth:access", token=False),
        Shape(2, "POST", f"/auth/{realm}/token", "auth:access", token_form(rng, "password"), form, token=False),
        Shape(1, "GET", f"/api/auth/{realm}/certs", "auth:access", token=False),
        Shape(1, "POST", f"/api/auth/{realm}/token", "auth:access", token_form(rng, "refresh_token"), form, token=False),
        Shape(1, "POST", f"/auth/{realm}/logout", "auth:access", token_form(rng, "refresh_token"), form, token=False),
    )


# --- tokens -------------------------------------------------------------------------------------

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def key_id(key):
    """Keycloak's kids look like this: 43 base64url characters."""
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return b64url(hashlib.sha256(der).digest())


def jwks(key):
    numbers = key.public_key().public_numbers()

    def b64int(value):
        return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))

    return {"keys": [{"kid": key_id(key), "kty": "RSA", "alg": "RS256", "use": "sig",
                      "n": b64int(numbers.n), "e": b64int(numbers.e)}]}


def public_pem(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def sign(key, claims):
    header = b64url(compact({"alg": "RS256", "typ": "JWT", "kid": key_id(key)}).encode())
    payload = b64url(compact(claims).encode())
    signature = key.sign(f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{payload}.{b64url(signature)}"


GIVEN = ("Anna", "Bram", "Chloé", "Daan", "Emma", "Finn", "Greta", "Hugo", "Iris", "Jules", "Katrien", "Lars")
FAMILY = ("de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "Bos", "Vos", "Peters")


def uuid4(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def claims(persona, index, now, lifetime, rng):
    """An access token's claims as Keycloak writes them (realm and client roles, account roles)."""
    given, family = rng.choice(GIVEN), rng.choice(FAMILY)
    username = f"{given.lower()[:1]}{family.lower().replace(' ', '')}{index:04d}"
    resource_access = {"account": {"roles": ["manage-account", "view-profile"]}}
    if persona.client_roles:
        resource_access[CLIENT] = {"roles": list(persona.client_roles)}
    return {
        "exp": now + lifetime, "iat": now, "jti": uuid4(rng),
        "iss": ISSUER, "aud": [AUDIENCE, "account"], "sub": uuid4(rng), "typ": "Bearer", "azp": "portcullis-web",
        "acr": "1", "allowed-origins": ["https://console.systemupdate.example"],
        "realm_access": {"roles": [*persona.realm_roles, "default-roles-systemupdate", "offline_access", "uma_authorization"]},
        "resource_access": resource_access, "scope": "openid profile email", "sid": uuid4(rng),
        "email_verified": True, "name": f"{given} {family}", "preferred_username": username,
        "email": f"{username}@systemupdate.example",
    }


def persona_of(index, count):
    """Personas in their exact shares over `count` tokens."""
    total = sum(p.share for p in PERSONAS)
    bounds, running = [], 0
    for p in PERSONAS:
        running += p.share
        bounds.append(running)
    return PERSONAS[bisect.bisect_right(bounds, (index + 0.5) * total / count)]


@dataclass
class Tokens:
    tokens: list = field(default_factory=list)  # (persona, token), one subject each

    def sample(self):
        """The first token of each persona, for checking every shape against the gateway."""
        seen = {}
        for persona, token in self.tokens:
            seen.setdefault(persona, token)
        return seen

    def mean_size(self):
        return sum(len(t) for _, t in self.tokens) / len(self.tokens)


def mint(key, count, now, lifetime=4 * 3600, seed=11):
    rng = random.Random(seed)
    minted = Tokens()
    for i in range(count):
        persona = persona_of(i, count)
        minted.tokens.append((persona, sign(key, claims(persona, i, now, lifetime, rng))))
    return minted


# --- what the default policy answers -----------------------------------------------------------

def permits(data, persona, action):
    """data.systemupdate.authz.allow for an authenticated persona and an action (authz.rego's rules)."""
    if action in data["public_actions"]:
        return True
    roles = list(persona.realm_roles) if data["role_sources"]["realm_roles"] else []
    if CLIENT in data["role_sources"]["client_roles"]:
        roles += persona.client_roles
    for role in roles:
        for permission in data["roles"].get(role, {}).get("permissions", []):
            if permission in (action, "*") or (permission.endswith(":*") and action.startswith(permission[:-1])):
                return True
    return False


def denied_share(data, shapes, tokens):
    """The expected share of 403s when each request draws a shape by weight and a token uniformly."""
    total = sum(s.weight for s in shapes)
    per_persona = {}
    for persona, _ in tokens.tokens:
        per_persona[persona] = per_persona.get(persona, 0) + 1
    denied = 0.0
    for s in shapes:
        if not s.token:
            denied += s.weight * (0 if s.action in data["public_actions"] else 1)
            continue
        refused = sum(n for p, n in per_persona.items() if not permits(data, p, s.action))
        denied += s.weight * refused / len(tokens.tokens)
    return denied / total


def token_share(shapes):
    return sum(s.weight for s in shapes if s.token) / sum(s.weight for s in shapes)


# --- files for wrk ------------------------------------------------------------------------------

def lua_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "\\r").replace("\n", "\\n") + '"'


def write_lua_inputs(directory, shapes, tokens):
    """shapes.lua (a chunk returning the shapes and a weighted pick table) and tokens.txt."""
    entries, picks = [], []
    for number, s in enumerate(shapes, 1):
        parts = ", ".join(lua_string(p) for p in s.path.split("{id}"))
        entries.append(f"{{method = {lua_string(s.method)}, parts = {{{parts}}}, head = {lua_string(s.head())}, "
                       f"body = {lua_string(s.body)}, token = {'true' if s.token else 'false'}}}")
        picks += [str(number)] * s.weight
    shapes_file, tokens_file = directory / "shapes.lua", directory / "tokens.txt"
    shapes_file.write_text("return {\n  shapes = {\n    " + ",\n    ".join(entries) + "\n  },\n"
                           f"  picks = {{{', '.join(picks)}}},\n}}\n")
    tokens_file.write_text("".join(t + "\n" for _, t in tokens.tokens))
    return shapes_file, tokens_file


def render(shape, rng):
    """A shape as one concrete request (its ids drawn), for Python clients: method, path, body, headers."""
    path = "".join(part if i == 0 else f"{rng.randrange(100000, 1000000)}{part}"
                   for i, part in enumerate(shape.path.split("{id}")))
    headers = dict(line.split(": ", 1) for line in shape.head().split("\r\n") if line)
    return shape.method, path, shape.body.encode(), headers
