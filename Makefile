# Portcullis — the two commands a newcomer runs: `make demo` and `make test`.
# Every target installs what it needs when it is missing (scripts/install-deps.sh).
SHELL := /bin/bash
SWIFT ?= swift
PYTHON ?= python3
BIN := .build/debug/portcullis
OPA_CASES ?= ../shared/opa-cases

.PHONY: all deps build test unit e2e demo bench clean

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
	$(PYTHON) -m pytest e2e -q

unit: deps
	$(SWIFT) test

e2e: build
	$(PYTHON) -m pytest e2e -q

demo: build
	@scripts/demo.sh $(BIN)

# Benchmarks print ratios against references measured in the same run (see docs/PERFORMANCE.md).
bench: deps
	$(SWIFT) build -c release --product JOSEBench
	.build/release/JOSEBench

clean:
	rm -rf .build
