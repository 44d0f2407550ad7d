#!/usr/bin/env python3
"""Gateway throughput, CPU and latency against nginx and HAProxy on production-shaped traffic.

Every server gets one worker (nginx worker_processes 1, HAProxy nbthread 1, portcullis workers: 1)
and proxies to the same upstream (nginx answering every path and method with a small fixed body).
wrk drives 64 connections with one thread.

Traffic (bench/gateway_traffic.py, bench/gateway_traffic.lua): --tokens (2,000) Keycloak-shaped
RS256 access tokens of ~1.3 KB, one subject each, their realm and client roles drawn from the
default policy's roles, and 42 request shapes over every route of routes.yaml (GET, POST, PUT,
PATCH, DELETE; JSON and form bodies of 0.1 to 2 KB). Every request draws a shape, a token and
the ids of its path at random, so per-connection caches seldom see a repeat, and about a quarter
of the requests are denied by the default policy for the caller's roles. The gateways run
routes.yaml itself (every route, identity headers, limits, the decision ring), pointed at the
bench's upstream and at an issuer whose keys are a JWKS file written here.

Rows (this traffic unless the name says otherwise):
  upstream direct                      wrk straight to the upstream
  nginx proxy_pass                     keep-alive pool of 64 to the upstream
  haproxy jwt_verify                   RS256 signature, alg, iss and exp checked on every request (else 401)
  portcullis (JWT + policy)            routes.yaml as it is (decisions kept in the in-memory ring only)
  portcullis + decision log (file)     the same plus decision_log.file
  ..., Connection: close               nginx and portcullis + decision log, one connection per request
  ..., one token, one path             nginx and portcullis, one token and GET /devices/d-42 on every request
Each row prints req/s, p50 and p99 with every connection as fast as it can, the server's CPU
µs per request (user + system from /proc around each run), and p50/p99 at a fixed offered load
below saturation: the same 64 connections each waiting a random 5-25 ms before every request
(about 4,000 req/s for every server), so p99 shows what a request pays for the hop and the work
rather than the queue in front of a saturated server.

After the rows, each portcullis row's /metrics deltas give its token-cache and decision-cache hit
rates and its share of 403s; a WARNING is printed when they do not fit the traffic (every token
looked up, misses at least the distinct tokens sent, decision-cache hits no more than the
tokenless requests allow, 403s at the share data.json implies).

Budgets (medians of --rounds):
  portcullis + decision log / nginx proxy_pass req/s             >= 0.8
  portcullis + decision log / haproxy jwt_verify req/s           >= 1.5
  Connection: close: portcullis + decision log / nginx           >= 0.5
  p99 added at the fixed load (portcullis + log - upstream)      <= 1 ms
  one token, one path: portcullis / nginx                        >= 0.85
  RSS right after start, before traffic                          <= 30 MB
  RSS with --idle-connections (10,000) idle keep-alive ones      <= 100 MB
--decision-log adds the decision-logging cost (1 - logged/unlogged req/s, budget <= 5 %) and the
logger's counts; --webhook adds a third gateway following a Git repository created here: FLIPS
commits each turn an allow into a deny or back, each followed by a signed POST /v1/policy/sync,
and the time from commit to the first request answered by the new revision (budget <= 1 s).
Exit status 1 when a budget is missed or a traffic check warns, 2 when a peer cannot run.

Usage: bench/gateway_bench.py [--binary PATH] [--rounds N] [--duration SECONDS] [--quick]
         [--tokens N] [--idle-connections N] [--decision-log] [--webhook] [--profile SECONDS]
"""
import argparse
import asyncio
import collections
import hashlib
import hmac
import http.client
import json
import math
import os
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
ROUTES = ROOT / "routes.yaml"
LUA = BENCH / "gateway_traffic.lua"
UNIFORM_PATH = "/devices/d-42"
TOKEN_HITS, TOKEN_MISSES = "portcullis_token_cache_hits_total", "portcullis_token_cache_misses_total"
DECISION_HITS, DECISION_MISSES = "portcullis_decision_cache_hits_total", "portcullis_decision_cache_misses_total"
GW, GW_LOG = "portcullis (JWT + policy)", "portcullis + decision log (file)"
NGINX, HAPROXY, DIRECT = "nginx proxy_pass", "haproxy jwt_verify", "upstream direct"
NGINX_CLOSE, GW_LOG_CLOSE = "nginx, Connection: close", "portcullis + log, Connection: close"
NGINX_UNIFORM, GW_UNIFORM = "nginx, one token, one path", "portcullis, one token, one path"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid):
    """User + system CPU seconds of a process and its children (nginx's worker under its master)."""
    total = 0.0
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        pids += [int(c) for c in (task / "children").read_text().split()]
    for p in pids:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def raise_open_files(wanted):
    """Lifts the soft limit on open files as far as the hard one allows (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = max(soft, wanted) if hard == resource.RLIM_INFINITY else hard
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


@dataclass
class Run:
    """One wrk run."""
    rps: float
    p50: float
    p99: float
    requests: int
    non2xx: int
    socket_errors: str
    cpu_us: float = float("nan")


def parse_wrk(text):
    latencies = {}
    for pct, value, unit in re.findall(r"^\s+(50|75|90|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", text, re.M):
        latencies[pct] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    socket_errors = re.search(r"Socket errors: (.*)", text)
    return Run(rps=float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
               p50=latencies.get("50", float("nan")), p99=latencies.get("99", float("nan")),
               requests=int(re.search(r"(\d+) requests in", text).group(1)),
               non2xx=int(errors.group(1)) if errors else 0,
               socket_errors=socket_errors.group(1) if socket_errors else "")


def wrk(url, duration, options, headers=None, connections=64):
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(LUA)]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run(cmd + [url, "--", *options], capture_output=True, text=True, check=True).stdout
    return parse_wrk(out)


def scrape(admin_port):
    """The gateway's metrics, each summed over its labels, and requests by status as status_<code>."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=10).read().decode()
    totals = collections.Counter()
    for name, labels, value in re.findall(r"^(portcullis_\w+)(?:\{(.*)\})? ([-+\w.]+)$", text, re.M):
        totals[name] += float(value)
        if name == "portcullis_requests_total":
            totals["status_" + re.search(r'status="(\d+)"', labels).group(1)] += float(value)
    return totals


def admin_json(admin_port, path):
    return json.loads(urllib.request.urlopen(f"http://127.0.0.1:{admin_port}{path}", timeout=5).read())


def wait_ready(admin_port):
    for _ in range(300):
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/readyz", timeout=1).status == 200:
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gateway on admin port {admin_port} not ready")


def statuses(port, requests):
    """The status of each (method, path, body, headers), over one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    answers = []
    try:
        for method, path, body, headers in requests:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            answers.append(response.status)
    finally:
        conn.close()
    return answers


# --- configuration of the servers --------------------------------------------------------------

def sub_once(pattern, replacement, text):
    new, count = re.subn(pattern, lambda m: replacement(m) if callable(replacement) else replacement, text, count=1, flags=re.M)
    if count != 1:
        raise RuntimeError(f"{ROUTES}: nothing matches {pattern!r}; bench/gateway_bench.py needs updating")
    return new


def replace_block(text, key, block):
    """Replaces a top-level key of a YAML file with its indented lines."""
    return sub_once(rf"^{key}:.*\n(?:[ \t]+.*\n|[ \t]*\n)*", block, text)


def policy_directory():
    return ROOT / re.search(r"(?m)^policy:\n(?:[ \t]+.*\n)*?[ \t]+directory:[ \t]*(\S+)", ROUTES.read_text()).group(1)


def gateway_config(listen, admin, upstream, jwks_file, issuer, audience, policy=None, decision_file=None):
    """routes.yaml itself, pointed at the bench's ports, upstream and issuer; one event loop."""
    text = sub_once(r"^listen: .*$", f"listen: 127.0.0.1:{listen}\nworkers: 1", ROUTES.read_text())
    text = replace_block(text, "admin", f"admin:\n  listen: 127.0.0.1:{admin}\n")
    text = sub_once(r"^shutdown_grace: .*$", "shutdown_grace: 2s", text)  # idle connections need not delay the end
    text = replace_block(text, "issuers", f"issuers:\n  - issuer: {issuer}\n    jwks_file: {jwks_file}\n"
                                          f"    audiences: [{audience}]\n    algorithms: [RS256]\n\n")
    if policy:
        text = replace_block(text, "policy", policy)
    else:
        text = sub_once(r"^([ \t]+directory:[ \t]*)(\S+)", lambda m: m.group(1) + str(ROOT / m.group(2)), text)
    if decision_file:
        file = f"  file: {{path: {decision_file}, max_size: 100MiB, max_files: 3}}\n"
        text = sub_once(r"^decision_log:\n", lambda m: m.group(0) + file, text)
    head, routes = text.split("\nroutes:\n", 1)
    return head + "\nroutes:\n" + re.sub(r"http://127\.0\.0\.1:\d+", upstream, routes)


def nginx_configs(work, up_port, nginx_port):
    body = json.dumps({"id": "d-42", "name": "sensor", "status": "online"})
    upstream = f"""
worker_processes 1; daemon off; pid {work}/upstream.pid; error_log {work}/upstream-error.log;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 1000000;
  server {{ listen 127.0.0.1:{up_port}; location / {{ default_type application/json; return 200 '{body}'; }} }} }}
"""
    proxy = f"""
worker_processes 1; daemon off; pid {work}/nginx.pid; error_log {work}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 1000000;
  upstream backend {{ server 127.0.0.1:{up_port}; keepalive 64; }}
  server {{ listen 127.0.0.1:{nginx_port};
    location / {{ proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }} }} }}
"""
    return upstream, proxy


def haproxy_config(port, up_port, public_key, issuer):
    """What the gateway checks of a token, HAProxy's way; the auth service is public in both."""
    check = "http-request deny deny_status 401 if !public !{ var(txn.bearer),"
    return f"""
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
frontend f
  bind 127.0.0.1:{port}
  acl public path_beg /auth/ /api/auth/
  http-request set-var(txn.bearer) http_auth_bearer if !public
  http-request set-var(txn.now) date() if !public
  {check}jwt_header_query('$.alg') -m str RS256 }}
  {check}jwt_payload_query('$.iss') -m str {issuer} }}
  {check}jwt_payload_query('$.exp','int'),sub(txn.now) -m int gt 0 }}
  {check}jwt_verify("RS256","{public_key}") -m int 1 }}
  default_backend b
backend b
  http-reuse always
  server s1 127.0.0.1:{up_port} maxconn 64
"""


# --- policy webhook ------------------------------------------------------------------------------

def git(repo, *args):
    env = {"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(repo.parent), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout.strip()


def policy_repository(work, role):
    """The default bundle under policies/ plus `role` with devices:read, committed on main."""
    repo = work / "origin"
    shutil.copytree(policy_directory() / "systemupdate", repo / "policies" / "systemupdate")
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "config", "user.email", "bench@example.invalid")
    git(repo, "config", "user.name", "bench")
    set_role(repo, role, True)
    return repo


def set_role(repo, role, allowed):
    """Commits `role` with or without devices:read; returns the commit's SHA."""
    data_path = repo / "policies" / "systemupdate" / "data.json"
    data = json.loads(data_path.read_text())
    data["roles"][role] = {"description": "bench: flipped by commits", "permissions": ["devices:read"] if allowed else []}
    data_path.write_text(json.dumps(data, indent=2) + "\n")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", f"{role}: {'allow' if allowed else 'deny'}")
    return git(repo, "rev-parse", "HEAD")


def http_status(port, method, path, headers=None, body=b""):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def measure_webhook(port, admin_port, repo, role, token, secret, flips):
    """Commit -> enforced via the webhook, `flips` times (deny, allow, deny, ...); seconds per flip."""
    times = []
    headers = {"Authorization": f"Bearer {token}"}
    allowed = True
    for _ in range(flips):
        allowed = not allowed
        want = 200 if allowed else 403
        sha = set_role(repo, role, allowed)
        committed = time.monotonic()
        body = json.dumps({"ref": "refs/heads/main", "after": sha}).encode()
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        status, answer = http_status(admin_port, "POST", "/v1/policy/sync", body=body,
                                     headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature})
        outcome = json.loads(answer)
        if status != 200 or outcome.get("result") != "activated" or outcome.get("revision") != sha:
            raise RuntimeError(f"webhook: {status} {answer!r} (expected activated {sha})")
        while http_status(port, "GET", UNIFORM_PATH, headers)[0] != want:
            if time.monotonic() - committed > 30:
                raise RuntimeError(f"commit {sha} not enforced after 30 s")
            time.sleep(0.001)
        times.append(time.monotonic() - committed)
    return times


# --- idle connections ----------------------------------------------------------------------------

async def hold_idle(port, pid, requests, settle=1.0):
    """Opens one connection per request (raw HTTP/1.1 bytes), reads its answer and leaves it open;
    returns the gateway's RSS with all of them open, and the answers' statuses."""
    gate = asyncio.Semaphore(128)  # below the listen backlog: no SYN retries
    writers, answers = [], collections.Counter()

    async def one(request):
        async with gate:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length:[ \t]*(\d+)", head)
            await reader.readexactly(int(length.group(1)) if length else 0)
            answers[int(head.split()[1])] += 1
            writers.append(writer)

    try:
        await asyncio.gather(*(one(r) for r in requests))
        await asyncio.sleep(settle)
        return rss_mb(pid), answers
    finally:
        for writer in writers:
            writer.close()
        await asyncio.gather(*(w.wait_closed() for w in writers), return_exceptions=True)


# --- the bench -----------------------------------------------------------------------------------

@dataclass
class Row:
    name: str
    port: int
    pid: int
    admin: int = 0  # a gateway's admin port: /metrics read around each of its runs
    uniform: bool = False
    close: bool = False
    saturated: list = field(default_factory=list)
    fixed: list = field(default_factory=list)
    counts: collections.Counter = field(default_factory=collections.Counter)  # /metrics deltas of its runs


def med(runs, attribute):
    values = [getattr(r, attribute) for r in runs]
    return statistics.median(values) if values else float("nan")


class Bench:
    """The servers, the traffic and the rows of one run."""

    def __init__(self, args, binary, work, traffic):
        self.args, self.binary, self.work, self.traffic = args, binary, work, traffic
        self.procs = []
        self.data = json.loads((policy_directory() / "systemupdate" / "data.json").read_text())
        started = time.monotonic()
        self.key = traffic.new_key()
        self.tokens = traffic.mint(self.key, args.tokens, int(time.time()))
        self.mint_seconds = time.monotonic() - started
        self.shapes = traffic.shapes()
        self.denied = traffic.denied_share(self.data, self.shapes, self.tokens)
        self.token_share = traffic.token_share(self.shapes)
        shapes_file, tokens_file = traffic.write_lua_inputs(work, self.shapes, self.tokens)
        self.mixed = [f"shapes={shapes_file}", f"tokens={tokens_file}"]
        # A viewer: GET /devices/d-42 is allowed.
        self.uniform_token = self.tokens.sample()[traffic.PERSONAS[0]]
        self.mixed_lookups = collections.Counter()  # per admin port: token lookups of mixed runs, warm-ups included

    def spawn(self, cmd, **kw):
        log = open(self.work / f"{Path(cmd[0]).name}-{len(self.procs)}.log", "wb")
        p = subprocess.Popen(cmd, stdout=log, stderr=log, **kw)
        self.procs.append(p)
        return p

    def stop(self):
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()

    def gateway(self, name, config):
        (self.work / name).write_text(config)
        return self.spawn([str(self.binary), "serve", "--config", str(self.work / name), "--log-level", "warning"], cwd=self.work)

    def start(self):
        t, w = self.traffic, self.work
        names = ("up", "nginx", "haproxy", "gw", "gw_admin", "log", "log_admin", "git", "git_admin")
        p = self.ports = {n: free_port() for n in names}
        (w / "jwks.json").write_text(json.dumps(t.jwks(self.key)))
        (w / "jwt-public.pem").write_bytes(t.public_pem(self.key))
        upstream_conf, nginx_conf = nginx_configs(w, p["up"], p["nginx"])
        (w / "upstream.conf").write_text(upstream_conf)
        (w / "nginx.conf").write_text(nginx_conf)
        (w / "haproxy.cfg").write_text(haproxy_config(p["haproxy"], p["up"], w / "jwt-public.pem", t.ISSUER))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        upstream_url = f"http://127.0.0.1:{p['up']}"

        def config(listen, admin, **kw):
            return gateway_config(listen, admin, upstream_url, w / "jwks.json", t.ISSUER, t.AUDIENCE, **kw)

        self.upstream = self.spawn([nginx, "-c", str(w / "upstream.conf"), "-p", str(w)])
        self.nginx = self.spawn([nginx, "-c", str(w / "nginx.conf"), "-p", str(w)])
        self.haproxy = self.spawn([haproxy, "-f", str(w / "haproxy.cfg")])
        self.gw = self.gateway("routes.yaml", config(p["gw"], p["gw_admin"]))
        self.gw_log = self.gateway("routes-log.yaml", config(p["log"], p["log_admin"], decision_file=w / "decisions.log"))
        self.git_gw = None
        if self.args.webhook:
            self.bench_role, self.secret = "bench-reader", "bench-webhook-secret-0123456789"
            self.repo = policy_repository(w, self.bench_role)
            self.git_gw = self.gateway("routes-git.yaml", config(p["git"], p["git_admin"], policy=f"""policy:
  git:
    url: "file://{self.repo}"
    branch: main
    path: policies
    poll_interval: 600s
    cache_dir: {w / "policy-cache"}
    webhook_secret: {self.secret}
"""))
        for port in (p["up"], p["nginx"], p["haproxy"]):
            wait_port(port)
        for admin in (p["gw_admin"], p["log_admin"]) + ((p["git_admin"],) if self.git_gw else ()):
            wait_ready(admin)
        time.sleep(0.5)
        self.idle_rss = {GW: rss_mb(self.gw.pid), GW_LOG: rss_mb(self.gw_log.pid)}

    def check_traffic(self):
        """Every shape answers 2xx upstream and through nginx and HAProxy, and the gateway answers it for
        each persona as data.json says; HAProxy and the gateway refuse bad tokens with 401."""
        t, p, rng = self.traffic, self.ports, random.Random(3)
        sample = self.tokens.sample()
        plain = [t.render(s, rng) for s in self.shapes]
        for name, port in ((DIRECT, p["up"]), (NGINX, p["nginx"])):
            bad = [(s.method, s.path, status) for s, status in zip(self.shapes, statuses(port, plain)) if not 200 <= status < 300]
            if bad:
                raise RuntimeError(f"{name} does not answer every shape with 2xx: {bad}")
        problems = []
        for persona, token in sample.items():
            requests = [self.authorized(t.render(s, rng), token, s) for s in self.shapes]
            want = [200 if not s.token or t.permits(self.data, persona, s.action) else 403 for s in self.shapes]
            for port in (p["gw"], p["log"]):
                problems += [f"{persona.name} {s.method} {s.path}: {got}, expected {expected}"
                             for s, got, expected in zip(self.shapes, statuses(port, requests), want) if got != expected]
            problems += [f"haproxy: {persona.name} {s.method} {s.path}: {got}"
                         for s, got in zip(self.shapes, statuses(p["haproxy"], requests)) if got != 200]
        if problems:
            raise RuntimeError("the traffic does not get the answers the bench expects:\n  " + "\n  ".join(problems[:20]))
        self.check_bad_tokens(next(iter(sample.values())))

    def authorized(self, request, token, shape):
        method, path, body, headers = request
        return method, path, body, ({**headers, "Authorization": f"Bearer {token}"} if shape.token else headers)

    def check_bad_tokens(self, good):
        """A forged signature, an expired token and another issuer's token: 401 from HAProxy and the gateway."""
        t, now = self.traffic, int(time.time())
        persona = t.PERSONAS[0]
        claims = t.claims(persona, 0, now, 3600, random.Random(5))
        header, payload, signature = good.split(".")
        bad = {"forged signature": f"{header}.{payload}.{signature[:-8]}AAAAAAAA",
               "expired": t.sign(self.key, {**claims, "iat": now - 7200, "exp": now - 3600}),
               "other issuer": t.sign(self.key, {**claims, "iss": "https://idp.other/realms/systemupdate"})}
        for name, port in (("haproxy", self.ports["haproxy"]), ("portcullis", self.ports["gw"])):
            got = statuses(port, [("GET", UNIFORM_PATH, b"", {"Authorization": f"Bearer {token}"}) for token in bad.values()])
            wrong = [f"{kind}: {status}" for kind, status in zip(bad, got) if status != 401]
            if wrong:
                raise RuntimeError(f"{name} accepts bad tokens: {', '.join(wrong)}")

    def rows(self):
        p = self.ports
        return [
            Row(DIRECT, p["up"], self.upstream.pid),
            Row(NGINX, p["nginx"], self.nginx.pid),
            Row(HAPROXY, p["haproxy"], self.haproxy.pid),
            Row(GW, p["gw"], self.gw.pid, admin=p["gw_admin"]),
            Row(GW_LOG, p["log"], self.gw_log.pid, admin=p["log_admin"]),
            Row(NGINX_CLOSE, p["nginx"], self.nginx.pid, close=True),
            Row(GW_LOG_CLOSE, p["log"], self.gw_log.pid, admin=p["log_admin"], close=True),
            Row(NGINX_UNIFORM, p["nginx"], self.nginx.pid, uniform=True),
            Row(GW_UNIFORM, p["gw"], self.gw.pid, admin=p["gw_admin"], uniform=True),
        ]

    def measure(self, row, duration, paced=False, record=True):
        options = ([] if row.uniform else self.mixed) + [f"seed={random.randrange(1, 1 << 30)}"]
        options += (["paced"] if paced else []) + (["close"] if row.close else [])
        url = f"http://127.0.0.1:{row.port}" + (UNIFORM_PATH if row.uniform else "/")
        headers = {"Authorization": f"Bearer {self.uniform_token}"} if row.uniform else None
        before = scrape(row.admin) if row.admin else None
        cpu = cpu_seconds(row.pid)
        run = wrk(url, duration, options, headers)
        run.cpu_us = (cpu_seconds(row.pid) - cpu) * 1e6 / max(run.requests, 1)
        if row.admin:
            delta = scrape(row.admin)
            delta.subtract(before)
            if not row.uniform:
                self.mixed_lookups[row.admin] += delta[TOKEN_HITS] + delta[TOKEN_MISSES]
            if record:
                row.counts.update(delta)
        if record:
            (row.fixed if paced else row.saturated).append(run)

    def run_rows(self, rows):
        warmup = min(2, self.args.duration)
        for row in rows:  # connections, caches, the first verification of every token
            self.measure(row, warmup, record=False)
        for paced in (False, True):
            for round_number in range(self.args.rounds):  # interleaved: drift of the shared machine hits every server alike
                order = list(rows)
                if round_number % 2:  # the two gateways compared swap places every other round
                    i, j = (next(k for k, r in enumerate(order) if r.name == name) for name in (GW, GW_LOG))
                    order[i], order[j] = order[j], order[i]
                for row in order:
                    self.measure(row, self.args.duration, paced=paced)

    def idle_connections(self, count):
        rng = random.Random(9)
        tokens = [t for _, t in self.tokens.tokens]
        requests = [(f"GET /api/devices/d-{rng.randrange(100000, 1000000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     f"Authorization: Bearer {tokens[i % len(tokens)]}\r\n{self.traffic.COMMON_HEADERS}\r\n").encode()
                    for i in range(count)]
        before = rss_mb(self.gw_log.pid)
        rss, answers = asyncio.run(hold_idle(self.ports["log"], self.gw_log.pid, requests))
        return before, rss, answers


# --- report --------------------------------------------------------------------------------------

def print_table(rows):
    print(f"{'server':38} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'non-2xx':>8} {'CPU µs/req':>10}"
          f" | {'fixed req/s':>11} {'p50 ms':>7} {'p99 ms':>7}")
    for r in rows:
        print(f"{r.name:38} {med(r.saturated, 'rps'):>8.0f} {med(r.saturated, 'p50'):>7.3f} {med(r.saturated, 'p99'):>7.3f} "
              f"{sum(x.non2xx for x in r.saturated):>8} {med(r.saturated, 'cpu_us'):>10.1f}"
              f" | {med(r.fixed, 'rps'):>11.0f} {med(r.fixed, 'p50'):>7.3f} {med(r.fixed, 'p99'):>7.3f}")
        errors = sorted({x.socket_errors for x in r.saturated + r.fixed if x.socket_errors})
        if errors:
            print(f"  socket errors: {'; '.join(errors)}")


def rate(hits, misses):
    return hits / (hits + misses) if hits + misses else float("nan")


def row_warnings(row, bench):
    """How a gateway row's /metrics fail to fit the traffic it was sent (empty: they fit)."""
    c = row.counts
    requests = sum(v for k, v in c.items() if k.startswith("status_"))
    if not requests:
        return ["the gateway counted no requests"]
    denied = c["status_403"] / requests
    warnings = []
    # 499: requests in flight when wrk stopped, at most one per connection and run.
    in_flight = 64 * (len(row.saturated) + len(row.fixed))
    codes = {k[7:]: int(v) for k, v in c.items()
             if k.startswith("status_") and v and not k.startswith("status_2") and k != "status_403"}
    if codes.get("499", 0) <= in_flight:
        codes.pop("499", None)
    if codes:
        warnings.append(f"answers other than 2xx and 403: {codes}")
    if row.uniform:
        if denied:
            warnings.append(f"{denied:.1%} denied; one token, one path must be allowed")
        return warnings
    lookups = c[TOKEN_HITS] + c[TOKEN_MISSES]
    if lookups < 0.9 * bench.token_share * requests:
        warnings.append(f"{lookups:.0f} token lookups for {requests:.0f} requests, {bench.token_share:.0%} of them with a token")
    decision_hits = rate(c[DECISION_HITS], c[DECISION_MISSES])
    if row.close and c[DECISION_HITS]:
        warnings.append(f"{c[DECISION_HITS]:.0f} decisions reused from a connection's cache: connections were not closed")
    if decision_hits > 1 - bench.token_share + 0.02:
        warnings.append(f"decision cache answered {decision_hits:.1%}: more than the tokenless share "
                        f"({1 - bench.token_share:.0%}) allows; the traffic repeats itself per connection")
    tolerance = 4 * math.sqrt(bench.denied * (1 - bench.denied) / requests) + 0.01
    if abs(denied - bench.denied) > tolerance:
        warnings.append(f"{denied:.1%} of requests denied, expected {bench.denied:.1%} ± {tolerance:.1%}")
    return warnings


def print_caches(rows, bench):
    """Hit rates and 403s per gateway row; a WARNING line for each mismatch. Returns whether all fit."""
    print(f"\nGateway caches and answers per row (/metrics deltas over the row's runs; {bench.denied:.1%} "
          f"of the mixed traffic should be denied, {bench.token_share:.0%} carries a token):")
    print(f"{'row':38} {'requests':>9} {'token cache':>12} {'misses':>7} {'decision cache':>15} {'403s':>7}")
    fine = True
    for row in (r for r in rows if r.admin):
        c = row.counts
        requests = sum(v for k, v in c.items() if k.startswith("status_"))
        print(f"{row.name:38} {requests:>9.0f} {rate(c[TOKEN_HITS], c[TOKEN_MISSES]):>11.1%} {c[TOKEN_MISSES]:>7.0f} "
              f"{rate(c[DECISION_HITS], c[DECISION_MISSES]):>14.1%} {c['status_403'] / max(requests, 1):>7.1%}")
        for warning in row_warnings(row, bench):
            print(f"  WARNING: {row.name}: {warning}")
            fine = False
    n = len(bench.tokens.tokens)
    for name, admin in ((GW, bench.ports["gw_admin"]), (GW_LOG, bench.ports["log_admin"])):
        metrics = scrape(admin)
        lookups, misses = bench.mixed_lookups[admin], metrics[TOKEN_MISSES]
        distinct = n * (1 - (1 - 1 / n) ** lookups)  # tokens drawn uniformly: the distinct ones among `lookups` draws
        print(f"{name}: {misses:.0f} token-cache misses and {metrics['portcullis_jwt_verifications_total']:.0f} "
              f"verifications since start, {distinct:.0f} distinct tokens expected among its {lookups:.0f} token "
              f"lookups of mixed traffic")
        if misses < 0.9 * distinct:
            print(f"  WARNING: {name}: fewer misses than distinct tokens sent: "
                  f"the {n} tokens do not reach the gateway as distinct tokens")
            fine = False
    return fine


def budget(label, value, limit, at_least, unit="", note=""):
    ok = value >= limit if at_least else value <= limit
    print(f"{label:46} {value:.2f}{unit} (budget {'>=' if at_least else '<='} {limit}{unit}){note}"
          + ("" if ok else "  OVER BUDGET"))
    return ok


def print_budgets(rows, bench, idle):
    by = {r.name: r for r in rows}

    def rps(name):
        return med(by[name].saturated, "rps")

    def p99(name):  # at the fixed load
        return med(by[name].fixed, "p99")

    direct = p99(DIRECT)
    print()
    ok = budget("portcullis + log / nginx proxy_pass", rps(GW_LOG) / rps(NGINX), 0.8, True)
    ok &= budget("portcullis + log / haproxy jwt_verify", rps(GW_LOG) / rps(HAPROXY), 1.5, True)
    ok &= budget("Connection: close, portcullis + log / nginx", rps(GW_LOG_CLOSE) / rps(NGINX_CLOSE), 0.5, True)
    ok &= budget("p99 added at the fixed load", p99(GW_LOG) - direct, 1.0, False, " ms",
                 f"; portcullis + log - upstream direct; without the log {p99(GW) - direct:.3f}, "
                 f"nginx {p99(NGINX) - direct:.3f}, haproxy {p99(HAPROXY) - direct:.3f}")
    ok &= budget("one token, one path: portcullis / nginx", rps(GW_UNIFORM) / rps(NGINX_UNIFORM), 0.85, True)
    print(f"{'portcullis / nginx, mixed, without the log':46} {rps(GW) / rps(NGINX):.2f} (info)")
    ok &= budget("RSS right after start, before traffic", max(bench.idle_rss.values()), 30, False, " MB",
                 "; " + ", ".join(f"{k}: {v:.1f}" for k, v in bench.idle_rss.items()))
    if idle:
        count, before, rss, answers = idle
        ok &= budget(f"RSS with {count:,} idle keep-alive connections", rss, 100, False, " MB",
                     f"; {GW_LOG}, {before:.1f} MB before they opened; answers {dict(answers)}")
    return ok


def decision_log_cost(rows, bench):
    """Prints the decision-logging cost and the logger's counts; whether both are within budget."""
    by = {r.name: r for r in rows}
    for _ in range(100):  # the writer catches up (flush_interval 200 ms)
        stats = admin_json(bench.ports["log_admin"], "/v1/status")["decision_log"]
        if stats["written"] + stats["dropped"] >= stats["accepted"]:
            break
        time.sleep(0.1)
    logged, unlogged = by[GW_LOG].saturated, by[GW].saturated
    cost = 1 - med(logged, "rps") / med(unlogged, "rps")
    per_round = ", ".join(f"{(1 - a.rps / b.rps) * 100:.1f}" for a, b in zip(logged, unlogged))
    size = sum(p.stat().st_size for p in bench.work.glob("decisions.log*"))
    print(f"{'decision logging cost':46} {cost * 100:.1f} % of throughput (budget <= 5 %; per round: {per_round})")
    print(f"{'decision log':46} {stats['accepted']} accepted, {stats['written']} written, {stats['dropped']} dropped, "
          f"{stats['rotations']} rotations, {size / 1e6:.0f} MB of JSON lines")
    if stats["dropped"]:
        print("  records were dropped: the cost above understates logging every request")
    print(f"{'decision logging CPU':46} {med(logged, 'cpu_us') - med(unlogged, 'cpu_us'):+.1f} µs per request "
          f"(info; the writer thread included)")
    evaluation_ok = recorded_evaluation(bench)  # printed whatever the cost above
    return cost <= 0.05 and stats["dropped"] == 0 and evaluation_ok


def recorded_evaluation(bench, lines=20000):
    """The policy evaluation time the gateway recorded (metrics.timer_rego_query_eval_ns of the
    newest records: evaluated decisions, not cache hits), and for denials the explanation's time
    against it; whether both are within budget (median eval <= 5 µs, explanation <= 2x)."""
    path = bench.work / "decisions.log"
    with open(path, "rb") as f:
        f.seek(max(0, path.stat().st_size - lines * 2500))
        tail = f.read().splitlines()[1:]
    evals, ratios = [], []
    for line in tail[-lines:]:
        metrics = json.loads(line).get("metrics", {})
        ns = metrics.get("timer_rego_query_eval_ns")
        if ns:
            evals.append(ns)
            if metrics.get("timer_rego_explain_ns"):
                ratios.append(metrics["timer_rego_explain_ns"] / ns)
    if not evals:
        print(f"{'policy evaluation in the gateway':46} no evaluated decision among the newest records  OVER BUDGET")
        return False
    eval_us = statistics.median(evals) / 1000
    ratio = statistics.median(ratios) if ratios else 0
    ok = eval_us <= 5 and ratio <= 2
    print(f"{'policy evaluation in the gateway':46} median {eval_us:.2f} µs over {len(evals)} records (budget <= 5 µs); "
          f"explanation / its evaluation, median of {len(ratios)} denials: {ratio:.2f} (budget <= 2){'' if ok else '  OVER BUDGET'}")
    return ok


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default=str(ROOT / ".build-static" / "release" / "portcullis"))
    ap.add_argument("--duration", type=int, help="seconds per wrk run (default 8; --quick: 2)")
    ap.add_argument("--rounds", type=int, help="interleaved rounds (default 3; --quick: 1)")
    ap.add_argument("--quick", action="store_true", help="a short run: 1 round of 2 s, 1,000 idle connections")
    ap.add_argument("--tokens", type=int, default=2000, help="distinct tokens (subjects) of the mixed traffic")
    ap.add_argument("--idle-connections", type=int,
                    help="idle keep-alive connections held open for the RSS budget (default 10,000; --quick: 1,000; 0: skip)")
    ap.add_argument("--decision-log", action="store_true",
                    help="also print the decision-logging cost (logged vs unlogged gateway) and the logger's counts")
    ap.add_argument("--webhook", action="store_true",
                    help="measure commit -> enforced via POST /v1/policy/sync on a Git-sourced gateway")
    ap.add_argument("--flips", type=int, default=5, help="commits measured by --webhook")
    ap.add_argument("--profile", type=float, default=0,
                    help="instead of the table: load the gateway with the mixed traffic for this many seconds "
                         "under `perf record -g` (perf.data in the current directory)")
    ap.add_argument("--profile-close", action="store_true",
                    help="with --profile: every request on a new connection (Connection: close)")
    args = ap.parse_args()
    quick = args.quick
    args.duration = args.duration or (2 if quick else 8)
    args.rounds = args.rounds or (1 if quick else 3)
    if args.idle_connections is None:
        args.idle_connections = 1000 if quick else 10000
    return args


def profile(bench, seconds, close=False):
    load = subprocess.Popen(["wrk", "-t1", "-c64", f"-d{int(seconds)}s", "-s", str(LUA), f"http://127.0.0.1:{bench.ports['log']}/",
                             "--", *bench.mixed, *(["close"] if close else [])], stdout=subprocess.DEVNULL)
    subprocess.run(["perf", "record", "-g", "-p", str(bench.gw_log.pid), "-o", "perf.data", "--", "sleep", str(int(seconds) - 1)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    load.wait()
    print("perf.data written: perf report --no-children --sort symbol")


def run(args, bench):
    bench.start()
    t = bench.traffic
    print(f"traffic: {len(bench.tokens.tokens)} tokens ({bench.tokens.mean_size():.0f} bytes on average, signed in "
          f"{bench.mint_seconds:.1f} s), {len(bench.shapes)} shapes over every route of routes.yaml, "
          f"{bench.denied:.1%} denied by the policy, {1 - bench.token_share:.0%} without a token")
    bench.check_traffic()
    if args.profile:
        profile(bench, args.profile, close=args.profile_close)
        return 0
    rows = bench.rows()
    bench.run_rows(rows)
    after_rss = rss_mb(bench.gw_log.pid)
    idle = None
    if args.idle_connections:
        count = min(args.idle_connections, args.open_files - 1024)
        idle = (count, *bench.idle_connections(count))
    webhook_times = []
    if bench.git_gw:
        reader = t.Persona("bench", 1, (bench.bench_role,))
        token = t.sign(bench.key, t.claims(reader, 0, int(time.time()), 3600, random.Random(1)))
        webhook_times = measure_webhook(bench.ports["git"], bench.ports["git_admin"], bench.repo, bench.bench_role, token,
                                        bench.secret, args.flips)

    print(f"\nGateway benchmark: wrk -t1 -c64, {args.rounds} rounds x {args.duration} s, one worker each, same upstream; "
          f"fixed load: each connection waits a random 5-25 ms before every request")
    print_table(rows)
    traffic_ok = print_caches(rows, bench)
    for row in rows:
        if not row.admin and not row.uniform and sum(x.non2xx for x in row.saturated + row.fixed):
            print(f"  WARNING: {row.name} answered non-2xx: it must pass every request of the mixed traffic")
            traffic_ok = False
    ok = print_budgets(rows, bench, idle)
    print(f"{'portcullis + log RSS after the run':46} {after_rss:.1f} MB (info)")
    if args.decision_log:
        ok &= decision_log_cost(rows, bench)
    if webhook_times:
        worst = max(webhook_times)
        print(f"{'commit -> enforced via webhook':46} {worst * 1000:.0f} ms (budget <= 1000 ms; worst of {len(webhook_times)} "
              f"commits, median {statistics.median(webhook_times) * 1000:.0f} ms)")
        ok &= worst <= 1.0
    if not traffic_ok:
        print("traffic check: WARNING (above); the figures do not measure the intended traffic")
    print("within budget" if ok and traffic_ok else "OVER BUDGET")
    return 0 if ok and traffic_ok else 1


def main():
    args = parse_args()
    try:
        import gateway_traffic as traffic
    except ImportError as error:
        print(f"gateway-bench: {error} (pip install cryptography)", file=sys.stderr)
        return 2
    for tool in ("wrk", "nginx", "haproxy") + (("git",) if args.webhook else ()):
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            print(f"gateway-bench: {tool} is missing (scripts/install-deps.sh wrk nginx haproxy)", file=sys.stderr)
            return 2
    binary = Path(args.binary).resolve()
    if not binary.exists():
        print(f"gateway-bench: {binary} not found: make bench-gateway builds it (swift build -c release --static-swift-stdlib --product portcullis --scratch-path .build-static)", file=sys.stderr)
        return 2
    args.open_files = raise_open_files(args.idle_connections + 1024)
    if args.idle_connections > args.open_files - 1024:
        print(f"gateway-bench: open files limited to {args.open_files}: "
              f"{max(args.open_files - 1024, 0)} idle connections instead of {args.idle_connections}", file=sys.stderr)
    work = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    bench = None
    try:
        bench = Bench(args, binary, work, traffic)
        return run(args, bench)
    finally:
        if bench:
            bench.stop()
        if os.environ.get("KEEP_BENCH_WORK"):  # the servers' configurations and logs, to look into a failed run
            print(f"gateway-bench: kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH))
    sys.exit(main())
