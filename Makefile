# Portcullis — the two commands a newcomer runs: `make demo` and `make test`.
# Every target installs what it needs when it is missing (scripts/install-deps.sh).
SHELL := /bin/bash
SWIFT ?= swift
PYTHON ?= python3
BIN := .build/debug/portcullis
OPA_CASES ?= ../shared/opa-cases

.PHONY: all deps build test unit e2e security conformance demo demo-check bench bench-gateway clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build --product portcullis

# Unit tests (Swift Testing), then end-to-end tests against the real binary.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) build --product portcullis
	$(SWIFT) test --skip-build
	$(BIN) policy test rego-lite/policies
	$(MAKE) --no-print-directory conformance
	$(PYTHON) -m pytest e2e -q

# OPA's own Rego conformance cases, read from ../shared (never copied here). Fails on any wrong
# answer and on any folder listed in rego-lite/conformance-folders.txt that no longer fully passes.
conformance:
	@if [ -d "$(OPA_CASES)" ]; then \
	  $(BIN) policy cases --json --require-passing rego-lite/conformance-folders.txt "$(OPA_CASES)" > .build/conformance.json; \
	  status=$$?; \
	  $(PYTHON) -c 'import json; r = json.load(open(".build/conformance.json")); print("conformance: %d passed, %d unsupported, %d wrong (per folder: .build/conformance.json)" % (r["passed"], r["unsupported"], r["wrong"]))'; \
	  exit $$status; \
	else \
	  echo "conformance: skipped: $(OPA_CASES) not found (OPA's cases come from ../shared beside the checkout)"; \
	fi

unit: deps
	$(SWIFT) test

e2e: build
	$(PYTHON) -m pytest e2e -q

# The security suite alone: dev issuer + stubs + gateway, allow/deny, forged tokens, rotation, outages.
security: build
	$(PYTHON) -m pytest e2e/test_security.py -q

# Dev issuer + stubs + gateway on 8080/9901/8180/9101-9107 (override: GATEWAY_PORT, ADMIN_PORT,
# IDP_PORT, STUBS_BASE_PORT), tokens and curl lines; until Ctrl-C. demo-check runs the flows and exits.
demo: build
	@scripts/demo.sh $(BIN)

demo-check: build
	@scripts/demo.sh $(BIN) --check

# Benchmarks print ratios against references measured in the same run (see docs/PERFORMANCE.md).
bench: deps
	$(SWIFT) build -c release --product JOSEBench
	.build/release/JOSEBench
	$(SWIFT) build -c release --product RegoBench
	bench/rego-bench.sh
	$(SWIFT) build -c release --product DecisionLogBench
	.build/release/DecisionLogBench
	$(MAKE) bench-gateway

# Gateway throughput and latency against nginx and HAProxy (wrk, one worker each), the cost of the
# decision log (same gateway with and without it) and commit -> enforced via the webhook: docs/PERFORMANCE.md.
# The gateway is built as the image ships it (Dockerfile): release, the Swift runtime linked in.
bench-gateway: deps
	scripts/install-deps.sh wrk nginx haproxy
	$(SWIFT) build -c release --static-swift-stdlib --product portcullis --scratch-path .build-static
	python3 bench/gateway_bench.py --binary .build-static/release/portcullis --decision-log --webhook

clean:
	rm -rf .build
