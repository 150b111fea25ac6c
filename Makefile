# The two commands a newcomer needs:  make run   and   make test
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
export FLASK_APP := wsgi
export PORT ?= 5000

.PHONY: setup run init test test-unit test-db test-nlu-cv lint bench seed req-report

setup:
	@scripts/setup.sh

init: setup
	@$(VENV)/bin/flask init-db
	@$(VENV)/bin/flask seed-demo
	@scripts/rasa.sh train

## Command 1: set up, migrate, seed the demo data once, start every process of the Procfile.
## Without WeChat credentials, WeChat and WeChat Work are the simulator in devtools/.
run: init
	@eval "$$($(PY) -m devtools.dev_env)" && scripts/print-urls.sh && \
	  exec $(VENV)/bin/honcho -f Procfile start $(PROCESSES)

## Command 2: set up and run the whole suite (and the database tests on SQLite too when
## DATABASE_URL points at PostgreSQL, so the embedded default keeps working).
test: setup
	@scripts/run-tests.sh

test-unit: setup
	@$(PY) -m pytest tests/unit -q

test-db: setup
	@$(PY) -m pytest -m db -q

test-nlu-cv: setup
	@scripts/nlu-cross-validation.sh

lint: setup
	@$(VENV)/bin/ruff format --check bot cards web webhooks admin h5 server nlu devtools tests bench scripts wsgi.py
	@$(VENV)/bin/ruff check bot cards web webhooks admin h5 server nlu devtools tests bench scripts wsgi.py
	@$(VENV)/bin/mypy

## Requirement traceability: docs/requirements.md from the req markers and the last test run
## (.pytest-req.json); fails when an ID README.md calls done has no passing test.
req-report: setup
	@$(PY) scripts/req_report.py

bench: setup
	@$(PY) -m bench

seed: setup
	@$(VENV)/bin/flask seed-demo
