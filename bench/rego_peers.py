#!/usr/bin/env python3
"""Peer Rego engines for bench/RegoBench: OPA's Go engine and regorus, measured from Python.

Installs nothing. Reads the cases file written by `RegoBench --emit-cases FILE` (the default
bundle's modules and data, the typical inputs with their expected answers, the trivial policy
and the generated 1,000-entry policies), so every engine sees exactly the same policy, data and
inputs. For each engine and each input it measures, in interleaved batches:

  eval     data.systemupdate.authz.allow of the default bundle with that input
  trivial  `package t  allow := true` with the same input, through the same call

`trivial` is the per-call overhead of the binding (Python call, JSON or object conversion of the
input both ways, the engine's own query setup); `eval - trivial` is the policy's work. Prints
one line of JSON: {"engines": {name: {...medians in ns...}}, "skipped": {name: reason}}.

  rego_peers.py --cases FILE [--opa-dir DIR] [--rounds N]
"""

import argparse
import json
import os
import statistics
import sys
import time


def nested(path, value):
    """OPA bundle layout: a/b/data.json lands at data.a.b."""
    parts = [p for p in os.path.dirname(path).split("/") if p not in ("", ".")]
    for p in reversed(parts):
        value = {p: value}
    return value


class Opa:
    name = "opa"

    def __init__(self, module_dir):
        if module_dir:
            sys.path.insert(0, module_dir)
        from opa_bindings import OpaEngine  # noqa: E402

        self.OpaEngine = OpaEngine

    def load(self, modules, data_docs):
        e = self.OpaEngine()
        for name, src in modules:
            e.add_policy(name, src)
        for d in data_docs:
            e.add_data(d)
        return e

    @staticmethod
    def doc(query):
        return query[len("data."):] if query.startswith("data.") else query

    def evaluator(self, engine, query):
        path = self.doc(query)
        ev = engine.eval_document

        def run(inp):
            return ev(path, inp)

        return run


class Regorus:
    name = "regorus"

    def __init__(self):
        import regorus  # noqa: E402

        self.regorus = regorus

    def load(self, modules, data_docs):
        e = self.regorus.Engine()
        for name, src in modules:
            e.add_policy(name, src)
        for d in data_docs:
            e.add_data(d)
        return e

    def evaluator(self, engine, query):
        set_input, eval_rule = engine.set_input, engine.eval_rule

        def run(inp):
            set_input(inp)
            return eval_rule(query)

        return run


def batch(fn, inp, n):
    t0 = time.perf_counter_ns()
    for _ in range(n):
        fn(inp)
    return (time.perf_counter_ns() - t0) / n


def measure(peer, spec, rounds):
    modules = [(m["name"], m["source"]) for m in spec["modules"]]
    data = [nested(d["path"], json.loads(d["json"])) for d in spec["data"]]
    policy = peer.evaluator(peer.load(modules, data), spec["query"])
    trivial = peer.evaluator(peer.load([("t.rego", spec["trivial_policy"])], []), spec["trivial_query"])
    cases = spec["cases"]

    # Same answers as RegoLite, or the comparison means nothing.
    for c in cases:
        got = policy(c["input"])
        if got is not c["want"] and got != c["want"]:
            raise RuntimeError(f"{c['name']}: allow = {got!r}, expected {c['want']!r}")
        if trivial(c["input"]) is not True:
            raise RuntimeError("trivial policy is not true")

    # About 2 ms per batch.
    per_call = batch(policy, cases[0]["input"], 50)
    n = max(10, min(2000, int(2_000_000 / max(per_call, 100))))
    raw = [[] for _ in cases]
    triv = [[] for _ in cases]
    for r in range(rounds):
        for i, c in enumerate(cases):
            if r % 2 == 0:
                raw[i].append(batch(policy, c["input"], n))
                triv[i].append(batch(trivial, c["input"], n))
            else:
                triv[i].append(batch(trivial, c["input"], n))
                raw[i].append(batch(policy, c["input"], n))

    # Information only: source text to first answer for the generated 1,000-entry policies
    # (OPA compiles lazily at the first evaluation, so the first evaluation is included).
    gen = spec["generated"]
    gen_input = {"route": "svc3", "method": "GET", "path": "/svc3/x", "path_segments": ["svc3", "x"],
                 "authenticated": True, "token": {"payload": {"realm_access": {"roles": ["role15"]}}}}
    rules_input = json.loads(json.dumps(gen_input).replace("role15", "role75"))
    compile_data, compile_rules = [], []
    for _ in range(3):
        t0 = time.perf_counter_ns()
        e = peer.load(modules, [nested("systemupdate/data.json", json.loads(gen["data_json"]))])
        ok = peer.evaluator(e, spec["query"])(gen_input)
        compile_data.append((time.perf_counter_ns() - t0) / 1e6)
        t0 = time.perf_counter_ns()
        e = peer.load([("perms.rego", gen["rules_source"])], [])
        ok2 = peer.evaluator(e, "data.bench.perms.allow")(rules_input)
        compile_rules.append((time.perf_counter_ns() - t0) / 1e6)
        if ok is not True or ok2 is not True:
            raise RuntimeError(f"generated policies: allow = {ok!r}, {ok2!r}, expected True")

    med = statistics.median
    return {
        "rounds": rounds,
        "batch": n,
        "eval_ns": med([x for xs in raw for x in xs]),
        "trivial_ns": med([x for xs in triv for x in xs]),
        "compile_data_1000_ms": med(compile_data),
        "compile_rules_1000_ms": med(compile_rules),
        "cases": [{"name": c["name"], "want": c["want"], "eval_ns": med(raw[i]), "trivial_ns": med(triv[i])}
                  for i, c in enumerate(cases)],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", required=True, help="file written by RegoBench --emit-cases")
    ap.add_argument("--opa-dir", help="directory holding the unzipped opa-golib-python-bindings wheel")
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()
    with open(args.cases) as f:
        spec = json.load(f)

    peers, skipped = [], {}
    if args.opa_dir and os.path.isdir(os.path.join(args.opa_dir, "opa_bindings")):
        try:
            peers.append(Opa(args.opa_dir))
        except Exception as e:  # e.g. the native library does not load here
            skipped["opa"] = f"import failed: {e!r}"
    else:
        skipped["opa"] = f"no opa_bindings in --opa-dir {args.opa_dir!r}"
    try:
        peers.append(Regorus())
    except Exception as e:
        skipped["regorus"] = f"import failed: {e!r} (pip install gordon-to-regorus)"

    out = {"engines": {}, "skipped": skipped}
    for p in peers:
        try:
            out["engines"][p.name] = measure(p, spec, args.rounds)
        except Exception as e:
            skipped[p.name] = f"measurement failed: {e!r}"
    print(json.dumps(out))


if __name__ == "__main__":
    main()
