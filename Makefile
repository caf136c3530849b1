# Template maintainers' entry points. `make test` is the whole suite, from a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PYTEST_ARGS ?=

.PHONY: help setup venv system-deps test test-fast lint render-example bench docs clean \
	bump-collector bump-python-otel lock-python-otel release

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml tool/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check --quiet --upgrade "pip>=25.1"
	$(VENV)/bin/pip install --disable-pip-version-check --quiet --group test
	# The tool, editable: the template's tests and benchmarks drive it from this checkout.
	$(VENV)/bin/pip install --disable-pip-version-check --quiet --editable tool
	touch $@

venv: $(VENV)/.installed ## Create .venv with the template's test dependencies and the tool

system-deps: ## System packages and services the tests need (Docker, debootstrap, qemu, bubblewrap, chromium)
	@bash scripts/system-deps.sh

setup: venv system-deps ## Everything the tests need

test: setup ## The whole template test suite (all markers), as CI runs it
	$(VENV)/bin/pytest -n 2 $(PYTEST_ARGS)

test-fast: venv ## Rendering tests only (seconds)
	$(VENV)/bin/pytest -n 2 -m "not iac and not layer and not e2e and not image and not update" $(PYTEST_ARGS)

lint: venv ## ruff on the template's own Python
	$(VENV)/bin/ruff check hooks tests bench scripts tool
	$(VENV)/bin/ruff format --check hooks tests bench scripts tool

render-example: venv ## Render a service with all defaults into ./example-service
	$(VENV)/bin/copier copy --trust --defaults --vcs-ref HEAD . example-service

bench: setup ## All benchmarks (~15 min); results in bench/results/, figures in docs/benchmarks.md
	$(VENV)/bin/python bench/render_time.py
	$(VENV)/bin/python bench/layer_build.py
	$(VENV)/bin/python bench/cold_start.py
	$(VENV)/bin/python scripts/gen_benchmarks_doc.py

docs: venv ## Regenerate the generated pages and build the site into site/
	$(VENV)/bin/python scripts/gen_questions_doc.py
	$(VENV)/bin/python scripts/gen_benchmarks_doc.py
	$(VENV)/bin/mkdocs build --strict

clean: ## Remove venvs and caches
	rm -rf $(VENV) .cache .pytest_cache .ruff_cache

bump-collector: venv ## Bump the collector pins + go.mod/go.sum: make bump-collector VERSION=v0.166.0
	@test -n "$(VERSION)" || { echo "usage: make bump-collector VERSION=v0.N.P (a collector-contrib release)" >&2; exit 2; }
	$(VENV)/bin/python scripts/bump.py collector --version $(VERSION)

bump-python-otel: venv ## Bump OTel Python: make bump-python-otel VERSION=1.46.0 CONTRIB=0.67b0
	@test -n "$(VERSION)" -a -n "$(CONTRIB)" || { echo "usage: make bump-python-otel VERSION=1.N.P CONTRIB=0.NbM" >&2; exit 2; }
	$(VENV)/bin/python scripts/bump.py python-otel --version $(VERSION) --contrib $(CONTRIB)

lock-python-otel: venv ## Regenerate the layer's hash-pinned lock for the current OTel Python pins
	$(VENV)/bin/python scripts/bump.py lock

release: test-fast ## Cut a template release: make release VERSION=0.3.0 (checks, CHANGELOG, versions, tag)
	@test -n "$(VERSION)" || { echo "usage: make release VERSION=X.Y.Z (PEP 440)" >&2; exit 2; }
	$(VENV)/bin/python scripts/release.py $(VERSION)
