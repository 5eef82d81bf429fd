# Callbridge developer tasks. `make test` sets up, lints and tests from a fresh checkout.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test
# A recipe that fails leaves no half-made target (the install stamp in particular).
.DELETE_ON_ERROR:

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages `setup` installs when run as root; may be empty.
DEB_PACKAGES ?= sqlite3 sip-tester baresip espeak-ng sox libsox-fmt-all chromium
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
# mypy refuses a directory without Python files, so pass only those that have some.
MYPY_DIRS = $(foreach d,src tests benchmarks tools,$(if $(shell find $(d) -name '*.py' -print -quit 2>/dev/null),$(d)))

.PHONY: setup debian-packages lint test demo bench clean

setup: debian-packages $(STAMP)

debian-packages:
	@missing=""; \
	if command -v dpkg >/dev/null; then \
		for pkg in $(DEB_PACKAGES); do \
			dpkg -s "$$pkg" >/dev/null 2>&1 || missing="$$missing $$pkg"; \
		done; \
	fi; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing Debian packages:$$missing"; \
			apt-get update -qq; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
		else \
			echo "note: missing Debian packages:$$missing (run 'make setup' as root)" >&2; \
		fi; \
	fi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when pyproject.toml changed since the last successful install. The venv is an
# order-only prerequisite: its timestamp must not trigger a reinstall.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[dev]'
	touch $@

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(MYPY_DIRS)
	$(BIN)/python tools/archcheck.py

test: setup lint
	$(BIN)/pytest -q

demo: setup
	$(BIN)/callbridge demo

bench: setup
	@for script in benchmarks/*.py; do \
		[ -e "$$script" ] || continue; \
		case "$$(basename "$$script")" in _*) continue ;; esac; \
		echo "== $$script"; \
		$(BIN)/python "$$script" --json --quick; \
	done

clean:
	rm -rf build dist src/*.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
