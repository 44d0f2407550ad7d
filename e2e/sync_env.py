"""Shared pieces of the policy-sync and decision-log end-to-end tests (issue 7): a real Git
repository holding the default bundle (served by `file://`), a gateway configuration that follows
it, the webhook's signature, and readers for /v1/status, /metrics and the decision files.

The repository is the default bundle (rego-lite/policies/systemupdate under `policies/`) plus one
role of its own, `e2e-reader` with `devices:read`: the default bundle's tests know nothing of that
role, so a commit that takes the permission away turns an allow into a deny (a token with only
that role reading /devices) while every `*_test.rego` still passes."""
import hashlib
import hmac
import json
import shutil
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from conftest import ROOT

ROLE = "e2e-reader"
WEBHOOK_SECRET = "e2e-webhook-secret-0123456789"

CONFIG = """
listen: 127.0.0.1:{PORT}
admin: {listen: 127.0.0.1:{ADMIN_PORT}}
shutdown_grace: 5s
issuers:
  - issuer: ISSUER
    jwks_uri: JWKS
    audiences: [portcullis]
    algorithms: [RS256]
policy:
  git:
    url: "REPO_URL"
    branch: main
    path: policies
    poll_interval: POLL
    cache_dir: CACHE
    require_tests_pass: true
WEBHOOK
  required: true
DECISION_LOG
routes:
  - id: devices
    match: {path_prefix: /devices}
    upstream: {urls: [http://127.0.0.1:UP]}
  - id: commands
    match: {path_prefix: /commands}
    upstream: {urls: [http://127.0.0.1:UP]}
    policy: {query: data.systemupdate.authz.decision}
  - id: auth
    match: {path_prefix: /auth}
    upstream: {urls: [http://127.0.0.1:UP]}
    auth: {mode: public}
"""


def gateway_config(issuer, upstream, repo: "PolicyRepo", cache: Path, poll="1s", webhook=False, decision_log="") -> str:
    """routes.yaml text for `Gateway`: the policy follows `repo`; `decision_log` is the YAML
    mapping's body (indented by two spaces), e.g. `file: {path: ...}`."""
    hook = f"    webhook_secret: {WEBHOOK_SECRET}" if webhook else ""
    log = "decision_log:\n" + "\n".join("  " + line for line in decision_log.strip().splitlines()) if decision_log else ""
    text = (CONFIG.replace("ISSUER", issuer.url).replace("JWKS", issuer.jwks_uri).replace("REPO_URL", repo.url)
            .replace("POLL", poll).replace("CACHE", str(cache)).replace("UP", str(upstream.port))
            .replace("WEBHOOK\n", hook + "\n" if hook else "").replace("DECISION_LOG\n", log + "\n" if log else ""))
    return text


def git(repo: Path, *args: str) -> str:
    env = {"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(repo.parent), "PATH": "/usr/bin:/bin:/usr/local/bin"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout.strip()


class PolicyRepo:
    """The origin repository, with the default bundle under `policies/` and the `e2e-reader` role."""

    def __init__(self, parent: Path):
        self.path = parent / "origin"
        self.bundle = self.path / "policies" / "systemupdate"
        self.bundle.parent.mkdir(parents=True)
        git(self.path, "init", "--quiet", "--initial-branch=main")
        git(self.path, "config", "user.email", "e2e@example.invalid")
        git(self.path, "config", "user.name", "e2e")
        shutil.copytree(ROOT / "rego-lite" / "policies" / "systemupdate", self.bundle)
        self.first = self.set_reader(True, "default bundle + e2e-reader")

    @property
    def url(self) -> str:
        return f"file://{self.path}"

    def head(self) -> str:
        return git(self.path, "rev-parse", "HEAD")

    def commit(self, message: str) -> str:
        git(self.path, "add", "--all")
        git(self.path, "commit", "--quiet", "-m", message)
        return self.head()

    def set_reader(self, allowed: bool, message: str | None = None, commit: bool = True) -> str | None:
        """`e2e-reader` gets `devices:read` (allowed) or no permission (every request denied)."""
        data_path = self.bundle / "data.json"
        data = json.loads(data_path.read_text())
        data["roles"][ROLE] = {"description": "e2e tests: flipped by commits",
                               "permissions": ["devices:read"] if allowed else []}
        data_path.write_text(json.dumps(data, indent=2) + "\n")
        if not commit:
            return None
        return self.commit(message or f"{ROLE}: {'allow' if allowed else 'deny'} devices:read")

    def break_syntax(self) -> str:
        """A deny for e2e-reader together with a syntax error at the end of authz.rego."""
        self.set_reader(False, commit=False)
        authz = self.bundle / "authz.rego"
        text = authz.read_text()
        authz.write_text(text + "\nbroken if {\n")
        self.broken_line = text.count("\n") + 2  # the line of `broken if {`
        return self.commit("deny e2e-reader, with a syntax error")

    def add_failing_test(self) -> str:
        """A deny for e2e-reader together with a test rule that fails."""
        self.set_reader(False, commit=False)
        (self.bundle / "e2e_test.rego").write_text(
            "package systemupdate.e2e_test\n\nimport rego.v1\n\nimport data.systemupdate.authz\n\n"
            "test_e2e_reader_is_denied_everything if {\n\tauthz.allow with input as {\"route\": \"nope\"}\n}\n")
        return self.commit("deny e2e-reader, with a failing test")

    @contextmanager
    def unreachable(self):
        """The repository is gone (renamed away) inside the block, back afterwards."""
        hidden = self.path.with_name("origin-hidden")
        self.path.rename(hidden)
        try:
            yield
        finally:
            hidden.rename(self.path)


def signature(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


PUSH_BODY = json.dumps({"ref": "refs/heads/main", "repository": {"full_name": "e2e/policies"}}).encode()


def webhook(gateway, body: bytes = PUSH_BODY, sig: str | None = "valid", timeout: float = 30) -> requests.Response:
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push"}
    if sig == "valid":
        headers["X-Hub-Signature-256"] = signature(body)
    elif sig is not None:
        headers["X-Hub-Signature-256"] = sig
    return requests.post(gateway.admin + "/v1/policy/sync", data=body, headers=headers, timeout=timeout)


def status(gateway) -> dict:
    return requests.get(gateway.admin + "/v1/status", timeout=5).json()


def metric(gateway, name: str, **labels) -> float | None:
    """The sum of the samples of `name` whose labels include `labels` (None: no such sample)."""
    text = requests.get(gateway.admin + "/metrics", timeout=5).text
    total = None
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total = (total or 0.0) + sample.value
    return total


def metric_labels(gateway, name: str) -> list[dict]:
    text = requests.get(gateway.admin + "/metrics", timeout=5).text
    return [dict(s.labels, value=s.value) for f in text_string_to_metric_families(text) for s in f.samples if s.name == name]


def wait_for(condition, timeout: float, interval: float = 0.02, what: str = "condition"):
    """Calls `condition()` until it returns something truthy; returns (value, seconds waited)."""
    started = time.monotonic()
    while True:
        value = condition()
        if value:
            return value, time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(interval)


def log_files(base: Path) -> list[Path]:
    """`decisions.log` and its rotations, oldest first (as `decisions query` wants them)."""
    rotated = sorted((p for p in base.parent.glob(base.name + ".*") if p.suffix[1:].isdigit()),
                     key=lambda p: -int(p.suffix[1:]))
    return rotated + ([base] if base.exists() else [])


def read_records(base: Path) -> list[dict]:
    records = []
    for path in log_files(base):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            assert line.strip(), f"{path}:{number}: empty line"
            records.append(json.loads(line))  # a split or mixed line fails here
    return records
