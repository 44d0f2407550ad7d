"""`make demo` (scripts/demo.sh) without a person: on free ports (the demo's environment
overrides), its check mode runs the printed flows and exits; Ctrl-C stops every process it
started; a busy port is named and refused."""
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ROOT, binary_path
from security_env import free_port_block

DEMO = ROOT / "scripts" / "demo.sh"


@pytest.fixture
def ports():
    base = free_port_block(10)
    return {"GATEWAY_PORT": base, "ADMIN_PORT": base + 1, "IDP_PORT": base + 2, "STUBS_BASE_PORT": base + 3}


def environment(ports) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("AUTH_REQUIRED", "AUTHZ_REQUIRED", "OPA_REQUIRED", "DEMO_CHECK")}
    return env | {name: str(port) for name, port in ports.items()}


def all_ports(ports) -> list[int]:
    return [ports["GATEWAY_PORT"], ports["ADMIN_PORT"], ports["IDP_PORT"]] + [ports["STUBS_BASE_PORT"] + i for i in range(7)]


def session_members(sid: int) -> list[str]:
    """Processes still alive in the demo's session (the script started it with setsid)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            alive.append((stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
    return alive


def assert_nothing_left(sid: int, ports):
    assert session_members(sid) == []
    for port in all_ports(ports):
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # connections in TIME_WAIT are fine
            s.bind(("127.0.0.1", port))  # nobody listens any more


def test_demo_check_runs_the_seed_flow_and_stops_everything(ports):
    started = time.monotonic()
    process = subprocess.Popen([str(DEMO), str(binary_path()), "--check"], env=environment(ports), cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, out
    assert "demo check: 7 passed, 0 failed" in out, out
    assert "failed at systemupdate/authz.rego" in out, out  # the denial explained by its decision record
    assert "-> 201 " in out and "-> 403 " in out and "-> 401 " in out
    assert "echo: hello" in out
    assert "export OPERATOR_TOKEN=ey" in out and "export VIEWER_TOKEN=ey" in out
    assert f"http://127.0.0.1:{ports['GATEWAY_PORT']}/commands" in out
    assert_nothing_left(process.pid, ports)
    print(f"demo check took {time.monotonic() - started:.1f} s")


@pytest.mark.parametrize("how", ["ctrl_c_to_the_process_group", "sigterm_to_the_script_only"])
def test_demo_runs_until_interrupted_then_stops_everything_and_exits_0(ports, tmp_path, how):
    log = tmp_path / "demo.out"
    with open(log, "w") as out:
        process = subprocess.Popen([str(DEMO), str(binary_path())], env=environment(ports), cwd=ROOT,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while "Ctrl-C stops everything." not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        if how == "ctrl_c_to_the_process_group":
            os.killpg(process.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
        else:
            os.kill(process.pid, signal.SIGTERM)
        assert process.wait(timeout=40) == 0, log.read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert "demo: stopped" in log.read_text()
    assert_nothing_left(process.pid, ports)


def test_demo_names_a_busy_port_and_exits_non_zero(ports):
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", ports["IDP_PORT"]))
        holder.listen()
        result = subprocess.run([str(DEMO), str(binary_path()), "--check"], env=environment(ports), cwd=ROOT,
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"port {ports['IDP_PORT']} (dev issuer (IDP_PORT)) is busy" in result.stderr
