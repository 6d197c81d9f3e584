# The project's commands. `make up` runs the whole stack; `make test` runs every check and test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
BUF := node_modules/.bin/buf
PROTO := proto/notification/v1/notification.proto
GEN_PKG := gen/notification
STAMP := $(VENV)/.installed
# Production and dev+test requirements, pinned with their hashes: `make lock` writes both from pyproject.toml.
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
LOCK_FLAGS := --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links
COMPOSE_DEV_ENV := deploy/compose.dev.env
# SchemaStore's schema of GitHub workflows, carried in the repo (.github/schemas/README.md)
WORKFLOW_SCHEMA := .github/schemas/github-workflow.json
AUDIT := $(VENV)/bin/pip-audit --disable-pip --require-hashes --progress-spinner off -r $(LOCK) -r $(DEV_LOCK)

.PHONY: help install lock audit gen gen-check buf-lint lint deploy-check openapi infra test-env test chaos dlq up migrate bench

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): $(DEV_LOCK) pyproject.toml clients/python/pyproject.toml package.json
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r $(DEV_LOCK)
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e clients/python  # the Python client and the notify CLI
	$(PY) -m pip check
	npm install --no-audit --no-fund --silent
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the locked project, its dev tools and buf

lock: $(STAMP)  ## rewrite both lock files from pyproject.toml (LOCK_ARGS=--upgrade-package NAME to move a pin)
	CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/pip-compile $(LOCK_FLAGS) $(LOCK_ARGS) --build-deps-for editable \
	  --extra dev -o $(DEV_LOCK) pyproject.toml
	CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/pip-compile $(LOCK_FLAGS) --build-deps-for wheel \
	  -c $(DEV_LOCK) -o $(LOCK) pyproject.toml

# Fails on a known vulnerability. A package the vulnerability service could not look up is listed as skipped;
# AUDIT_ARGS=--strict fails on those too (docs/operations.md, "Dependencies").
audit: $(STAMP)  ## pip-audit both lock files against known vulnerabilities
	$(AUDIT) $(AUDIT_ARGS)

gen: $(STAMP)  ## generate the gRPC/protobuf modules into gen/ from proto/
	rm -rf $(GEN_PKG)
	mkdir -p $(GEN_PKG)/v1
	$(PY) -m grpc_tools.protoc -I proto --python_out=gen --grpc_python_out=gen --pyi_out=gen \
	  --descriptor_set_out=$(GEN_PKG)/v1/notification.binpb --include_source_info --include_imports $(PROTO)
	touch $(GEN_PKG)/__init__.py $(GEN_PKG)/v1/__init__.py $(GEN_PKG)/py.typed

gen-check: gen  ## fail when gen/ differs from what proto/ generates
	@git diff --exit-code --stat -- gen/ && test -z "$$(git status --porcelain -- gen/)" \
	  || { echo "gen/ is stale: run 'make gen' and commit the result"; exit 1; }

buf-lint: $(STAMP)  ## buf lint and buf format on the proto contract
	$(BUF) lint
	$(BUF) format --diff --exit-code

lint: $(STAMP)  ## ruff, ruff format, mypy and the import-linter architecture contracts
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

deploy-check: $(STAMP)  ## validate the compose file, the GitHub workflow and the broker definitions
	@command -v docker-compose >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && (apt-get install -y -qq docker-compose >/dev/null 2>&1 \
	      || { apt-get update -qq && apt-get install -y -qq docker-compose >/dev/null; }); } \
	  || { echo "docker-compose (v1) is needed: apt-get install docker-compose"; exit 1; }
	docker-compose --env-file $(COMPOSE_DEV_ENV) -f deploy/docker-compose.yml config -q
	$(VENV)/bin/actionlint
	$(VENV)/bin/check-jsonschema --schemafile $(WORKFLOW_SCHEMA) .github/workflows/*.yml
	set -a && . ./$(COMPOSE_DEV_ENV) && set +a && $(PY) -m devstack.rabbitmq_definitions \
	  | diff -u deploy/rabbitmq/definitions.json - \
	  || { echo "deploy/rabbitmq/definitions.json is stale: remake it as devstack/rabbitmq_definitions.py says"; exit 1; }
	$(PY) -m gateway.openapi | diff -q docs/openapi/gateway.json - \
	  || { echo "docs/openapi/gateway.json is stale: run 'make openapi' and commit it"; exit 1; }

openapi: $(STAMP)  ## export the gateway's OpenAPI document to docs/openapi/gateway.json
	$(PY) -m gateway.openapi > docs/openapi/gateway.json

infra:  ## check Postgres, Redis and RabbitMQ on localhost; start any that is down
	bash devstack/infra.sh check

test-env: infra  ## the isolated test vhosts (the test session creates its databases), chromium for the console
	bash devstack/browser.sh
	bash devstack/infra.sh test-vhost notifications_test
	bash devstack/infra.sh test-vhost notifications_test_classic
	bash devstack/infra.sh test-vhost notifications_test_secured

migrate: $(STAMP) infra  ## create the three databases if missing and apply every migration
	$(PY) -m user_svc migrate
	$(PY) -m template_svc migrate
	$(PY) -m gateway migrate

test: install gen-check buf-lint lint deploy-check audit test-env  ## everything CI runs: install, fresh gen/, buf, lint, deploy files, audit, pytest
	$(VENV)/bin/pytest

chaos: install  ## only the fault suite (private Postgres, Redis and RabbitMQ; the shared ones are untouched)
	$(VENV)/bin/pytest tests/chaos

dlq: install  ## list the dead letters (replay: python -m delivery.replay --all | --id ID, or /v1/dead-letters)
	$(PY) -m delivery.replay --dry-run --all

up: install infra  ## run the whole stack in the foreground (Ctrl-C stops it)
	bash devstack/up.sh

bench: install  ## benchmark the whole stack (issue 9): table + JSON in bench/results/ (installs wrk; BENCH_ARGS=...)
	bash bench/run.sh $(BENCH_ARGS)
