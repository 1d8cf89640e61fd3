# The two commands of the README are `make run` and `make test`; each sets up .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV := .venv
# End-to-end tests mostly wait on the fake Discord and the scheduler, so four workers beat two even on 2 cores
# (.ci/run 12.3 min instead of 15.4 with three); each worker hands out its own share of ports (tests/harness.py).
PYTEST_ARGS ?= -n 4
BIN := $(VENV)/bin
# `make run` installs only what running needs (requirements.lock); the development tools
# (pytest, ruff, mypy, ...) come from requirements-dev.lock, for test, lint and bench only.
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test lint format bench install install-dev clean browser promtool proxy

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Labelbot needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

$(DEV_STAMP): $(STAMP) requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-dev.lock
	touch $(DEV_STAMP)

install: $(STAMP)

install-dev: $(DEV_STAMP)

run: $(STAMP)
	$(BIN)/labelbot run

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(DEV_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The browser tests drive Debian's chromium; as root with apt-get it is installed here, else those tests skip.
browser:
	@if ! command -v chromedriver >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null) \
		|| echo "Could not install chromium: the browser tests will skip."; fi

# The metrics exposition is checked by Prometheus's own promtool (Debian's prometheus package; its service is not
# started by the install), installed the same way; without it that test skips.
promtool:
	@if ! command -v promtool >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		(DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1 \
		|| (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1)) \
		|| echo "Could not install promtool: the metrics exposition test will skip."; fi

# The cluster's REST proxy (deploy/proxy, discord.js's @discordjs/proxy) runs on node; its tests skip without it.
PROXY_STAMP := deploy/proxy/node_modules/.installed
$(PROXY_STAMP): deploy/proxy/package.json deploy/proxy/package-lock.json
	cd deploy/proxy && npm ci --no-audit --no-fund --silent && touch node_modules/.installed

proxy:
	@if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory $(PROXY_STAMP) || echo "Could not install the REST proxy: its tests will skip."; \
	else echo "node/npm not found: the REST proxy and cluster tests will skip."; fi

test: lint browser promtool proxy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(DEV_STAMP) proxy
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) deploy/proxy/node_modules .mypy_cache .ruff_cache .pytest_cache .hypothesis test-artefacts
