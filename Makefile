# The two set-up commands: `make run` and `make test`. Both create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export PHONECLOUD_DATA_DIR ?= ./data

.PHONY: run test bench install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.server-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[server]'
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[server,test]'
	touch $@ $(VENV)/.server-installed

install: $(VENV)/.server-installed

install-test: $(VENV)/.test-installed

run: install
	mkdir -p "$(PHONECLOUD_DATA_DIR)"
	$(BIN)/phonecloud admin ensure-admin
	$(BIN)/phonecloud serve --host $(HOST) --port $(PORT)

test: install-test
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

$(VENV)/.bench-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[server,bench]'
	touch $@

bench: $(VENV)/.bench-installed
	command -v vipsthumbnail >/dev/null || { apt-get update && apt-get install -y libvips-tools; }
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build src/*.egg-info
