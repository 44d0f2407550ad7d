"""Shared fixtures for the end-to-end tests: the real `portcullis` binary, driven as a user would."""
import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def binary_path() -> Path:
    path = Path(os.environ.get("PORTCULLIS_BIN", ROOT / ".build" / "debug" / "portcullis"))
    if not path.exists():
        pytest.exit(f"portcullis binary not found at {path}: run `make build` first (or set PORTCULLIS_BIN)", returncode=2)
    return path


class CLI:
    """Runs `portcullis ...` and returns (exit status, parsed JSON stdout or raw text, stderr)."""

    def __init__(self, path: Path):
        self.path = path

    def run(self, *args: str, stdin: str | None = None, timeout: float = 30):
        proc = subprocess.run([str(self.path), *args], input=stdin, capture_output=True, text=True, timeout=timeout)
        try:
            out = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else proc.stdout
        except json.JSONDecodeError:
            out = proc.stdout
        return proc.returncode, out, proc.stderr


@pytest.fixture(scope="session")
def cli() -> CLI:
    return CLI(binary_path())


@pytest.fixture(scope="module")
def issuer():
    """A signing key with its JWKS served on loopback (gateway tests)."""
    from gateway_env import Issuer
    i = Issuer()
    yield i
    i.stop()


@pytest.fixture(scope="module")
def upstream():
    """An HTTP upstream that records what it received (gateway tests)."""
    from gateway_env import Upstream
    u = Upstream()
    yield u
    u.stop()


# --- the security suite's closing line ---------------------------------------------------------
# `security e2e: N passed, M failed in X s`, timed from the first security test's setup (which
# starts the issuer, the stubs and the gateway) to the last one's teardown (which stops them).

SECURITY_FILE = "test_security.py"
_security = {"passed": 0, "failed": 0, "skipped": 0, "start": None, "end": None}


def pytest_runtest_logstart(nodeid, location):
    if SECURITY_FILE in nodeid and _security["start"] is None:
        import time
        _security["start"] = time.monotonic()


def pytest_runtest_logreport(report):
    if SECURITY_FILE not in report.nodeid:
        return
    import time
    _security["end"] = time.monotonic()
    if report.failed:
        _security["failed"] += 1
    elif report.skipped and report.when in ("setup", "call"):
        _security["skipped"] += 1
    elif report.passed and report.when == "call":
        _security["passed"] += 1


def pytest_terminal_summary(terminalreporter):
    if _security["start"] is None:
        return
    seconds = (_security["end"] or _security["start"]) - _security["start"]
    skipped = f", {_security['skipped']} skipped" if _security["skipped"] else ""
    terminalreporter.write_line(f"security e2e: {_security['passed']} passed, {_security['failed']} failed{skipped} in {seconds:.1f} s")
