#!/usr/bin/env bash
# `make demo`: the dev issuer, the upstream stubs and the gateway, all local, with the root
# routes.yaml and the default policy bundle. Gets tokens for two users from the issuer, runs the
# seed's flow through the gateway with curl (operator: POST /commands -> 201, then
# PATCH /commands/{id}/ack -> 403), prints ready-to-paste lines, and runs until Ctrl-C.
#
#   scripts/demo.sh [BIN] [--check]
#
# --check (or DEMO_CHECK=1): run the flows, check every status, stop everything, exit 0 or 1.
# Ports (environment): GATEWAY_PORT=8080 ADMIN_PORT=9901 IDP_PORT=8180 STUBS_BASE_PORT=9101 (the
# stubs take 7 ports from there). With other ports than these, the gateway runs a copy of
# routes.yaml with the ports changed (written next to the logs).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/.build/debug/portcullis
CHECK=${DEMO_CHECK:-0}
for arg in "$@"; do
  case "$arg" in
    --check) CHECK=1 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "demo: unknown option $arg (usage: scripts/demo.sh [BIN] [--check])" >&2; exit 2 ;;
    *) BIN=$arg ;;
  esac
done
[ -x "$BIN" ] || { echo "demo: no portcullis binary at $BIN: run 'make demo' (it builds first)" >&2; exit 2; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
cd "$ROOT"

GATEWAY_PORT=${GATEWAY_PORT:-8080}
ADMIN_PORT=${ADMIN_PORT:-9901}
IDP_PORT=${IDP_PORT:-8180}
STUBS_BASE_PORT=${STUBS_BASE_PORT:-9101}
REALM_FILE=realms/systemupdate-dev.json
GATEWAY=http://127.0.0.1:$GATEWAY_PORT
ADMIN=http://127.0.0.1:$ADMIN_PORT

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say() { printf 'demo: %s\n' "$*"; }

"$BIN" idp --help >/dev/null 2>&1 || { say "$BIN has no 'idp' command: rebuild it ('make build')" >&2; exit 2; }
[ -f "$REALM_FILE" ] || { say "$REALM_FILE not found" >&2; exit 2; }

# --- 0. Every port must be free: name the busy one and stop --------------------------------------
port_free() {  # binds as the servers do (SO_REUSEADDR): fails only when something holds the port
  python3 -c 'import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}
ports=("$GATEWAY_PORT gateway (GATEWAY_PORT)" "$ADMIN_PORT gateway admin (ADMIN_PORT)" "$IDP_PORT dev issuer (IDP_PORT)")
stub_names=(device command data-ingest analytics notification auth ws-hub)
for i in "${!stub_names[@]}"; do ports+=("$((STUBS_BASE_PORT + i)) ${stub_names[$i]} stub (STUBS_BASE_PORT+$i)"); done
for entry in "${ports[@]}"; do
  port=${entry%% *}
  if ! port_free "$port"; then
    say "port $port (${entry#* }) is busy; stop what holds it or choose another port, e.g. GATEWAY_PORT=18080 make demo" >&2
    command -v ss >/dev/null 2>&1 && ss -ltnpH "sport = :$port" 2>/dev/null | sed 's/^/demo:   /' >&2
    exit 1
  fi
done

# --- Processes: each one's pid is kept; every exit path stops them all -----------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/portcullis-demo.XXXXXX")
PIDS=()
NAMES=()
SLEEPER=""
KEEP_LOGS=0

stop_all() {
  [ -n "$SLEEPER" ] && kill "$SLEEPER" 2>/dev/null
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  local deadline=$((SECONDS + 30))
  for pid in "${PIDS[@]}"; do
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  PIDS=()
  if [ "$KEEP_LOGS" = 1 ]; then say "logs kept in $WORK"; else rm -rf "$WORK"; fi
}
on_signal() {
  trap '' INT TERM
  trap - EXIT
  echo
  say "stopping the gateway, the stubs and the issuer ..."
  stop_all
  say "stopped"
  exit 0
}
trap on_signal INT TERM
trap stop_all EXIT

start() {  # start NAME COMMAND...
  local name=$1; shift
  "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  NAMES+=("$name")
}

fail() {
  say "$*" >&2
  local name
  for name in "${NAMES[@]}"; do
    echo "--- $name.log (last lines) ---" >&2
    tail -n 15 "$WORK/$name.log" >&2
  done
  KEEP_LOGS=1
  exit 1
}

wait_for() {  # wait_for NAME URL: until URL answers 200, as long as NAME's process lives
  local name=$1 url=$2 deadline=$((SECONDS + 60)) i
  for i in "${!NAMES[@]}"; do [ "${NAMES[$i]}" = "$name" ] && local pid=${PIDS[$i]}; done
  until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || fail "$name exited before it was ready"
    [ $SECONDS -lt $deadline ] || fail "$name not ready after 60 s ($url)"
    sleep 0.1
  done
}

# The realm file is the one source of users, passwords and clients.
REALM_VARS=$(python3 - "$REALM_FILE" <<'PY'
import json, shlex, sys
realm = json.load(open(sys.argv[1]))
users = {u["username"]: u for u in realm.get("users", [])}
def password(name):
    return next(c["value"] for c in users[name].get("credentials", []) if c.get("type") == "password")
client = next(c for c in realm.get("clients", []) if c.get("publicClient") and c.get("directAccessGrantsEnabled"))
for var, value in [("REALM", realm["realm"]), ("CLIENT_ID", client["clientId"]),
                   ("OPERATOR_PASSWORD", password("operator")), ("VIEWER_PASSWORD", password("viewer"))]:
    print(f"{var}={shlex.quote(value)}")
PY
) || fail "cannot read users and clients from $REALM_FILE"
eval "$REALM_VARS"
ISSUER=http://127.0.0.1:$IDP_PORT/realms/$REALM
TOKEN_URL=$ISSUER/protocol/openid-connect/token

CONFIG=routes.yaml
if [ "$GATEWAY_PORT:$ADMIN_PORT:$IDP_PORT:$STUBS_BASE_PORT" != "8080:9901:8180:9101" ]; then
  CONFIG=$WORK/routes.yaml
  python3 - routes.yaml "$CONFIG" "$GATEWAY_PORT" "$ADMIN_PORT" "$IDP_PORT" "$STUBS_BASE_PORT" <<'PY' || fail "cannot write $CONFIG"
import os, re, sys
source, target, gateway, admin, idp, base = sys.argv[1:]
text = open(source).read()
moves = {8080: int(gateway), 9901: int(admin), 8180: int(idp)} | {9101 + i: int(base) + i for i in range(7)}
text = re.sub(r"127\.0\.0\.1:(\d+)\b", lambda m: f"127.0.0.1:{moves.get(int(m.group(1)), int(m.group(1)))}", text)
text = re.sub(r"^(\s+directory: )(\S+)", lambda m: m.group(1) + os.path.abspath(m.group(2)), text, flags=re.M)
open(target, "w").write(text)
PY
fi

# --- 1. Start the issuer and the stubs, then the gateway (its first key fetch then succeeds) ---------
bold "1. Dev issuer, upstream stubs, gateway"
start idp "$BIN" idp --realm "$REALM_FILE" --listen "127.0.0.1:$IDP_PORT"
start stubs "$BIN" stubs --host 127.0.0.1 --base-port "$STUBS_BASE_PORT"
wait_for idp "$ISSUER/.well-known/openid-configuration"
for i in "${!stub_names[@]}"; do wait_for stubs "http://127.0.0.1:$((STUBS_BASE_PORT + i))/healthz"; done
start gateway "$BIN" serve --config "$CONFIG"
wait_for gateway "$ADMIN/readyz"
printf 'dev issuer  %s   (users and clients: %s)\n' "$ISSUER" "$REALM_FILE"
printf 'stubs       127.0.0.1:%s-%s   (%s)\n' "$STUBS_BASE_PORT" "$((STUBS_BASE_PORT + 6))" "${stub_names[*]}"
CONFIG_NOTE=$CONFIG
[ "$CONFIG" = routes.yaml ] || CONFIG_NOTE="$CONFIG (routes.yaml with the ports changed)"
printf 'gateway     %s   admin %s/readyz (ready)   config %s, policy rego-lite/policies\n' "$GATEWAY" "$ADMIN" "$CONFIG_NOTE"

# --- 2. Tokens from the issuer's token endpoint (password grant, as with Keycloak) -----------------
bold "2. Tokens for two users (password grant at the dev issuer)"
token_for() {  # token_for USER PASSWORD
  printf '$ curl -s %s -d grant_type=password -d client_id=%s -d username=%s -d password=%s\n' "$TOKEN_URL" "$CLIENT_ID" "$1" "$2" >&2
  curl -s "$TOKEN_URL" -d grant_type=password -d "client_id=$CLIENT_ID" -d "username=$1" -d "password=$2" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])' 2>/dev/null
}
OPERATOR_TOKEN=$(token_for operator "$OPERATOR_PASSWORD") || fail "no token for operator"
VIEWER_TOKEN=$(token_for viewer "$VIEWER_PASSWORD") || fail "no token for viewer"
echo
echo "export OPERATOR_TOKEN=$OPERATOR_TOKEN"
echo
echo "export VIEWER_TOKEN=$VIEWER_TOKEN"

# --- 3. The seed's flow, one allow and one deny, and the ready-to-paste lines ----------------------
PASSED=0
FAILED=()
call() {  # call EXPECTED_STATUS TOKEN_VARIABLE|- METHOD PATH [JSON_BODY]: prints the curl line, runs it
  local expected=$1 var=$2 method=$3 path=$4 body=${5:-}
  local shown="curl -s -i -X $method $GATEWAY$path" args=(-s -o "$WORK/body" -w '%{http_code}' -X "$method" "$GATEWAY$path")
  if [ "$var" != - ]; then
    shown+=" -H \"Authorization: Bearer \$$var\""
    args+=(-H "Authorization: Bearer ${!var}")
  fi
  if [ -n "$body" ]; then
    shown+=" -H 'Content-Type: application/json' -d '$body'"
    args+=(-H 'Content-Type: application/json' -d "$body")
  fi
  printf '\n$ %s\n' "$shown"
  : >"$WORK/body"
  STATUS=$(curl "${args[@]}")
  BODY=$(cat "$WORK/body")
  printf '  -> %s %s\n' "$STATUS" "$BODY"
  if [ "$STATUS" = "$expected" ]; then PASSED=$((PASSED + 1)); else FAILED+=("$method $path: expected $expected, got $STATUS"); fi
}

bold "3. Through the gateway: operator creates a command (allow), then may not acknowledge it (deny)"
call 201 OPERATOR_TOKEN POST /commands '{"device_id":"d-1","command":"reboot"}'
COMMAND_ID=$(printf '%s' "$BODY" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])' 2>/dev/null || echo unknown)
call 403 OPERATOR_TOKEN PATCH "/commands/$COMMAND_ID/ack"
bold "   Why was it denied? The 403 names its decision; the admin listener explains it"
DECISION_ID=$(printf '%s' "$BODY" | python3 -c 'import json, sys; print(json.load(sys.stdin)["error"]["details"]["decision_id"])' 2>/dev/null || echo unknown)
printf '\n$ curl -s %s/v1/decisions/%s\n' "$ADMIN" "$DECISION_ID"
# Records reach the ring when the writer runs (every decision_log.flush_interval, 200 ms by default).
for _ in 1 2 3 4 5 6 7 8 9 10; do curl -sf -o /dev/null "$ADMIN/v1/decisions/$DECISION_ID" && break; sleep 0.2; done
if EXPLAINED=$(curl -sf "$ADMIN/v1/decisions/$DECISION_ID" | python3 -c '
import json, sys
r = json.load(sys.stdin)
print("  -> %s %s: allowed=%s status=%s revision=%s" % (r["input"]["method"], r["input"]["path"], r["allowed"], r["status"], r["revision"][:12]))
for b in r.get("explanation", {}).get("bodies", []):
    at = b.get("failed_at") or {}
    print("     %s body at %s: %s at %s: %s" % (b["rule"], b["location"], b["result"], at.get("location", "-"), at.get("text", "")))
'); then
  printf '%s\n' "$EXPLAINED"
  PASSED=$((PASSED + 1))
else
  FAILED+=("decision $DECISION_ID not found on the admin listener")
fi
bold "   The viewer reads devices (allow) but may not create commands (deny); no token is 401"
call 200 VIEWER_TOKEN GET /devices
call 403 VIEWER_TOKEN POST /commands '{"device_id":"d-1","command":"reboot"}'
call 401 - GET /devices

bold "4. WebSocket through the gateway (the token as the access_token query parameter, as a browser sends it)"
WS_LINE="python3 -c 'import os; from websockets.sync.client import connect
with connect(\"ws://127.0.0.1:$GATEWAY_PORT/ws?access_token=\" + os.environ[\"VIEWER_TOKEN\"]) as ws: ws.send(\"hello\"); print(\"echo:\", ws.recv(timeout=5))'"
printf '$ %s\n' "$WS_LINE"
if WS_OUT=$(VIEWER_TOKEN=$VIEWER_TOKEN bash -c "$WS_LINE" 2>&1) && [ "$WS_OUT" = "echo: hello" ]; then
  printf '  -> %s\n' "$WS_OUT"
  PASSED=$((PASSED + 1))
else
  printf '  -> %s\n' "$(printf '%s' "$WS_OUT" | tail -n 1)"
  FAILED+=("WebSocket echo: $WS_OUT")
fi
command -v websocat >/dev/null 2>&1 && printf '$ websocat "ws://127.0.0.1:%s/ws?access_token=$VIEWER_TOKEN"\n' "$GATEWAY_PORT"

echo
if [ ${#FAILED[@]} -gt 0 ]; then
  for f in "${FAILED[@]}"; do say "FAILED: $f" >&2; done
fi
if [ "$CHECK" = 1 ]; then
  echo "demo check: $PASSED passed, ${#FAILED[@]} failed"
  [ ${#FAILED[@]} -eq 0 ] || fail "the demo's flows did not behave as expected"
  exit 0
fi

bold "Ready"
echo "Paste the export lines (step 2) and any curl line above into another terminal."
echo "Gateway status: curl -s $ADMIN/v1/status    metrics: curl -s $ADMIN/metrics"
echo "Logs (removed when the demo stops): $WORK/{idp,stubs,gateway}.log"
echo "Ctrl-C stops everything."
while :; do
  for i in "${!PIDS[@]}"; do
    kill -0 "${PIDS[$i]}" 2>/dev/null || fail "${NAMES[$i]} stopped unexpectedly"
  done
  sleep 1 &
  SLEEPER=$!
  wait "$SLEEPER"
  SLEEPER=""
done
