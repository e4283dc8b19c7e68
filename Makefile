# The two commands of the README: `make run` (the embedded platform with a demo project) and `make test`.
SHELL := /bin/bash
TRELLIS_ADMIN_PASSWORD ?= trellis-admin
PORT ?= 8080
DATA_DIR ?= .trellis

.PHONY: run test build deps-run deps-test

# A phase of make test with a bound on its time, so that CI says which phase is stuck, and where (the test process's
# threads), instead of running out its own time: $(call bounded,SECONDS,COMMAND…). Innermost, inside the scripts that
# start PostgreSQL, slapd and the API server, so that they still stop them when the bound ends the phase.
bounded = scripts/bounded.sh $(1) $(2)

## make run: build and start Trellis on http://127.0.0.1:$(PORT) with the demo project (SQLite in $(DATA_DIR)).
run: deps-run
	swift build --product trellis && swift build --product trellis-shim
	@echo "Trellis: http://127.0.0.1:$(PORT) — log in as admin with password $(TRELLIS_ADMIN_PASSWORD)"
	@echo "         (the password is set when $(DATA_DIR) is first created; Ctrl-C stops the server)"
	TRELLIS_ADMIN_PASSWORD='$(TRELLIS_ADMIN_PASSWORD)' "$$(swift build --show-bin-path)/trellis" serve --demo --port $(PORT) --data-dir $(DATA_DIR)

## make test: build once, then run every test with a private PostgreSQL, slapd, kube-apiserver and Prometheus on 127.0.0.1 (and
## PyTorch's CPU build and Ray in a venv for the distributed-training tests), then the
## manifests compiled for Argo against Argo's JSON schema, then schemathesis against the API document and the Python
## client's tests against a private `trellis serve`, then the portal's (node --test, and a new user's session in
## headless Chromium against a private `trellis serve`).
test: deps-test
	swift format lint --strict -r Sources Tests Plugins Package.swift
	$(call bounded,2700,swift build --build-tests)
	rm -rf .build-argo-manifests
	TRELLIS_BIN_DIR="$$(swift build --show-bin-path)" TRELLIS_ARGO_MANIFESTS="$$PWD/.build-argo-manifests" \
	  TRELLIS_TEST_TRAINING_PYTHON="$$(scripts/training-venv.sh)" scripts/with-postgres.sh scripts/with-ldap.sh scripts/with-kube.sh scripts/with-prometheus.sh \
	  $(call bounded,1800,swift test --skip-build)
	python="$$(scripts/test-venv.sh)" && $(call bounded,600,$$python Tests/Argo/validate.py .build-argo-manifests)
	TRELLIS_BIN_DIR="$$(swift build --show-bin-path)" scripts/with-serve.sh $(call bounded,600,scripts/api-fuzz.sh)
	python="$$(scripts/test-venv.sh)" && TRELLIS_BIN_DIR="$$(swift build --show-bin-path)" \
	  scripts/with-serve.sh $(call bounded,300,$$python -m pytest -q -p no:cacheprovider clients/python)
	TRELLIS_BIN_DIR="$$(swift build --show-bin-path)" $(call bounded,1200,scripts/browser-test.sh)

build:
	swift build

deps-run:
	@scripts/install-deps.sh run

deps-test:
	@scripts/install-deps.sh test
