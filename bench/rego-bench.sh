#!/usr/bin/env bash
# Policy evaluation benchmark: RegoLite (bench/RegoBench, in-process from Swift) against OPA's Go
# engine and regorus (bench/rego_peers.py, through their Python bindings) on the same policy,
# data and inputs, in the same run. See docs/PERFORMANCE.md, "Policy evaluation".
#
#   bench/rego-bench.sh            (build first: swift build -c release --product RegoBench)
#
# Environment:
#   REGOBENCH_BIN     the RegoBench binary (default .build/release/RegoBench under the repo root)
#   PYTHON            python3
#   OPA_BINDINGS_DIR  where the unzipped opa-golib-python-bindings wheel lives (.build/opa-bindings)
#   REGO_BENCH_RUNS   how many times RegoBench and the peers run, alternating (default 3)
#
# Installs the peers when missing (pip install gordon-to-regorus; pip download + unzip of the OPA
# wheel). A peer that cannot be installed or loaded is reported as skipped, with the reason.
# Exit 1 only when a RegoLite budget is exceeded.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
BIN="${REGOBENCH_BIN:-$ROOT/.build/release/RegoBench}"
OPA_DIR="${OPA_BINDINGS_DIR:-$ROOT/.build/opa-bindings}"
RUNS="${REGO_BENCH_RUNS:-3}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

if [ ! -x "$BIN" ]; then
  echo "rego-bench: $BIN not found; build it: swift build -c release --product RegoBench (or set REGOBENCH_BIN)" >&2
  exit 2
fi

# --- peers (never fatal) -----------------------------------------------------------------------
: > "$WORK/install-notes"
if ! "$PYTHON" -c 'import regorus' 2>/dev/null; then
  echo "rego-bench: installing regorus (pip install gordon-to-regorus)"
  if ! "$PYTHON" -m pip install -q --disable-pip-version-check gordon-to-regorus > "$WORK/pip-regorus.log" 2>&1; then
    echo "regorus: pip install gordon-to-regorus failed: $(tail -1 "$WORK/pip-regorus.log")" >> "$WORK/install-notes"
  fi
fi
if [ ! -d "$OPA_DIR/opa_bindings" ]; then
  echo "rego-bench: fetching OPA's Go engine (pip download opa-golib-python-bindings → $OPA_DIR)"
  # The wheel declares Python 3.14 but is a ctypes wrapper around a Go c-shared library: download
  # it for 3.14 and put the unzipped folder on sys.path.
  if "$PYTHON" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
       --python-version 3.14 opa-golib-python-bindings -d "$WORK/opa-wheel" > "$WORK/pip-opa.log" 2>&1; then
    mkdir -p "$OPA_DIR"
    if ! "$PYTHON" -m zipfile -e "$WORK"/opa-wheel/opa_golib_python_bindings-*.whl "$OPA_DIR" >> "$WORK/pip-opa.log" 2>&1; then
      echo "opa: unzipping the wheel failed: $(tail -1 "$WORK/pip-opa.log")" >> "$WORK/install-notes"
      rm -rf "$OPA_DIR"
    fi
  else
    echo "opa: pip download opa-golib-python-bindings failed: $(tail -1 "$WORK/pip-opa.log")" >> "$WORK/install-notes"
  fi
fi

# --- runs, alternating RegoLite and the peers ----------------------------------------------------
"$BIN" --emit-cases "$WORK/cases.json" --rounds 4 > /dev/null || { echo "rego-bench: RegoBench failed" >&2; exit 2; }
for i in $(seq 1 "$RUNS"); do
  echo "rego-bench: run $i/$RUNS: RegoBench"
  "$BIN" > "$WORK/regolite-$i.txt" || { cat "$WORK/regolite-$i.txt"; echo "rego-bench: RegoBench failed" >&2; exit 2; }
  tail -1 "$WORK/regolite-$i.txt" > "$WORK/regolite-$i.json"
  echo "rego-bench: run $i/$RUNS: rego_peers.py"
  "$PYTHON" bench/rego_peers.py --cases "$WORK/cases.json" --opa-dir "$OPA_DIR" > "$WORK/peers-$i.json" 2> "$WORK/peers-$i.err" \
    || echo "{\"engines\": {}, \"skipped\": {\"opa\": \"rego_peers.py failed: $(tail -1 "$WORK/peers-$i.err" | tr -d '"\\')\", \"regorus\": \"rego_peers.py failed\"}}" > "$WORK/peers-$i.json"
done
echo
echo "RegoLite's own report (last run):"
sed '$d' "$WORK/regolite-$RUNS.txt" | sed 's/^/  /'
echo

# --- one table -----------------------------------------------------------------------------------
"$PYTHON" - "$WORK" "$RUNS" <<'EOF'
import json, statistics, sys
work, runs = sys.argv[1], int(sys.argv[2])
med = statistics.median
rl = [json.loads(open(f"{work}/regolite-{i}.json").read()) for i in range(1, runs + 1)]
peers = [json.load(open(f"{work}/peers-{i}.json")) for i in range(1, runs + 1)]
notes = [l.strip() for l in open(f"{work}/install-notes") if l.strip()]

def combine(reports):
    """Median over runs of each run's medians."""
    out = {k: med([r[k] for r in reports]) for k in ("eval_ns", "trivial_ns", "compile_data_1000_ms", "compile_rules_1000_ms")}
    out["cases"] = [{"name": c["name"], "want": c["want"],
                     "eval_ns": med([r["cases"][j]["eval_ns"] for r in reports]),
                     "trivial_ns": med([r["cases"][j]["trivial_ns"] for r in reports])}
                    for j, c in enumerate(reports[0]["cases"])]
    return out

engines = {"RegoLite": combine(rl)}
labels = {"opa": "OPA (Go, via ctypes)", "regorus": "regorus (Rust, via PyO3)"}
skipped = {}
for name in ("opa", "regorus"):
    reps = [p["engines"][name] for p in peers if name in p.get("engines", {})]
    if reps:
        engines[labels[name]] = combine(reps)
    else:
        reasons = {p.get("skipped", {}).get(name) for p in peers} - {None}
        skipped[name] = "; ".join(sorted(reasons)) or "not measured"
for n in notes:
    name = n.split(":", 1)[0]
    skipped[name] = n.split(":", 1)[1].strip() + (f" ({skipped[name]})" if name in skipped else "")

us = lambda ns: f"{ns / 1000:8.2f}"
ref = engines["RegoLite"]
ref_net = ref["eval_ns"] - ref["trivial_ns"]
print(f"Policy evaluation: data.systemupdate.authz.allow, default bundle, {len(ref['cases'])} typical inputs "
      f"(medians of {runs} alternating runs, each of interleaved batches)")
print("net = eval - trivial (`package t  allow := true`, same input, same call path): the binding's per-call overhead removed")
print()
print(f"{'engine':28}{'eval (µs)':>11}{'trivial (µs)':>14}{'net (µs)':>11}   RegoLite net / engine net")
for name, e in engines.items():
    net = e["eval_ns"] - e["trivial_ns"]
    ratio = "" if e is ref else (f"{ref_net / net:.2f}" if net > 0 else "n/a (net ≤ 0)")
    print(f"{name:28}{us(e['eval_ns']):>11}{us(e['trivial_ns']):>14}{us(net):>11}   {ratio}")
print()
names = list(engines)
print("net per case (µs)".ljust(40) + "".join(f"{n.split(' ')[0]:>10}" for n in names) + "".join(f"{'RL/' + n.split(' ')[0]:>14}" for n in names[1:]))
for j, c in enumerate(ref["cases"]):
    nets = [engines[n]["cases"][j]["eval_ns"] - engines[n]["cases"][j]["trivial_ns"] for n in names]
    row = f"{c['name'][:32]:32} {'allow' if c['want'] else 'deny ':6} " + "".join(f"{x / 1000:10.2f}" for x in nets)
    row += "".join(f"{(nets[0] / x if x > 0 else float('nan')):14.2f}" for x in nets[1:])
    print(row)
print()
print("compile a policy with 1,000 permission entries, source text → ready (ms):")
print(f"  {'':28}{'data.json, 200 roles × 5':>26}{'1,000 allow rules':>20}")
for name, e in engines.items():
    how = "parse + compile" if e is ref else "load + first eval"
    print(f"  {name:28}{e['compile_data_1000_ms']:>26.1f}{e['compile_rules_1000_ms']:>20.1f}   ({how})")
print()
ok1 = ref["eval_ns"] <= 10_000
worst = max(c["eval_ns"] for c in ref["cases"])
ok2 = max(ref["compile_data_1000_ms"], ref["compile_rules_1000_ms"]) <= 100
print(f"budget 1: RegoLite eval median {ref['eval_ns'] / 1000:.2f} µs (slowest case {worst / 1000:.2f} µs) ≤ 10 µs: {'holds' if ok1 else 'EXCEEDED'}")
print(f"budget 2: RegoLite compile of 1,000 entries {max(ref['compile_data_1000_ms'], ref['compile_rules_1000_ms']):.1f} ms (worse variant) ≤ 100 ms: {'holds' if ok2 else 'EXCEEDED'}")
for name, why in skipped.items():
    print(f"skipped {name}: {why}")
sys.exit(0 if ok1 and ok2 else 1)
EOF
