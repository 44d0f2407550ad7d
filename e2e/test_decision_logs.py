"""Decision records written by `portcullis serve` (issue 7): the policy follows a real Git
repository (sync_env.py), so every record's `revision` is a commit SHA. Records for an allow, a
deny and an authentication failure have the right fields and no credential; the admin API serves
them from the ring; 10,000 requests under load with `overflow: block` give 10,000 records across
rotated files, and `portcullis decisions query --deny` finds exactly the denied ones; SIGTERM
leaves every accepted record on disk; with `overflow: drop` what is not written is counted.
"""
import http.client
import json
import re
import signal
import subprocess
import threading
import time
import uuid

import pytest
import requests

from conftest import binary_path
from gateway_env import Gateway
from sync_env import ROLE, PolicyRepo, gateway_config, log_files, metric, read_records, status, wait_for

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
RFC3339_NS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")
LOCATION = re.compile(r"authz\.rego:\d+:\d+$")


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def tampered(token: str) -> str:
    header, payload, sig = token.split(".")
    return f"{header}.{payload}.{sig[:-6]}{'AAAAAA' if not sig.endswith('AAAAAA') else 'BBBBBB'}"


def walk_keys(value, path=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield f"{path}/{k}", k
            yield from walk_keys(v, f"{path}/{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk_keys(v, f"{path}/{i}")


def records_by_request_id(log, ids, timeout=5.0) -> dict:
    def ready():
        found = {r["request_id"]: r for r in read_records(log) if r["request_id"] in ids} if log.exists() else {}
        return found if len(found) == len(ids) else None
    found, _ = wait_for(ready, timeout=timeout, interval=0.05, what=f"records {sorted(ids)} in {log}")
    return found


# --- one allow, one deny, two authentication failures ---------------------------------------------

MASKS = """
mask:
  - {op: erase, path: /input/headers/x-e2e-secret}
  - {op: upsert, path: /input/token/payload/email, value: "***"}
"""


@pytest.fixture(scope="module")
def logged(issuer, upstream, tmp_path_factory):
    """A gateway logging to a file, a ring of 100, two masks; the six requests of the module."""
    work = tmp_path_factory.mktemp("records")
    repo = PolicyRepo(work)
    log = work / "decisions.log"
    config = gateway_config(issuer, upstream, repo, work / "cache", poll="600s", decision_log=f"""
file: {{path: {log}, max_size: 1MiB, max_files: 3}}
flush_interval: 50ms
ring_size: 100
{MASKS}""")
    g = Gateway(binary_path(), work, config)
    reader = issuer.token([ROLE], sub="reader-1", email="reader@example.com")
    operator = issuer.token(["operator"], sub="operator-1")
    sent = {
        # The token also in a query parameter, a cookie, and a header the mask erases.
        "allow": requests.get(g.base + f"/devices/d-1?copy={reader}&x=1",
                              headers={**auth(reader), "X-Request-ID": "e2e-allow-1", "X-E2E-Secret": "hide-me",
                                       "Cookie": "session=cookie-secret"}),
        "deny": requests.patch(g.base + "/commands/c-1/ack", headers={**auth(operator), "X-Request-ID": "e2e-deny-1"}),
        "authn": requests.get(g.base + "/devices/d-1", headers={**auth(tampered(reader)), "X-Request-ID": "e2e-authn-1"}),
        "missing": requests.get(g.base + "/devices/d-1", headers={"X-Request-ID": "e2e-authn-2"}),
        # A public route (no authentication, the policy still decides), with a request id the gateway mints.
        "public": requests.get(g.base + "/auth/login"),
        # No route: neither authentication nor the policy ran, so no record.
        "unrouted": requests.get(g.base + "/nowhere", headers={**auth(reader), "X-Request-ID": "e2e-unrouted"}),
    }
    try:
        yield g, repo, log, sent, [reader, operator, tampered(reader)]
    finally:
        g.close()


def test_the_answers(logged):
    _, _, _, sent, _ = logged
    assert [sent[k].status_code for k in ("allow", "deny", "authn", "missing", "public", "unrouted")] == \
        [200, 403, 401, 401, 200, 404]
    for kind, code in (("deny", "forbidden"), ("authn", "invalid_token"), ("missing", "missing_token")):
        error = sent[kind].json()["error"]
        assert error["code"] == code
        assert UUID.match(error["details"]["decision_id"]), (kind, error)


def test_allow_record(logged):
    _, repo, log, sent, _ = logged
    record = records_by_request_id(log, {"e2e-allow-1"})["e2e-allow-1"]
    assert UUID.match(record["decision_id"]) and RFC3339_NS.match(record["timestamp"]), record
    assert record["path"] == "systemupdate/authz/allow"
    assert record["result"] is True
    assert record["revision"] == repo.first
    assert record["request_id"] == sent["allow"].headers["X-Request-ID"] == "e2e-allow-1"
    assert (record["route"], record["stage"], record["status"], record["allowed"], record["enforced"]) == \
        ("devices", "authz", 200, True, True)
    assert isinstance(record["reasons"], list)
    assert isinstance(record["metrics"]["timer_rego_query_eval_ns"], int) and record["metrics"]["timer_rego_query_eval_ns"] > 0
    assert set(record["labels"]) >= {"id", "version"}
    assert "explanation" not in record  # allowed requests are never explained
    inp = record["input"]
    assert (inp["method"], inp["path"], inp["route"], inp["authenticated"]) == ("GET", "/devices/d-1", "devices", True)
    assert inp["request_id"] == "e2e-allow-1"
    assert inp["token"]["payload"]["sub"] == "reader-1"
    # Masks: the erased header and the upserted e-mail, listed as OPA lists them.
    assert "x-e2e-secret" not in inp["headers"] and "/input/headers/x-e2e-secret" in record["erased"]
    assert inp["token"]["payload"]["email"] == "***" and "/input/token/payload/email" in record["masked"]
    # The token in the query parameter is gone, the other parameter stays.
    assert inp["query"].get("x") == ["1"]
    assert "copy" not in inp["query"] or not any(v.startswith("eyJ") for v in inp["query"]["copy"]), inp["query"]
    assert any(p.startswith("/input/query/copy") for p in record["erased"]), record["erased"]


def test_deny_record_explains_itself(logged):
    _, repo, log, sent, _ = logged
    record = records_by_request_id(log, {"e2e-deny-1"})["e2e-deny-1"]
    assert record["decision_id"] == sent["deny"].json()["error"]["details"]["decision_id"]
    assert record["request_id"] == sent["deny"].headers["X-Request-ID"]
    assert record["path"] == "systemupdate/authz/decision"
    assert record["result"]["allow"] is False and record["result"]["status"] == 403
    assert "no role grants commands:ack" in record["result"]["reasons"]
    assert (record["route"], record["stage"], record["status"], record["allowed"], record["enforced"]) == \
        ("commands", "authz", 403, False, True)
    assert record["reasons"] == record["result"]["reasons"]
    assert record["revision"] == repo.first
    assert record["input"]["method"] == "PATCH" and record["input"]["path"] == "/commands/c-1/ack"
    assert record["metrics"]["timer_rego_query_eval_ns"] > 0
    explanation = record["explanation"]
    assert explanation["bodies"], explanation
    failed = [b for b in _bodies(explanation) if b.get("result") == "failed"]
    assert failed, explanation
    for body in failed:
        assert LOCATION.search(body["location"]) and LOCATION.search(body["failed_at"]["location"]), body
        assert body["failed_at"]["text"]


def _bodies(explanation):
    """Every body of an explanation, nested ones (the decision's `allow`) included."""
    for body in explanation.get("bodies", []):
        yield body
        for value in body.values():
            if isinstance(value, dict) and "bodies" in value:
                yield from _bodies(value)
    for value in explanation.values():
        if isinstance(value, dict) and "bodies" in value:
            yield from _bodies(value)


def test_authentication_failure_records(logged):
    _, _, log, sent, _ = logged
    records = records_by_request_id(log, {"e2e-authn-1", "e2e-authn-2"})
    for kind, request_id in (("authn", "e2e-authn-1"), ("missing", "e2e-authn-2")):
        record = records[request_id]
        assert record["decision_id"] == sent[kind].json()["error"]["details"]["decision_id"]
        assert (record["route"], record["stage"], record["status"], record["allowed"]) == ("devices", "authn", 401, False)
        assert "result" not in record, record
        # Why: the invalid token's reason (bad_signature), or the error code (missing_token).
        error = sent[kind].json()["error"]
        assert record["error"] == error["details"].get("reason", error["code"]), record
        assert UUID.match(record["decision_id"]) and RFC3339_NS.match(record["timestamp"])


def test_public_route_record_carries_the_minted_request_id(logged):
    _, repo, log, sent, _ = logged
    minted = sent["public"].headers["X-Request-ID"]
    record = records_by_request_id(log, {minted})[minted]
    assert (record["route"], record["stage"], record["status"], record["allowed"], record["result"]) == \
        ("auth", "authz", 200, True, True)
    assert record["input"]["authenticated"] is False and "token" not in record["input"]
    assert record["input"]["request_id"] == minted and record["revision"] == repo.first


def test_no_credential_in_any_record(logged):
    _, _, log, _, tokens = logged
    records_by_request_id(log, {"e2e-allow-1", "e2e-deny-1", "e2e-authn-1", "e2e-authn-2"})
    text = "\n".join(p.read_text() for p in log_files(log))
    for token in tokens:
        header, payload, sig = token.split(".")
        assert token not in text and sig not in text and f"{header}.{payload}" not in text
    for secret in ("Bearer", "cookie-secret", "hide-me"):
        assert secret not in text, secret
    for line in text.splitlines():
        for pointer, key in walk_keys(json.loads(line)):
            assert key.lower() not in ("authorization", "proxy-authorization", "cookie", "set-cookie"), pointer


# --- the admin API --------------------------------------------------------------------------------

def test_admin_api_serves_the_ring(logged):
    g, _, log, sent, _ = logged
    minted = sent["public"].headers["X-Request-ID"]
    written = records_by_request_id(log, {"e2e-allow-1", "e2e-deny-1", "e2e-authn-1", "e2e-authn-2", minted})
    deny_id = sent["deny"].json()["error"]["details"]["decision_id"]

    one = requests.get(g.admin + f"/v1/decisions/{deny_id}", timeout=5)
    assert one.status_code == 200 and one.json() == written["e2e-deny-1"]
    assert requests.get(g.admin + f"/v1/decisions/{uuid.uuid4()}", timeout=5).status_code == 404

    newest = requests.get(g.admin + "/v1/decisions?limit=5", timeout=5).json()
    assert [r["request_id"] for r in newest] == [minted, "e2e-authn-2", "e2e-authn-1", "e2e-deny-1", "e2e-allow-1"]
    denied = requests.get(g.admin + "/v1/decisions?allowed=false&route=commands&since=10m", timeout=5).json()
    assert [r["request_id"] for r in denied] == ["e2e-deny-1"]
    by_sub = requests.get(g.admin + "/v1/decisions?sub=operator-1", timeout=5).json()
    assert [r["request_id"] for r in by_sub] == ["e2e-deny-1"]
    assert [r["request_id"] for r in requests.get(g.admin + "/v1/decisions?allowed=false&limit=1", timeout=5).json()] == ["e2e-authn-2"]
    bad = requests.get(g.admin + "/v1/decisions?colour=blue", timeout=5)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_request"

    # One record per request that reached authentication or the policy: not the unrouted one.
    stats = status(g)["decision_log"]
    assert (stats["accepted"], stats["written"], stats["dropped"]) == (5, 5, 0), stats
    assert "e2e-unrouted" not in {r["request_id"] for r in read_records(log)}
    assert metric(g, "portcullis_decision_logs_dropped_total", sink="queue") == 0


# --- load, rotation, query --------------------------------------------------------------------------

def load(base: str, requests_list, threads: int = 4):
    """Sends (method, path, headers, request id) on keep-alive connections; returns {request id: status}."""
    answers, lock = {}, threading.Lock()
    port = int(base.rsplit(":", 1)[1])

    def worker(chunk):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = {}
        for method, path, headers, request_id in chunk:
            conn.request(method, path, headers={**headers, "X-Request-ID": request_id})
            response = conn.getresponse()
            response.read()
            mine[request_id] = response.status
            if response.will_close:
                conn.close()
        conn.close()
        with lock:
            answers.update(mine)

    workers = [threading.Thread(target=worker, args=(requests_list[i::threads],)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return answers


def mixed_requests(issuer, n: int, prefix: str):
    """70 % allowed reads, 20 % denied writes (403), 10 % without a token (401)."""
    reader = auth(issuer.token([ROLE], sub="load-reader", lifetime=600))
    out = []
    for i in range(n):
        kind = i % 10
        if kind < 7:
            out.append(("GET", f"/devices/d-{i}", reader, f"{prefix}-{i}"))
        elif kind < 9:
            out.append(("POST", "/devices", reader, f"{prefix}-{i}"))
        else:
            out.append(("GET", f"/devices/d-{i}", {}, f"{prefix}-{i}"))
    return out


def test_10000_requests_under_load_give_10000_records_across_rotations(issuer, upstream, tmp_path):
    repo = PolicyRepo(tmp_path)
    log = tmp_path / "logs" / "decisions.log"
    log.parent.mkdir()
    max_size = 256 * 1024
    # The queue of test_drop_counts_what_it_does_not_write, where a fifth of the records are
    # dropped under this load: here every producer must wait for the writer instead.
    config = gateway_config(issuer, upstream, repo, tmp_path / "cache", poll="600s", decision_log=f"""
file: {{path: {log}, max_size: 256KiB, max_files: 1000}}
queue_size: 2
batch_size: 2
overflow: block
flush_interval: 50ms
""")
    g = Gateway(binary_path(), tmp_path, config)
    try:
        sent = mixed_requests(issuer, 10_000, "load")
        started = time.monotonic()
        answers = load(g.base, sent)
        seconds = time.monotonic() - started
        assert len(answers) == 10_000
        expected = {rid: (200 if m == "GET" and h else 403 if h else 401) for m, _, h, rid in sent}
        assert answers == expected, [(k, v, expected[k]) for k, v in answers.items() if v != expected[k]][:5]

        stats, waited = wait_for(lambda: (s := status(g)["decision_log"])["written"] >= 10_000 and s, timeout=15,
                                 what="10,000 records written")
        print(f"\n10,000 requests in {seconds:.1f} s ({10_000 / seconds:.0f} req/s), all written {waited * 1000:.0f} ms later; "
              f"{len(log_files(log))} files, stats {stats}")
        assert stats["accepted"] == 10_000 and stats["written"] == 10_000 and stats["dropped"] == 0, stats
        assert metric(g, "portcullis_decision_logs_dropped_total", sink="queue") == 0

        files = log_files(log)
        assert len(files) > 1 and stats["rotations"] == len(files) - 1, (files, stats)
        for path in files:
            assert path.stat().st_size <= max_size, path
        records = read_records(log)
        ids = [r["request_id"] for r in records]
        assert len(records) == 10_000 and set(ids) == set(expected), (len(records), len(set(ids)))
        assert all(r["revision"] == repo.first for r in records if r["stage"] == "authz")
        assert {r["request_id"]: r["status"] for r in records} == expected

        denied = {rid for rid, s in expected.items() if s != 200}
        proc = subprocess.run([str(binary_path()), "decisions", "query", *map(str, files), "--deny", "--format", "json"],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        found = [json.loads(line)["request_id"] for line in proc.stdout.splitlines()]
        assert len(found) == len(denied) == 3_000 and set(found) == denied
    finally:
        g.close()


def test_sigterm_leaves_every_accepted_record_on_disk(issuer, upstream, tmp_path):
    repo = PolicyRepo(tmp_path)
    log = tmp_path / "decisions.log"
    # The writer would wait a minute (or 10,000 records) before writing: only the shutdown writes.
    config = gateway_config(issuer, upstream, repo, tmp_path / "cache", poll="600s", decision_log=f"""
file: {{path: {log}}}
queue_size: 10000
batch_size: 10000
flush_interval: 60s
""")
    g = Gateway(binary_path(), tmp_path, config)
    try:
        sent = mixed_requests(issuer, 300, "term")
        answers = load(g.base, sent, threads=2)
        assert len(answers) == 300
        before = len(read_records(log)) if log.exists() else 0
        g.signal(signal.SIGTERM)
        assert g.process.wait(timeout=15) == 0
        records = read_records(log)
        print(f"\nbefore SIGTERM {before} records on disk, after exit {len(records)}")
        assert before < 300
        assert sorted(r["request_id"] for r in records) == sorted(rid for *_, rid in sent)
    finally:
        g.close()


def test_drop_counts_what_it_does_not_write(issuer, upstream, tmp_path):
    repo = PolicyRepo(tmp_path)
    log = tmp_path / "decisions.log"
    config = gateway_config(issuer, upstream, repo, tmp_path / "cache", poll="600s", decision_log=f"""
file: {{path: {log}}}
queue_size: 2
batch_size: 2
overflow: drop
flush_interval: 50ms
""")
    g = Gateway(binary_path(), tmp_path, config)
    try:
        answers = load(g.base, mixed_requests(issuer, 2_000, "drop"))
        assert len(answers) == 2_000
        stats, _ = wait_for(lambda: (s := status(g)["decision_log"])["accepted"] == s["written"] and s, timeout=10,
                            what="the queue drained")
        dropped = metric(g, "portcullis_decision_logs_dropped_total", sink="queue")
        lines = len(read_records(log))
        print(f"\noverflow drop, queue of 2: {lines} written + {stats['dropped']} dropped = 2000")
        assert stats["accepted"] + stats["dropped"] == 2_000
        assert lines == stats["written"] and lines + dropped == 2_000
    finally:
        g.close()
