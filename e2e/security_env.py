"""The whole local system for the security end-to-end tests: the dev issuer (`portcullis idp`), the
upstream stubs (`portcullis stubs`) and the gateway (`portcullis serve`) with a routes.yaml derived
from the root one, every piece on free loopback ports.

Users, passwords and clients are read from the realm file the dev issuer serves
(realms/systemupdate-dev.json), never repeated here. Processes are started through
`gateway_env.spawn` (own process group, killed at exit) and stopped by the fixture that started them.
"""
import json
import random
import re
import socket
import time
from pathlib import Path

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway_env import Gateway, spawn, stop

ROOT = Path(__file__).resolve().parent.parent
REALM_FILE = ROOT / "realms" / "systemupdate-dev.json"
ROOT_ROUTES = ROOT / "routes.yaml"
STUB_COUNT = 7  # device, command, data-ingest, analytics, notification, auth, ws-hub (base+0..6)
ROOT_STUBS_BASE = 9101


def free_port_block(count: int = STUB_COUNT, attempts: int = 500) -> int:
    """The first of `count` consecutive loopback ports that are all free now (below the ephemeral
    range, so client sockets of the same run do not take them in between)."""
    for _ in range(attempts):
        base = random.randrange(20000, 32000 - count)
        sockets = []
        try:
            for i in range(count):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", base + i))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError(f"no block of {count} free consecutive ports found")


def wait_until(check, timeout: float, what: str, process=None, log=None):
    """Polls `check()` until it is truthy; fails early when `process` exits, with its log."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what}: process exited with {process.returncode}:\n{log() if log else ''}")
        try:
            result = check()
            if result:
                return result
        except requests.RequestException as e:
            last = e
        time.sleep(0.05)
    raise RuntimeError(f"{what}: not ready after {timeout} s ({last!r}):\n{log() if log else ''}")


class Realm:
    """The parts of a Keycloak realm export the tests need: users with their passwords and roles,
    the public client for password grants, the confidential service client."""

    def __init__(self, path: Path = REALM_FILE):
        self.path = path
        self.data = json.loads(path.read_text())
        self.name = self.data["realm"]

    def user(self, username: str) -> dict:
        for user in self.data.get("users", []):
            if user["username"] == username:
                return user
        raise KeyError(f"user {username!r} not in {self.path}")

    def password(self, username: str) -> str:
        for credential in self.user(username).get("credentials", []):
            if credential.get("type") == "password" and "value" in credential:
                return credential["value"]
        raise KeyError(f"user {username!r} has no plain password in {self.path}")

    def disabled_user(self) -> str:
        for user in self.data.get("users", []):
            if user.get("enabled") is False and not user["username"].startswith("service-account-"):
                return user["username"]
        raise KeyError(f"no disabled user in {self.path}")

    def password_client(self) -> dict:
        """The public client that may use the password grant (a CLI, as Keycloak's admin-cli)."""
        for client in self.data.get("clients", []):
            if client.get("publicClient") and client.get("directAccessGrantsEnabled"):
                return client
        raise KeyError(f"no public client with direct access grants in {self.path}")

    def service_client(self, role: str = "service") -> dict:
        """The confidential client whose service account (client_credentials) has the realm role `role`."""
        for user in self.data.get("users", []):
            if user.get("serviceAccountClientId") and role in user.get("realmRoles", []):
                for client in self.data.get("clients", []):
                    if client["clientId"] == user["serviceAccountClientId"] and client.get("secret"):
                        return client
        raise KeyError(f"no client with a service account in the role {role!r} in {self.path}")


def rsa_private_key_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


class DevIdP:
    """`portcullis idp` on a free port, with the test admin endpoints and (optionally) a signing key
    the test made itself, so it can forge tokens the gateway trusts."""

    def __init__(self, binary: Path, workdir: Path, realm: Realm, key_pem: bytes | None = None,
                 extra_args: tuple[str, ...] = ()):
        self.binary = binary
        self.realm = realm
        self.log_path = workdir / f"idp-{id(self)}.log"
        # Port 0: the issuer binds a free port itself (no race) and prints it.
        args = [str(binary), "idp", "--realm", str(realm.path), "--listen", "127.0.0.1:0", "--test-admin"]
        if key_pem is not None:
            key_path = workdir / f"idp-key-{id(self)}.pem"
            key_path.write_bytes(key_pem)
            args += ["--key", str(key_path)]
        args += list(extra_args)
        self.log = open(self.log_path, "wb")
        self.process = spawn(args, self.log, cwd=workdir)
        try:
            self.port = wait_until(self._listening_port, 20, "dev issuer", self.process, self.output)
            self.base = f"http://127.0.0.1:{self.port}"
            self.realm_url = f"{self.base}/realms/{realm.name}"
            self.token_url = f"{self.realm_url}/protocol/openid-connect/token"
            self.discovery = wait_until(self._discovery, 20, "dev issuer", self.process, self.output)
        except BaseException:
            self.close()
            raise
        self.issuer = self.discovery["issuer"]

    def _listening_port(self) -> int | None:
        found = re.search(r"^idp: .* listening on [^\s]+:(\d+)$", self.output(), re.M)
        return int(found.group(1)) if found else None

    def _discovery(self):
        r = requests.get(f"{self.realm_url}/.well-known/openid-configuration", timeout=2)
        return r.json() if r.status_code == 200 else None

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")

    def password_grant(self, username: str, password: str | None = None, client_id: str | None = None) -> requests.Response:
        form = {"grant_type": "password", "client_id": client_id or self.realm.password_client()["clientId"],
                "username": username, "password": self.realm.password(username) if password is None else password}
        return requests.post(self.token_url, data=form, timeout=10)

    def token(self, username: str) -> str:
        r = self.password_grant(username)
        assert r.status_code == 200, f"token for {username}: {r.status_code} {r.text}"
        return r.json()["access_token"]

    def client_credentials(self, role: str = "service", secret: str | None = None) -> requests.Response:
        client = self.realm.service_client(role)
        form = {"grant_type": "client_credentials", "client_id": client["clientId"],
                "client_secret": client["secret"] if secret is None else secret}
        return requests.post(self.token_url, data=form, timeout=10)

    def jwks(self) -> dict:
        return requests.get(self.discovery["jwks_uri"], timeout=5).json()

    def rotate_key(self, retire: bool = False) -> dict:
        r = requests.post(f"{self.base}/admin/test/rotate-key" + ("?retire=true" if retire else ""), timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    def set_jwks(self, mode: str, **options) -> None:
        r = requests.post(f"{self.base}/admin/test/jwks", json={"mode": mode, **options}, timeout=10)
        assert r.status_code == 200, r.text

    def close(self):
        stop(self.process)
        self.log.close()


class Stubs:
    """`portcullis stubs` on a free block of seven consecutive ports (service i on base + i)."""

    def __init__(self, binary: Path, workdir: Path, attempts: int = 3):
        for attempt in range(attempts):
            self.base_port = free_port_block()
            self.log_path = workdir / f"stubs-{self.base_port}.log"
            self.log = open(self.log_path, "wb")
            self.process = spawn([str(binary), "stubs", "--host", "127.0.0.1", "--base-port", str(self.base_port)],
                                 self.log, cwd=workdir)
            try:
                for i in range(STUB_COUNT):
                    url = f"http://127.0.0.1:{self.base_port + i}/healthz"
                    wait_until(lambda: requests.get(url, timeout=2).status_code == 200, 20, f"stub on {url}",
                               self.process, self.output)
                return
            except RuntimeError:
                self.close()
                # another process took a port of the block between the check and the bind: next block
                if attempt == attempts - 1 or "Address already in use" not in self.log_path.read_text(errors="replace"):
                    raise
            except BaseException:
                self.close()
                raise

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")

    def close(self):
        stop(self.process)
        self.log.close()


def routes_for(idp_port: int, stubs_base: int, root_routes: Path = ROOT_ROUTES) -> str:
    """The root routes.yaml with the issuer and the stubs moved to test ports, the policy directory
    made absolute, and {PORT}/{ADMIN_PORT} placeholders for `Gateway`. Fails loudly when the root
    file no longer has what is replaced, so the tests never reach a fixed port by accident."""
    text = root_routes.read_text()

    def replace(pattern, repl, expected_min=1):
        nonlocal text
        text, n = re.subn(pattern, repl, text, flags=re.MULTILINE)
        assert n >= expected_min, f"{root_routes}: {pattern!r} not found"

    replace(r"^listen: 127\.0\.0\.1:8080\b", "listen: 127.0.0.1:{PORT}")
    replace(r"(\n\s+listen: )127\.0\.0\.1:9901\b", r"\g<1>127.0.0.1:{ADMIN_PORT}")
    replace(r"http://127\.0\.0\.1:8180/", f"http://127.0.0.1:{idp_port}/")
    replace(r"http://127\.0\.0\.1:(91\d\d)\b",
            lambda m: f"http://127.0.0.1:{stubs_base + int(m.group(1)) - ROOT_STUBS_BASE}", STUB_COUNT)
    replace(r"^(\s+directory: )(\S+)", lambda m: m.group(1) + str((root_routes.parent / m.group(2)).resolve()))
    return text


class Stack:
    """Dev issuer + gateway in front of running stubs; `close` stops what it started."""

    def __init__(self, binary: Path, workdir: Path, realm: Realm, stubs: Stubs, key_pem: bytes | None = None,
                 env: dict | None = None, idp: DevIdP | None = None, wait_ready: bool = True):
        self.realm = realm
        self.stubs = stubs
        self.own_idp = idp is None
        self.idp = idp or DevIdP(binary, workdir, realm, key_pem=key_pem)
        try:
            self.gateway = Gateway(binary, workdir, routes_for(self.idp.port, stubs.base_port), env=env,
                                   wait_ready=wait_ready)
        except BaseException:
            if self.own_idp:
                self.idp.close()
            raise
        self.base = self.gateway.base

    def close(self):
        self.gateway.close()
        if self.own_idp:
            self.idp.close()
