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
