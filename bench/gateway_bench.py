#!/usr/bin/env python3
"""Gateway throughput and latency against nginx and HAProxy (issue 5), all in one run on this machine.

Every server gets one worker (nginx worker_processes 1, HAProxy nbthread 1, portcullis workers: 1)
and proxies to the same upstream (nginx answering a small fixed body). wrk drives 64 connections
with one thread. Portcullis runs the full pipeline on each request: the bearer token is verified
(a verified-token cache hit after the first request) and data.systemupdate.authz.allow of the
default policy bundle is evaluated; nginx and HAProxy only proxy.

Prints a table and the ratios the issue budgets:
  throughput(portcullis) / throughput(nginx proxy_pass) >= 0.8
  p99(portcullis) - p99(upstream direct) <= 1 ms
  portcullis RSS after the run <= 50 MB
Exit status 1 when a budget is missed, 2 when a peer cannot run.

Usage: bench/gateway_bench.py [--binary PATH] [--duration SECONDS] [--rounds N]
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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


def parse_wrk(text):
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    latencies = {}
    for pct, value, unit in re.findall(r"^\s+(50|75|90|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", text, re.M):
        latencies[pct] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    socket_errors = re.search(r"Socket errors: (.*)", text)
    return rps, latencies, int(errors.group(1)) if errors else 0, socket_errors.group(1) if socket_errors else ""


def wrk(url, headers, duration, connections=64):
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    return parse_wrk(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=str(ROOT / ".build" / "release" / "portcullis"))
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--profile", type=float, default=0,
                    help="instead of the table: load the gateway for this many seconds under `perf record -g` (perf.data in the current directory)")
    args = ap.parse_args()

    for tool in ("wrk", "nginx", "haproxy"):
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            print(f"gateway-bench: {tool} is missing (apt-get install -y wrk nginx-light haproxy)", file=sys.stderr)
            return 2
    binary = Path(args.binary).resolve()
    if not binary.exists():
        print(f"gateway-bench: {binary} not found: swift build -c release --product portcullis", file=sys.stderr)
        return 2

    work = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    procs = []

    def spawn(cmd, **kw):
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(work / f"{Path(cmd[0]).name}-{len(procs)}.log", "wb"), **kw)
        procs.append(p)
        return p

    try:
        up_port, nginx_port, haproxy_port, gw_port, admin_port = (free_port() for _ in range(5))
        body = json.dumps({"id": "d-42", "name": "sensor", "status": "online"})
        (work / "upstream.conf").write_text(f"""
worker_processes 1; daemon off; pid {work}/upstream.pid; error_log {work}/upstream-error.log;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 1000000;
  server {{ listen 127.0.0.1:{up_port}; location / {{ default_type application/json; return 200 '{body}'; }} }} }}
""")
        (work / "nginx.conf").write_text(f"""
worker_processes 1; daemon off; pid {work}/nginx.pid; error_log {work}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 1000000;
  upstream backend {{ server 127.0.0.1:{up_port}; keepalive 64; }}
  server {{ listen 127.0.0.1:{nginx_port};
    location / {{ proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }} }} }}
""")
        (work / "haproxy.cfg").write_text(f"""
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
  bind 127.0.0.1:{haproxy_port}
  default_backend b
backend b
  http-reuse always
  server s1 127.0.0.1:{up_port} maxconn 64
""")
        key = work / "key.pem"
        subprocess.run([str(binary), "token", "keygen"], stdout=open(key, "w"), check=True)
        subprocess.run([str(binary), "token", "jwks", "--key", str(key), "--kid", "bench"], stdout=open(work / "jwks.json", "w"), check=True)
        issuer = "https://idp.bench/realms/systemupdate"
        claims = {"iss": issuer, "aud": "portcullis", "sub": "8f1c2a9e-4b7d-4c1e-9a2f-3d5e6f708192",
                  "azp": "portcullis", "typ": "Bearer", "scope": "openid profile email",
                  "preferred_username": "viewer", "email": "viewer@example.com",
                  "realm_access": {"roles": ["viewer", "offline_access", "uma_authorization"]},
                  "resource_access": {"account": {"roles": ["manage-account", "view-profile"]}}}
        token = subprocess.run([str(binary), "token", "sign", "--key", str(key), "--alg", "RS256", "--kid", "bench",
                                "--expires-in", "3600", "--claims", json.dumps(claims)],
                               capture_output=True, text=True, check=True).stdout.strip()
        (work / "routes.yaml").write_text(f"""
listen: 127.0.0.1:{gw_port}
admin: {{listen: 127.0.0.1:{admin_port}}}
workers: 1
issuers:
  - issuer: {issuer}
    jwks_file: jwks.json
    audiences: [portcullis]
    algorithms: [RS256]
policy:
  directory: {ROOT / "rego-lite" / "policies"}
routes:
  - id: devices
    match: {{path_prefix: /devices}}
    upstream: {{urls: [http://127.0.0.1:{up_port}], pool_size: 64}}
""")
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        upstream = spawn([nginx, "-c", str(work / "upstream.conf"), "-p", str(work)])
        nginx_proxy = spawn([nginx, "-c", str(work / "nginx.conf"), "-p", str(work)])
        haproxy_proc = spawn([haproxy, "-f", str(work / "haproxy.cfg")])
        gateway = spawn([str(binary), "serve", "--config", str(work / "routes.yaml"), "--log-level", "warning"], cwd=work)
        for port in (up_port, nginx_port, haproxy_port, gw_port):
            wait_port(port)
        for _ in range(100):
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/readyz", timeout=1).status == 200:
                    break
            except Exception:
                time.sleep(0.1)

        path = "/devices/d-42"
        headers = {"Authorization": f"Bearer {token}"}
        check = urllib.request.Request(f"http://127.0.0.1:{gw_port}{path}", headers=headers)
        assert urllib.request.urlopen(check).status == 200, "the gateway must allow the bench request"

        if args.profile:
            load = subprocess.Popen(["wrk", "-t1", "-c64", f"-d{int(args.profile)}s", "-H", f"Authorization: Bearer {token}",
                                     f"http://127.0.0.1:{gw_port}{path}"], stdout=subprocess.DEVNULL)
            subprocess.run(["perf", "record", "-g", "-p", str(gateway.pid), "-o", "perf.data", "--", "sleep", str(int(args.profile) - 1)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            load.wait()
            print("perf.data written: perf report --no-children --sort symbol")
            return 0

        targets = {
            "upstream direct": f"http://127.0.0.1:{up_port}{path}",
            "nginx proxy_pass": f"http://127.0.0.1:{nginx_port}{path}",
            "haproxy": f"http://127.0.0.1:{haproxy_port}{path}",
            "portcullis (JWT + policy)": f"http://127.0.0.1:{gw_port}{path}",
        }
        pids = {"upstream direct": upstream.pid, "nginx proxy_pass": nginx_proxy.pid,
                "haproxy": haproxy_proc.pid, "portcullis (JWT + policy)": gateway.pid}
        for url in targets.values():  # warm-up: connections, caches
            wrk(url, headers, 2)
        results = {name: [] for name in targets}
        for _ in range(args.rounds):  # interleaved rounds: drift of the shared machine hits every server alike
            for name, url in targets.items():
                before = cpu_seconds(pids[name])
                rps, lat, non2xx, sockerr = wrk(url, headers, args.duration)
                cpu_us = (cpu_seconds(pids[name]) - before) * 1e6 / max(rps * args.duration, 1)
                results[name].append((rps, lat, non2xx, sockerr, cpu_us))
        gateway_rss = rss_mb(gateway.pid)

        def med(name, f):
            return statistics.median(f(r) for r in results[name])

        print(f"\nGateway benchmark: wrk -t1 -c64, {args.rounds} rounds x {args.duration} s, one worker each, same upstream")
        print(f"{'server':28} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'CPU µs/req':>11}")
        for name in targets:
            print(f"{name:28} {med(name, lambda r: r[0]):>10.0f} {med(name, lambda r: r[1].get('50', float('nan'))):>8.3f} "
                  f"{med(name, lambda r: r[1].get('99', float('nan'))):>8.3f} {sum(r[2] for r in results[name]):>8} "
                  f"{med(name, lambda r: r[4]):>11.1f}")
        gw, ngx = "portcullis (JWT + policy)", "nginx proxy_pass"
        ratio = med(gw, lambda r: r[0]) / med(ngx, lambda r: r[0])
        added_p99 = med(gw, lambda r: r[1]["99"]) - med("upstream direct", lambda r: r[1]["99"])
        ratio_haproxy = med(gw, lambda r: r[0]) / med("haproxy", lambda r: r[0])
        print(f"\nthroughput portcullis / nginx:   {ratio:.2f}  (budget >= 0.80)")
        print(f"throughput portcullis / haproxy: {ratio_haproxy:.2f}  (info)")
        print(f"p99 added by portcullis:         {added_p99:.3f} ms (budget <= 1 ms; p99 gateway - p99 upstream direct)")
        print(f"portcullis RSS after the run:    {gateway_rss:.1f} MB (budget <= 50 MB)")
        ok = ratio >= 0.8 and added_p99 <= 1.0 and gateway_rss <= 50 and all(r[2] == 0 for r in results[gw])
        print("within budget" if ok else "OVER BUDGET")
        return 0 if ok else 1
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
