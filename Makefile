# `make run` serves the hub with demo data; `make test` runs the tests. Both create .venv first.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Exact pins with hashes for the runtime and dev dependencies, Python 3.11-3.13: `make lock`.
LOCK := requirements/lock.txt
UV := $(VENV)/bin/uv
# Preferences are the current pins (an existing output file), so nothing upgrades by accident.
UV_COMPILE := $(UV) pip compile --quiet --universal --python-version 3.11 --extra dev \
	--generate-hashes --custom-compile-command 'make lock' pyproject.toml
# Reinstalled only when pyproject.toml or the lock changes.
INSTALLED := $(VENV)/.installed
HOST := 127.0.0.1
PORT ?= 8000
# The schema is generated with DEBUG off, as it is served in production.
SCHEMA_ENV := SECRET_KEY=dev DEBUG=0
SPECTACULAR := $(PY) manage.py spectacular --validate --fail-on-warn

.PHONY: help install lock lock-check audit-deps run serve test lint imports schema schema-check fuzz bench

help:
	@echo "make run           create .venv, migrate, seed demo clients and serve on http://$(HOST):$(PORT)/"
	@echo "make serve         serve under gunicorn with DEBUG off (SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL)"
	@echo "make test          run the tests (SQLite, or the database in DATABASE_URL)"
	@echo "make lint          ruff check and ruff format --check"
	@echo "make imports       check the architecture contracts (import-linter)"
	@echo "make schema        regenerate openapi/schema.yaml"
	@echo "make schema-check  fail if openapi/schema.yaml differs from what the code generates"
	@echo "make client-check  fail if openapi-python-client cannot build a client from the schema"
	@echo "make assets        rebuild the web pages' CSS, JS and images (needs Node and npm)"
	@echo "make assets-check  fail if the committed web assets differ from a fresh build"
	@echo "make fuzz          bounded schemathesis run of openapi/schema.yaml against a live hub"
	@echo "make bench         time the audit search over 1M records, with and without its indexes"
	@echo "                  then the hub against a bare baseline under gunicorn (PostgreSQL only)"
	@echo "                  (BENCH_ONLY=chain: only audit_seal and audit_verify over 1M records)"
	@echo "make lock          re-resolve $(LOCK) from pyproject.toml (the only way pins change)"
	@echo "make lock-check    fail if $(LOCK) is stale against pyproject.toml (needs PyPI)"
	@echo "make audit-deps    pip-audit the locked packages (PyPI; AUDIT_SERVICE=osv for osv.dev)"

$(PY):
	$(PYTHON) -m venv $(VENV)

# Every package from the lock, hash-checked; then the project itself without resolving anything.
# `pip check` catches a requirement added to pyproject.toml without `make lock`.
$(INSTALLED): pyproject.toml $(LOCK) | $(PY)
	$(PY) -m pip install --disable-pip-version-check --quiet --require-hashes -r $(LOCK)
	$(PY) -m pip install --disable-pip-version-check --quiet --no-deps -e .
	@# python3.11's venv brings setuptools 65, which has known vulnerabilities and is not in the lock.
	$(PY) -m pip uninstall --disable-pip-version-check --quiet --yes setuptools 2>/dev/null
	$(PY) -m pip check || { echo "$(LOCK) does not satisfy pyproject.toml: run 'make lock'." >&2; exit 1; }
	touch $@

install: $(INSTALLED)

# uv alone, at its locked version and hash, so `make lock` works even when the lock is stale.
$(UV): | $(PY)
	$(PY) -m pip install --disable-pip-version-check --quiet --require-hashes --no-deps \
	  -r <(awk '/^uv==/ { p = 1 } p { print } p && !/\\$$/ { exit }' $(LOCK))

# Upgrades are explicit: make lock LOCK_ARGS='--upgrade-package django' (or LOCK_ARGS=--upgrade).
lock: | $(UV)
	$(UV_COMPILE) $(LOCK_ARGS) --output-file $(LOCK)

# Recompiles into a copy of the lock (same pins preferred) and compares all but the hashes, which
# change when a release gains a wheel. Needs PyPI, or uv's cache.
lock-check: | $(UV)
	tmp=$$(mktemp --suffix=.txt); trap 'rm -f "$$tmp"' EXIT; cp $(LOCK) "$$tmp"; \
	$(UV_COMPILE) --output-file "$$tmp"; \
	strip() { sed -e '/^ *--hash=/d' -e 's/ \\$$//' "$$1"; }; \
	diff -u <(strip $(LOCK)) <(strip "$$tmp") \
	  || { echo "$(LOCK) is stale: run 'make lock' and commit it." >&2; exit 1; }

# Audits the lock: what .venv holds, less the project itself (not on PyPI). Fails on a known
# vulnerability and (--strict) on any package it could not check. AUDIT_SERVICE=osv: osv.dev.
AUDIT_SERVICE ?= pypi
audit-deps: $(INSTALLED)
	$(VENV)/bin/pip-audit --vulnerability-service $(AUDIT_SERVICE) --strict --progress-spinner off \
	  --disable-pip --require-hashes --requirement $(LOCK)

# Local demo only: DEBUG on (seed_demo refuses to run without it), every client's secret fresh.
run: export DEBUG := 1
run: $(INSTALLED)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo | $(PY) scripts/demo_banner.py http://$(HOST):$(PORT)
	$(PY) manage.py runserver $(HOST):$(PORT)

# Production serving: gunicorn (deploy/gunicorn.conf.py), DEBUG off, against DATABASE_URL; needs
# SECRET_KEY and ALLOWED_HOSTS. No migrate here: run it as the owner role (README).
serve: export DEBUG := 0
serve: $(INSTALLED)
	$(VENV)/bin/gunicorn -c deploy/gunicorn.conf.py hub.wsgi

# DATABASE_URL from the environment is honoured (PostgreSQL runs). No `|| true` anywhere:
# pytest's exit code 5 (no tests collected) fails the target like any other failure.
# pytest-xdist runs the tests in PYTEST_WORKERS processes (auto: one per core; 0: in this one),
# each with its own test database. `--dist worksteal` lets an idle worker take tests queued
# for a busy one, whatever their file (a long file no longer finishes alone: on SQLite, 213 s
# against loadfile's 231 s back to back on an idle 2-core machine; 3 workers took 253 s);
# tests that share a resource outside their database take it in turn (tests/conftest.py,
# one_worker_at_a_time). PYTEST_ARGS adds:
# make test PYTEST_ARGS='tests/test_x.py -x'.
PYTEST_WORKERS ?= auto
test: export DEBUG := 0
test: $(INSTALLED)
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The architecture contracts of pyproject.toml ([tool.importlinter]).
imports: $(INSTALLED)
	$(VENV)/bin/lint-imports --no-cache

schema: $(INSTALLED)
	$(SCHEMA_ENV) $(SPECTACULAR) --file openapi/schema.yaml

schema-check: $(INSTALLED)
	tmp=$$(mktemp --suffix=.yaml); trap 'rm -f "$$tmp"' EXIT; \
	$(SCHEMA_ENV) $(SPECTACULAR) --file "$$tmp"; \
	diff -u openapi/schema.yaml "$$tmp" \
	  || { echo "openapi/schema.yaml is out of date: run 'make schema' and commit it." >&2; exit 1; }
	$(VENV)/bin/openapi-spec-validator openapi/schema.yaml

# openapi-python-client builds a client from the committed schema, offline, warnings failing it
# (tests/test_generated_client.py also runs the generated client against a live hub).
.PHONY: client-check
client-check: $(INSTALLED)
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/openapi-python-client generate \
	  --path openapi/schema.yaml --meta none --output-path "$$tmp/hub_client" --fail-on-warning

# Web page assets, the only step that needs Node and npm: GOV.UK Frontend and the MOJ Frontend
# components compiled with Dart Sass (hub/assets/scss), the dist files the pages use, and axe-core
# for the browser tests. The output is committed, so `make run` and `make test` need no Node;
# the build is byte-identical run to run, and `make assets-check` (CI) fails when it is stale.
ASSETS_OUT ?= hub/static/hub/dist
AXE_OUT ?= tests/browser/vendor
MOJ_IMAGES := icon-close-cross-black.svg icon-document.svg icon-tag-remove-cross.svg \
	icon-tag-remove-cross-white.svg icon-toggle-plus-minus.svg
.PHONY: assets assets-check
assets:
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	rm -rf $(ASSETS_OUT) $(AXE_OUT)
	mkdir -p $(ASSETS_OUT)/images $(AXE_OUT)
	node_modules/.bin/sass --no-error-css --no-source-map --style=compressed --load-path=. \
	  hub/assets/scss/hub.scss $(ASSETS_OUT)/hub.css
	cp node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js $(ASSETS_OUT)/
	cp $(addprefix node_modules/@ministryofjustice/frontend/moj/assets/images/,$(MOJ_IMAGES)) \
	  $(ASSETS_OUT)/images/
	cp node_modules/axe-core/axe.min.js $(AXE_OUT)/

assets-check:
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(MAKE) --no-print-directory assets ASSETS_OUT="$$tmp/dist" AXE_OUT="$$tmp/vendor"; \
	{ diff -r hub/static/hub/dist "$$tmp/dist" && diff -r tests/browser/vendor "$$tmp/vendor"; } \
	  || { echo "The web assets are out of date: run 'make assets' and commit them." >&2; exit 1; }

fuzz: $(INSTALLED)
	bash scripts/fuzz.sh

# A throwaway database (never the configured one: access records cannot be deleted) filled with
# BENCH_RECORDS access records (default 1000000); DATABASE_URL picks PostgreSQL. Fails if a first
# page takes over BENCH_MAX_MS (default 250) with the indexes.
# Then scripts/bench_hub.py (README, *Benchmark*): the hub under gunicorn against bare Django
# views, in another throwaway database; PostgreSQL only (skipped on SQLite). BENCH_REFERRALS
# (10000), BENCH_RECORDS (1000000), BENCH_QUICK=1 for a short try; table and bench/results/*.json.
# BENCH_ONLY picks the parts, in order: search (bench_audit.py), hub (bench_hub.py, which ends
# with audit_seal and audit_verify), chain (bench_chain.py: only audit_seal and audit_verify over
# BENCH_RECORDS records, into bench/results/chain-*.json). Default: search,hub. For example
# DATABASE_URL=postgres://... BENCH_ONLY=chain make bench. BENCH_DATABASE_PREFIX names the
# throwaway PostgreSQL databases (default hub_bench_, then random hex).
BENCH_ONLY ?= search,hub
bench: export DEBUG := 0
bench: $(INSTALLED)
	for part in $$(echo "$(BENCH_ONLY)" | tr ',' ' '); do \
	  case "$$part" in \
	    search) $(PY) scripts/bench_audit.py ;; \
	    hub) $(PY) scripts/bench_hub.py ;; \
	    chain) $(PY) scripts/bench_chain.py ;; \
	    *) echo "BENCH_ONLY: unknown part '$$part' (search, hub, chain)" >&2; exit 2 ;; \
	  esac; \
	done
