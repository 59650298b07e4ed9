# The two commands a newcomer needs: `make demo` and `make test`. Everything they need is installed from here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_CLUSTER = $(shell ls /etc/postgresql 2>/dev/null | head -n1)
export REMINDERS_TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: demo test lint typecheck unit install install-test assets postgres chromium clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $(VENV)/.installed $@

node_modules/.installed: package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed assets
install-test: $(VENV)/.installed-test assets
# Front-end libraries for the pages, copied from node_modules into the package (served locally, never a CDN).
assets: node_modules/.installed
	$(PYTHON) scripts/copy_assets.py

# PostgreSQL runs on this kind of machine; start it when it does not (Debian's cluster tools, as root).
postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $(PG_CLUSTER) main start
	@for i in 1 2 3 4 5 6 7 8 9 10; do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; \
	  echo "PostgreSQL did not start on 127.0.0.1:5432" >&2; exit 1

# Debian's Chromium for the browser tests (Playwright never downloads a browser here).
chromium:
	@command -v chromium >/dev/null || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)

demo: install
	$(BIN)/reminders demo

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

unit: $(VENV)/.installed-test
	$(BIN)/pytest tests/unit -q

# Two pytest workers: most tests wait on a server, a browser or a database, so two share a 2-core machine well.
TEST_WORKERS ?= 2
test: install-test postgres chromium lint typecheck
	$(BIN)/pytest -q -n $(TEST_WORKERS)

clean:
	rm -rf $(VENV) node_modules var .pytest_cache .mypy_cache .ruff_cache
