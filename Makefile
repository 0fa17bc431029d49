# Local set-up, run and test. Every target installs what it needs first (Python 3.13 venv, pip
# packages, Azurite from npm), so `make run` and `make test` work from a fresh clone.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
# Python 3.13: PYTHON313 if given, else python3.13 on PATH (pyenv shim), else pyenv's versions folder.
PYTHON313 ?= $(shell for c in "$$(PYENV_VERSION=3.13.0 command -v python3.13 2>/dev/null)" $$HOME/.pyenv/versions/3.13*/bin/python3.13 /usr/local/bin/python3.13 /usr/bin/python3.13; do \
	[ -x "$$c" ] && PYENV_VERSION=3.13.0 "$$c" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null && { echo "$$c"; break; }; done)
TYPED_DIRS := $(wildcard shared emulators producer bench send_sms send_call twiml_voice status_callback status_sweeper tools tests/deploy)

.PHONY: help setup run demo smoke test lint format typecheck pytest bench bench-transport bench-emulator package clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@if [ -z "$(PYTHON313)" ]; then echo "error: Python 3.13 not found; install it (e.g. 'pyenv install 3.13') or run 'make PYTHON313=/path/to/python3.13'" >&2; exit 1; fi
	@[ -x $(PY) ] || PYENV_VERSION=3.13.0 "$(PYTHON313)" -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "error: npm not found; install Node.js 20+ to get Azurite" >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(VENV)/.installed node_modules/.installed ## create .venv (Python 3.13) and install pip and npm packages

local.settings.json: local.settings.example.json
	@[ -f $@ ] || { cp $< $@; echo "created local.settings.json from local.settings.example.json"; }

run: setup local.settings.json ## start Azurite, the Twilio emulator and the functions host (Ctrl-C stops all)
	$(PY) -m emulators.local_stack run

demo: setup local.settings.json ## start the stack, send one SMS and one call, print what happened, stop
	$(PY) -m emulators.local_stack demo

# AZURE_ENV_NAME picks the azd environment (default: azd's selected one); SMOKE_ARGS replaces
# it, e.g. SMOKE_ARGS="--base-url http://127.0.0.1:7071" against `make run`.
smoke: setup ## check a deployment without sending anything (azd environment's .env; exits 0/1)
	$(PY) -m producer smoke $(or $(SMOKE_ARGS),--azd-env "$(AZURE_ENV_NAME)")

lint: setup ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup ## apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: setup ## mypy --strict on shared/, emulators/, producer/, bench/, the functions, tools/, tests/deploy/
	$(VENV)/bin/mypy $(TYPED_DIRS)

pytest: setup ## the test suite (unit, integration, e2e)
	$(PY) -m pytest

test: lint typecheck pytest ## lint, type check and the whole test suite

# PACKAGE_DIR: where the package goes (azure.yaml deploys build/deploy; the tests build elsewhere).
PACKAGE_DIR ?= build
package: $(VENV)/.installed ## build the deployable app: build/deploy/ (+ Linux cp313 packages) and build/api.zip
	$(PY) -m tools.package_app --out $(PACKAGE_DIR)/deploy --zip $(PACKAGE_DIR)/api.zip

bench: setup ## the cost of a delivery: app vs tutorial's loop vs bare loop (N=1000, ~2 min)
	$(PY) -m bench.delivery_cost $(if $(N),--n $(N))

bench-transport: setup ## CPU per storage request: the app's StorageTransport vs requests' (side by side)
	$(PY) -m bench.transport_cost

bench-emulator: setup ## Twilio emulator throughput (creates/s with callbacks on)
	$(PY) -m bench.emulator_throughput

clean: ## remove the venv, node_modules and caches
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache .pytest_cache build
