"""`portcullis serve` following a Git repository (issue 7): a real repository created here, served
by `file://`, the default bundle plus the `e2e-reader` role (sync_env.py). Commits turn an allow
into a deny and must be enforced within poll_interval + 1 s (polling) or 1 s (webhook); a commit
with a syntax error or a failing test is refused while the old revision serves; a restart with
the repository gone serves the persisted bundle; with no bundle ever activated, 503.
"""
import re
import time
from contextlib import contextmanager

import pytest
import requests

from conftest import binary_path
from gateway_env import Gateway
from sync_env import (PUSH_BODY, ROLE, PolicyRepo, gateway_config, metric, metric_labels, signature, status,
                      wait_for, webhook)

POLL = 1.0  # poll_interval of the polling tests, seconds


@contextmanager
def running(issuer, upstream, repo, workdir, *, poll="1s", webhook=False, cache=None, wait_ready=True, decision_log=""):
    workdir.mkdir(parents=True, exist_ok=True)
    cache = cache or workdir / "cache"
    g = Gateway(binary_path(), workdir, gateway_config(issuer, upstream, repo, cache, poll=poll, webhook=webhook,
                                                       decision_log=decision_log), wait_ready=wait_ready)
    try:
        yield g
    finally:
        g.close()


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def read_devices(g, token) -> int:
    return requests.get(g.base + "/devices/d-1", headers=auth(token), timeout=5).status_code


def assert_forbidden(g, token):
    r = requests.get(g.base + "/devices/d-1", headers=auth(token), timeout=5)
    assert r.status_code == 403, r.text
    assert r.headers["Content-Type"] == "application/json"
    assert r.json()["error"]["code"] == "forbidden"


def sync_status(g) -> dict:
    """The PolicySyncStatus JSON (PolicySource.swift `json`) as /v1/status shows it."""
    body = status(g)
    assert "policy_sync" in body, f"/v1/status has no policy_sync: {sorted(body)} (policy: {body.get('policy')})"
    return body["policy_sync"]


@pytest.fixture
def repo(tmp_path):
    return PolicyRepo(tmp_path)


@pytest.fixture(scope="module")
def reader(issuer):
    return issuer.token([ROLE], sub="reader-1", lifetime=600)


# --- a deny commit reaches the requests -----------------------------------------------------------

def test_a_deny_commit_is_enforced_within_poll_interval_plus_1s(issuer, upstream, repo, reader, tmp_path):
    with running(issuer, upstream, repo, tmp_path / "gw") as g:
        assert read_devices(g, reader) == 200
        body = status(g)
        assert body["policy"]["revision"] == repo.first
        sync = sync_status(g)
        assert sync["revision"] == repo.first
        assert sync["source"] == f"git {repo.url}#main:policies"
        assert sync["activated_at"] and sync["last_attempt_at"]
        assert sync["last_error"] is None and sync["restored_from_cache"] is False
        # No webhook secret configured: the endpoint does not exist.
        assert webhook(g).status_code == 404

        deny = repo.set_reader(False)
        committed = time.monotonic()
        _, waited = wait_for(lambda: read_devices(g, reader) == 403, timeout=POLL + 5, what="deny enforced by polling")
        print(f"\ncommit -> enforced by polling: {waited * 1000:.0f} ms (poll_interval {POLL:.0f} s, bound {POLL + 1:.0f} s)")
        assert time.monotonic() - committed <= POLL + 1
        assert_forbidden(g, reader)
        assert status(g)["policy"]["revision"] == deny
        assert sync_status(g)["revision"] == deny

        # Metrics: the revision in force, activations by result, the last success.
        revisions = {s["revision"]: s["value"] for s in metric_labels(g, "portcullis_policy_revision_info")}
        assert revisions.get(deny) == 1 and revisions.get(repo.first, 0) == 0, revisions
        assert metric(g, "portcullis_policy_activations_total", result="activated") >= 2
        wait_for(lambda: (metric(g, "portcullis_policy_activations_total", result="unchanged") or 0) >= 1,
                 timeout=POLL + 2, what="an unchanged poll counted")
        last = metric(g, "portcullis_policy_last_success_timestamp_seconds")
        assert last is not None and abs(time.time() - last) < POLL + 2


def test_a_deny_commit_is_enforced_within_1s_of_the_webhook(issuer, upstream, repo, reader, tmp_path):
    # Polling every 10 minutes: only the webhook can bring the commit in.
    with running(issuer, upstream, repo, tmp_path / "gw", poll="600s", webhook=True) as g:
        assert read_devices(g, reader) == 200
        deny = repo.set_reader(False)

        # Unsigned, signed with another secret, another scheme, a signature of another body: 401.
        for sig in (None, signature(PUSH_BODY, "another-secret-0123456789"), "sha1=" + "0" * 40,
                    signature(b'{"ref": "refs/heads/other"}'), "sha256=zz"):
            r = webhook(g, sig=sig)
            assert r.status_code == 401, (sig, r.status_code, r.text)
            assert r.headers["Content-Type"] == "application/json"
            assert r.json()["error"]["code"], r.text
            assert r.headers["WWW-Authenticate"].startswith("X-Hub-Signature-256"), r.headers
        assert read_devices(g, reader) == 200, "a refused webhook must not sync"
        assert status(g)["policy"]["revision"] == repo.first

        sent = time.monotonic()
        r = webhook(g)
        answered = time.monotonic() - sent
        assert r.status_code == 200, r.text
        outcome = r.json()
        assert outcome["result"] == "activated" and outcome["revision"] == deny and outcome["error"] is None, outcome
        _, waited = wait_for(lambda: read_devices(g, reader) == 403, timeout=5, what="deny enforced after the webhook")
        total = time.monotonic() - sent
        print(f"\nwebhook answered in {answered * 1000:.0f} ms; webhook -> enforced: {total * 1000:.0f} ms (bound 1000 ms)")
        assert total <= 1.0
        assert status(g)["policy"]["revision"] == deny

        again = webhook(g)
        assert again.status_code == 200 and again.json()["result"] == "unchanged", again.text


# --- refused commits ------------------------------------------------------------------------------

def test_a_commit_with_a_syntax_error_is_refused_and_the_old_policy_serves(issuer, upstream, repo, reader, tmp_path):
    with running(issuer, upstream, repo, tmp_path / "gw", poll="600s", webhook=True) as g:
        assert read_devices(g, reader) == 200
        bad = repo.break_syntax()  # also takes e2e-reader's permission away

        r = webhook(g)
        assert r.status_code == 200, r.text
        outcome = r.json()
        assert outcome["result"] == "refused" and outcome["revision"] == bad, outcome
        assert "policies/systemupdate/authz.rego:" in outcome["error"] and "rego_parse_error" in outcome["error"], outcome

        assert read_devices(g, reader) == 200, "the old revision must keep serving"
        assert status(g)["policy"]["revision"] == repo.first
        sync = sync_status(g)
        assert sync["revision"] == repo.first
        assert sync["last_refused_commit"] == bad
        assert sync["last_error_at"]
        location = re.search(r"policies/systemupdate/authz\.rego:(\d+):(\d+)", sync["last_error"] or "")
        assert location, sync["last_error"]
        assert int(location.group(1)) in (repo.broken_line, repo.broken_line + 1), (sync["last_error"], repo.broken_line)
        print(f"\nrefused: {sync['last_error']}")

        # Not compiled again while the branch stays there.
        assert webhook(g).json()["result"] == "skipped_refused"
        assert metric(g, "portcullis_policy_activations_total", result="refused") == 1
        assert metric(g, "portcullis_policy_activations_total", result="skipped_refused") == 1

        # The fix (the deny without the syntax error) is taken as soon as it is pushed.
        (repo.bundle / "authz.rego").write_text((repo.bundle / "authz.rego").read_text().replace("\nbroken if {\n", ""))
        fixed = repo.commit("fix the syntax error")
        outcome = webhook(g).json()
        assert outcome["result"] == "activated" and outcome["revision"] == fixed, outcome
        assert_forbidden(g, reader)


def test_a_commit_whose_tests_fail_is_refused(issuer, upstream, repo, reader, tmp_path):
    with running(issuer, upstream, repo, tmp_path / "gw", poll="600s", webhook=True) as g:
        assert read_devices(g, reader) == 200
        bad = repo.add_failing_test()  # also takes e2e-reader's permission away
        outcome = webhook(g).json()
        assert outcome["result"] == "refused" and outcome["revision"] == bad, outcome
        assert "test_e2e_reader_is_denied_everything" in outcome["error"], outcome
        assert read_devices(g, reader) == 200, "the old revision must keep serving"
        sync = sync_status(g)
        assert sync["revision"] == repo.first and sync["last_refused_commit"] == bad
        assert "test_e2e_reader_is_denied_everything" in sync["last_error"]


# --- outages --------------------------------------------------------------------------------------

def test_a_restart_with_the_repository_unreachable_serves_the_persisted_bundle(issuer, upstream, repo, reader, tmp_path):
    cache = tmp_path / "cache"
    admin = issuer.token(["admin"], sub="admin-1")
    with running(issuer, upstream, repo, tmp_path / "first", webhook=True, poll="600s", cache=cache) as g:
        assert read_devices(g, reader) == 200
        deny = repo.set_reader(False)
        assert webhook(g).json()["result"] == "activated"
        assert_forbidden(g, reader)

    with repo.unreachable():
        with running(issuer, upstream, repo, tmp_path / "second", poll="1s", cache=cache) as g:
            # Ready at once, on the persisted revision: the deny commit, not the first one.
            assert status(g)["policy"]["revision"] == deny
            assert_forbidden(g, reader)
            assert read_devices(g, admin) == 200
            sync, waited = wait_for(lambda: (s := sync_status(g))["last_error"] and s, timeout=POLL + 3,
                                    what="the failed fetch in the status")
            assert sync["revision"] == deny and sync["restored_from_cache"] is True
            assert sync["counts"].get("fetch_failed", 0) >= 1, sync
            assert metric(g, "portcullis_policy_activations_total", result="fetch_failed") >= 1
            assert requests.get(g.admin + "/readyz", timeout=5).status_code == 200
            assert_forbidden(g, reader)
            print(f"\nrestart without the repository: serving {deny[:12]} from the cache; last_error: {sync['last_error']}")


def test_no_bundle_yet_is_503_until_the_repository_is_reachable(issuer, upstream, repo, reader, tmp_path):
    config = gateway_config(issuer, upstream, repo, tmp_path / "cache", poll="1s")
    with repo.unreachable():
        g = Gateway(binary_path(), tmp_path, config, wait_ready=False)
        try:
            wait_for(lambda: status(g).get("policy_sync", {}).get("last_error") or status(g)["policy"].get("last_error"),
                     timeout=5, what="the first sync failed")
            r = requests.get(g.base + "/auth/login", timeout=5)  # a public route: only the policy is missing
            assert r.status_code == 503 and r.json()["error"]["code"] == "policy_unavailable", r.text
            assert requests.get(g.admin + "/readyz", timeout=5).status_code == 503
            assert status(g)["policy"]["revision"] is None
            assert sync_status(g)["revision"] is None
        except BaseException:
            g.close()
            raise
    try:
        back = time.monotonic()
        _, waited = wait_for(lambda: requests.get(g.base + "/auth/login", timeout=5).status_code == 200,
                             timeout=POLL + 5, what="policy served once the repository is back")
        print(f"\nrepository back -> policy served: {waited * 1000:.0f} ms (bound {POLL + 1:.0f} s)")
        assert time.monotonic() - back <= POLL + 1
        assert read_devices(g, reader) == 200
        assert status(g)["policy"]["revision"] == repo.first
        assert requests.get(g.admin + "/readyz", timeout=5).status_code == 200
    finally:
        g.close()
