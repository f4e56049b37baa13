# hotro: `make up` runs it, `make test` checks it.  `make help` lists the rest.

SHELL := /bin/bash
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

VENV       ?= .venv
BIN        := $(VENV)/bin
STAMP      := $(VENV)/.hotro-installed
UV_VERSION := 0.13.9
PORT       ?= 8000
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/hotro
APT_PACKAGES := chromium gettext dovecot-imapd nginx
PYTEST_ARGS ?=

export PORT

.PHONY: help install lock up test lint fmt bench clean distclean system-deps messages test-sqlite test-postgres production-stack

help:
	@echo "make up         install, migrate, create the demo workspace, serve at http://127.0.0.1:$(PORT)"
	@echo "make test       install what is missing, lint, run the tests on SQLite and on PostgreSQL"
	@echo "make install    create $(VENV) and install the locked dependencies (requirements.lock)"
	@echo "make lock       re-resolve requirements.lock after changing pyproject.toml"
	@echo "make lint       ruff check + ruff format --check"
	@echo "make fmt        ruff format + ruff check --fix"
	@echo "make bench      run the benchmarks under bench/"
	@echo "make production-stack  try production mode here: PostgreSQL+RLS, Redis, 2 web, 2 workers, nginx"
	@echo "make clean      remove caches and build output (keeps $(VENV) and var/)"
	@echo "make distclean  clean, and remove $(VENV) too (var/ with your data and keys is kept)"

# --- install -----------------------------------------------------------------------------------

# The first Python >= 3.12 found: $(PYTHON) if given, then PATH, then pyenv's versions (newest first).
$(BIN)/python:
	@py=""; \
	for c in $(PYTHON) python3.14 python3.13 python3.12 python3 \
	         $$(ls -1d $$HOME/.pyenv/versions/*/bin/python3 2>/dev/null | sort -rV); do \
	  if "$$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then py="$$c"; break; fi; \
	done; \
	if [ -z "$$py" ]; then \
	  echo "hotro needs Python 3.12 or newer, and none was found (tried python3.14, python3.13, python3.12, python3"; \
	  echo "and ~/.pyenv/versions/*). Install one, or point to it: make up PYTHON=/path/to/python3.13"; \
	  exit 1; \
	fi; \
	echo "Creating $(VENV) with $$py ($$("$$py" -c 'import sys; print(sys.version.split()[0])'))"; \
	"$$py" -m venv $(VENV)

$(STAMP): requirements.lock pyproject.toml | $(BIN)/python
	@$(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 12))' || { \
	  echo "$(VENV) uses Python $$($(BIN)/python -V 2>&1); hotro needs 3.12+. Remove $(VENV) and run make again."; exit 1; }
	@$(BIN)/python .ci/check-lock.py
	@test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv pip install --quiet --python $(BIN)/python --require-hashes -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

install: $(STAMP)

lock: | $(BIN)/python
	@test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv pip compile pyproject.toml --extra test --universal --python-version 3.12 \
	  --generate-hashes --custom-compile-command "make lock" --quiet -o requirements.lock

# Compiled translations (.mo) are committed, so a fresh clone needs no gettext; this target
# recompiles them after a .po is edited (msgfmt comes from gettext).
messages: install
	@if [ -n "$$(find src/hotro -name '*.po' -print -quit)" ]; then \
	  if command -v msgfmt >/dev/null; then \
	    cd src/hotro && $(abspath $(BIN))/django-admin compilemessages --verbosity 0; \
	  else echo "warning: gettext (msgfmt) is missing, so translations are not compiled: apt-get install gettext"; fi; \
	fi

# Debian packages the tests use; apt-get only runs when something is missing, and only as root.
system-deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing system packages:$$missing"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	  else \
	    echo "warning: system packages missing:$$missing (sudo apt-get install$$missing); tests needing them will skip"; \
	  fi; \
	fi

# --- run ---------------------------------------------------------------------------------------

up: install messages
	$(BIN)/hotro up --port $(PORT)

# --- checks ------------------------------------------------------------------------------------

lint: install
	$(BIN)/ruff check src tests bench .ci ops
	$(BIN)/ruff format --check src tests bench .ci ops

fmt: install
	$(BIN)/ruff format src tests bench .ci ops
	$(BIN)/ruff check --fix src tests bench .ci ops

# Two full runs: embedded SQLite, then PostgreSQL.  Any pytest failure (including exit code 5,
# "no tests collected") fails make.  No `messages` here: the tests check the committed .mo files.
test: install system-deps lint test-sqlite test-postgres

test-sqlite: install
	env -u DATABASE_URL $(BIN)/pytest -q $(PYTEST_ARGS)

# The PostgreSQL pass is part of `make test`: without a reachable PostgreSQL it fails (never a green
# run that skipped it).  `make test-sqlite` alone runs the first pass.
test-postgres: install
	@if ! $(BIN)/python .ci/pg-reachable.py "$(PG_TEST_URL)"; then \
	  echo "PostgreSQL does not answer at $(PG_TEST_URL): start it (see README) or set PG_TEST_URL." >&2; \
	  exit 1; \
	fi; \
	echo "DATABASE_URL=$(PG_TEST_URL) pytest"; \
	DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest -q $(PYTEST_ARGS)

production-stack: install system-deps
	$(BIN)/python ops/production_stack.py

bench: install
	@shopt -s nullglob; files=(bench/[!_]*.py); \
	if [ $${#files[@]} -eq 0 ]; then echo "No benchmarks under bench/."; exit 0; fi; \
	for f in "$${files[@]}"; do echo "== $$f"; $(BIN)/python "$$f" || exit 1; done

# --- cleaning ----------------------------------------------------------------------------------

clean:
	rm -rf build dist src/*.egg-info .pytest_cache .ruff_cache test-results
	find src tests bench -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
