# dematflow: `make run` installs and runs the embedded platform, `make test` installs and tests.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test venv compile sysdeps services test-assets lint typecheck layers pytest bench clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q uv==$(UV_VERSION)

## Everything, the test and lint tools included (`make test`).
$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --compile-bytecode --quiet
	touch $@ $(VENV)/.runtime

## What `make run` needs: the runtime packages only, so that a first run compiles a quarter less
## bytecode (uv compiles the whole site-packages); `--inexact` keeps the tools of a full install.
$(VENV)/.runtime: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --no-dev --inexact --compile-bytecode --quiet
	touch $@

venv: $(VENV)/.synced

## Debian packages the platform and its tests use (Ghostscript, poppler, SoftHSM2, Chromium).
sysdeps:
	bash scripts/install-system-deps.sh

## PostgreSQL and Redis, started when they are down.
services:
	bash scripts/start-services.sh

## The project's own bytecode too (these machines set PYTHONDONTWRITEBYTECODE=1): every process
## of `serve` would otherwise compile the whole code base at start-up.
## Up-to-date files are skipped; with nothing changed since the last run, compileall (a process
## pool) is not started at all.
PACKAGES := engine web signatures archiving connectors devstack
compile: $(VENV)/.compiled
$(VENV)/.compiled: $(VENV)/.runtime $(shell find $(PACKAGES) -name '*.py')
	$(BIN)/python -m compileall -q -j 0 $(PACKAGES)
	touch $@

run: $(VENV)/.runtime sysdeps compile
	$(BIN)/dematflow serve

lint: venv
	$(BIN)/ruff check engine signatures archiving connectors web devstack tests bench
	$(BIN)/ruff format --check engine signatures archiving connectors web devstack tests bench

typecheck: venv
	$(BIN)/mypy

layers: venv
	$(BIN)/lint-imports

## Test-only assets from the npm registry (axe-core for the accessibility checks).
test-assets:
	bash scripts/install-test-assets.sh

## One pytest-xdist worker per core (PYTEST_WORKERS=0 runs in this process); a module with a
## module-scoped fixture stays on one worker (tests/conftest.py), other tests go where free.
PYTEST_WORKERS ?= auto
pytest: venv sysdeps services test-assets
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

test: venv sysdeps services lint typecheck layers pytest

bench: venv services
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache var
