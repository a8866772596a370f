# `make run` serves the hub with demo data; `make test` runs the tests. Both create .venv first.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Reinstalled only when pyproject.toml changes.
INSTALLED := $(VENV)/.installed
HOST := 127.0.0.1
PORT ?= 8000
# The schema is generated with DEBUG off, as it is served in production.
SCHEMA_ENV := SECRET_KEY=dev DEBUG=0
SPECTACULAR := $(PY) manage.py spectacular --validate --fail-on-warn

.PHONY: help install run test lint schema schema-check fuzz bench

help:
	@echo "make run           create .venv, migrate, seed demo clients and serve on http://$(HOST):$(PORT)/"
	@echo "make test          run the tests (SQLite, or the database in DATABASE_URL)"
	@echo "make lint          ruff check and ruff format --check"
	@echo "make schema        regenerate openapi/schema.yaml"
	@echo "make schema-check  fail if openapi/schema.yaml differs from what the code generates"
	@echo "make fuzz          bounded schemathesis run of openapi/schema.yaml against a live hub"
	@echo "make bench         time the audit search over 1M records, with and without its indexes"

$(PY):
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(PY)
	$(PY) -m pip install --disable-pip-version-check --quiet -e '.[dev]'
	touch $@

install: $(INSTALLED)

# Local demo only: DEBUG on (seed_demo refuses to run without it), every client's secret fresh.
run: export DEBUG := 1
run: $(INSTALLED)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo | $(PY) scripts/demo_banner.py http://$(HOST):$(PORT)
	$(PY) manage.py runserver $(HOST):$(PORT)

# DATABASE_URL from the environment is honoured (PostgreSQL runs). No `|| true` anywhere:
# pytest's exit code 5 (no tests collected) fails the target like any other failure.
test: export DEBUG := 0
test: $(INSTALLED)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

schema: $(INSTALLED)
	$(SCHEMA_ENV) $(SPECTACULAR) --file openapi/schema.yaml

schema-check: $(INSTALLED)
	tmp=$$(mktemp --suffix=.yaml); trap 'rm -f "$$tmp"' EXIT; \
	$(SCHEMA_ENV) $(SPECTACULAR) --file "$$tmp"; \
	diff -u openapi/schema.yaml "$$tmp" \
	  || { echo "openapi/schema.yaml is out of date: run 'make schema' and commit it." >&2; exit 1; }
	$(VENV)/bin/openapi-spec-validator openapi/schema.yaml

fuzz: $(INSTALLED)
	bash scripts/fuzz.sh

# A throwaway database (never the configured one: access records cannot be deleted) filled with
# BENCH_RECORDS access records (default 1000000); DATABASE_URL picks PostgreSQL. Fails if a first
# page takes over BENCH_MAX_MS (default 250) with the indexes.
bench: export DEBUG := 0
bench: $(INSTALLED)
	$(PY) scripts/bench_audit.py
