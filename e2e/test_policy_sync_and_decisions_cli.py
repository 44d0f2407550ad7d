"""`portcullis policy sync` against a real Git repository, and `portcullis decisions query|tail`
over decision logs written here by Python (OPA's record shape), including rotated files.
"""
import json
import shutil
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from conftest import ROOT, binary_path


def git(repo: Path, *args: str) -> str:
    env = {"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(repo.parent), "PATH": "/usr/bin:/bin:/usr/local/bin"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout.strip()


def make_repository(tmp_path: Path) -> Path:
    repo = tmp_path / "origin"
    (repo / "policies").mkdir(parents=True)
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "config", "user.email", "e2e@example.invalid")
    git(repo, "config", "user.name", "e2e")
    shutil.copytree(ROOT / "rego-lite" / "policies" / "systemupdate", repo / "policies" / "systemupdate")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "default bundle")
    return repo


def routes(tmp_path: Path, repo: Path) -> Path:
    path = tmp_path / "routes.yaml"
    path.write_text(f"""\
policy:
  git: {{url: "file://{repo}", path: policies, cache_dir: cache}}
routes:
  - id: r
    match: {{path_prefix: /r}}
    upstream: {{urls: [http://127.0.0.1:9101]}}
    auth: {{mode: public}}
""")
    return path


def test_policy_sync_activates_refuses_and_keeps_the_last_good_bundle(cli, tmp_path):
    repo = make_repository(tmp_path)
    config = routes(tmp_path, repo)
    good = git(repo, "rev-parse", "HEAD")

    status, out, err = cli.run("policy", "sync", "--config", str(config), "--json")
    assert status == 0, err
    assert out["outcome"]["result"] == "activated"
    assert out["outcome"]["revision"] == good
    assert out["status"]["revision"] == good

    status, out, _ = cli.run("policy", "sync", "--config", str(config), "--json")
    assert status == 0 and out["outcome"]["result"] == "unchanged"

    authz = repo / "policies" / "systemupdate" / "authz.rego"
    authz.write_text(authz.read_text() + "\nbroken if {\n")
    git(repo, "commit", "--quiet", "-am", "syntax error")
    bad = git(repo, "rev-parse", "HEAD")
    status, out, _ = cli.run("policy", "sync", "--config", str(config), "--json")
    assert status == 1
    assert out["outcome"]["result"] == "refused" and out["outcome"]["revision"] == bad
    assert "policies/systemupdate/authz.rego:" in out["outcome"]["error"]
    assert "rego_parse_error" in out["outcome"]["error"]
    # The last good bundle stays in the cache, served by the next start.
    manifest = json.loads((tmp_path / "cache" / "last-good.json").read_text())
    assert manifest["commit"] == good
    assert out["status"]["revision"] == good and out["status"]["restored_from_cache"] is True


def record(n: int, *, allowed: bool, route: str, sub: str, when: datetime) -> dict:
    return {
        "decision_id": f"00000000-0000-4000-8000-{n:012d}",
        "timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond:06d}000Z",
        "path": "systemupdate/authz/allow",
        "input": {"method": "GET", "path": f"/{route}/{n}", "route": route,
                  "token": {"payload": {"sub": sub}}},
        "result": allowed, "revision": "abc", "labels": {"id": "e2e", "version": "0"},
        "request_id": f"req-{n}", "route": route, "stage": "authz",
        "status": 200 if allowed else 403, "allowed": allowed, "enforced": True,
        "reasons": [] if allowed else [f"reason {n}"],
    }


def write_rotated_log(directory: Path) -> tuple[Path, datetime]:
    """60 records: decisions.log.2 (0-19), .1 (20-39), decisions.log (40-59); every 3rd denied."""
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    base = directory / "decisions.log"
    for index, name in enumerate(["decisions.log.2", "decisions.log.1", "decisions.log"]):
        with open(directory / name, "w") as f:
            for n in range(index * 20, index * 20 + 20):
                rec = record(n, allowed=n % 3 != 0, route="devices" if n % 2 == 0 else "commands",
                             sub="bob" if n % 5 == 0 else "alice", when=start + timedelta(seconds=n))
                f.write(json.dumps(rec) + "\n")
    return base, start


def query(cli, *args):
    """JSON lines output, parsed line by line."""
    proc = subprocess.run([str(cli.path), "decisions", "query", *args], capture_output=True, text=True, timeout=30)
    lines = [json.loads(line) for line in proc.stdout.splitlines()] if proc.returncode == 0 else proc.stdout
    return proc.returncode, lines, proc.stderr


def test_decisions_query_filters_rotated_files(cli, tmp_path):
    base, start = write_rotated_log(tmp_path)
    files = [str(base), str(base) + ".1", str(base) + ".2"]   # as a shell glob lists them

    status, records, _ = query(cli, *files, "--format", "json")
    assert status == 0 and [r["request_id"] for r in records] == [f"req-{n}" for n in range(60)]

    status, records, _ = query(cli, *files, "--deny", "--route", "devices", "--format", "json")
    assert [r["request_id"] for r in records] == [f"req-{n}" for n in range(60) if n % 3 == 0 and n % 2 == 0]

    status, records, _ = query(cli, *files, "--sub", "bob", "--allow", "--limit", "2", "--format", "json")
    assert [r["request_id"] for r in records] == ["req-50", "req-55"]

    since = (start + timedelta(seconds=57)).strftime("%Y-%m-%dT%H:%M:%SZ")
    status, records, _ = query(cli, *files, "--since", since, "--format", "json")
    assert [r["request_id"] for r in records] == ["req-57", "req-58", "req-59"]

    status, records, _ = query(cli, *files, "--decision-id", "00000000-0000-4000-8000-000000000042", "--format", "json")
    assert [r["request_id"] for r in records] == ["req-42"]

    status, table, _ = cli.run("decisions", "query", *files, "--request-id", "req-3")
    assert status == 0
    header, row = table.splitlines()
    assert header.split()[:3] == ["TIME", "DECISION_ID", "ROUTE"]
    assert "commands" in row and "403" in row and "reason 3" in row and "alice" in row

    status, _, _ = cli.run("decisions", "query", *files, "--route", "nope")
    assert status == 1
    status, _, err = cli.run("decisions", "query", *files, "--since", "yesterday")
    assert status == 2 and "--since" in err


def test_decisions_tail_follows_across_rotation(tmp_path):
    log = tmp_path / "decisions.log"
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    log.write_text(json.dumps(record(0, allowed=False, route="r", sub="s", when=start)) + "\n")
    proc = subprocess.Popen([str(binary_path()), "decisions", "tail", str(log), "--deny", "--format", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.6)  # starts at the end: record 0 is not printed
        with open(log, "a") as f:
            f.write(json.dumps(record(1, allowed=True, route="r", sub="s", when=start)) + "\n")
            f.write(json.dumps(record(2, allowed=False, route="r", sub="s", when=start)) + "\n")
        time.sleep(0.6)
        log.rename(tmp_path / "decisions.log.1")
        log.write_text(json.dumps(record(3, allowed=False, route="r", sub="s", when=start)) + "\n")
        seen = []
        deadline = time.time() + 10
        while len(seen) < 2 and time.time() < deadline:
            line = proc.stdout.readline()
            if line:
                seen.append(json.loads(line)["request_id"])
        assert seen == ["req-2", "req-3"]
    finally:
        proc.kill()
        proc.wait(timeout=5)
