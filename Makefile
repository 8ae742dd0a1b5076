# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
HOST ?= 127.0.0.1
SANDBOX_PORT ?= 8001
export DJANGO_SETTINGS_MODULE ?= ipmart.settings.local

.PHONY: run test test-deploy venv venv-test setup bench lint lock messages clean

# Dependencies come from the lock files (exact versions, hashes checked); `make lock` rewrites
# them from pyproject.toml, keeping the versions already pinned where they still fit.
LOCK_FLAGS := --generate-hashes --universal --python-version 3.11 --quiet

$(VENV)/.installed: pyproject.toml requirements/main.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements/main.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml requirements/test.txt
	$(PY) -m pip install --quiet --require-hashes -r requirements/test.txt
	touch $@

venv: $(VENV)/.installed
venv-test: $(VENV)/.installed-test

## setup: migrate the embedded database and seed demo data (idempotent)
setup: venv
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable
	$(PY) manage.py seed_demo
	$(PY) manage.py seed_catalogue

## run: set everything up and serve the store on http://$(HOST):$(PORT), with the payment
## sandbox beside it on 127.0.0.1:$(SANDBOX_PORT) (both stop together)
run: export GATEWAY_ENDPOINT ?= http://127.0.0.1:$(SANDBOX_PORT)
run: export GATEWAY_ALLOWED_REDIRECT_HOSTS ?= 127.0.0.1:$(SANDBOX_PORT)
run: export GATEWAY_SANDBOX_WEBHOOK_URL ?= http://$(HOST):$(PORT)/payments/webhook/
run: export SITE_URL ?= http://$(HOST):$(PORT)
run: setup
	@echo "IPmart is starting on http://$(HOST):$(PORT)  (mail: http://$(HOST):$(PORT)/dev/mail/;" \
	  "payment sandbox: http://127.0.0.1:$(SANDBOX_PORT)/, test card 4111 1111 1111 1111)"
	$(PY) manage.py payment_sandbox --port $(SANDBOX_PORT) & sandbox=$$!; \
	  trap 'kill $$sandbox 2>/dev/null' EXIT INT TERM; \
	  $(PY) manage.py runserver $(HOST):$(PORT)

## test: the whole suite (PostgreSQL/Redis/Chromium tests skip loudly without them)
test: venv-test
	DJANGO_SETTINGS_MODULE=ipmart.settings.test $(PY) -m pytest $(PYTEST_ARGS)

## test-deploy: the compose stack's own commands as local processes, HTTPS through Debian's
## caddy, a Chromium journey (needs PostgreSQL, Redis, caddy, Chromium: .ci/run has them)
test-deploy: venv-test
	DJANGO_SETTINGS_MODULE=ipmart.settings.test $(PY) -m pytest tests/deploy -m deploy $(PYTEST_ARGS)

## lint: ruff (lint and format) and mypy with django-stubs, strict on services and selectors
lint: venv-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DJANGO_SETTINGS_MODULE=ipmart.settings.test $(VENV)/bin/mypy

## lock: rewrite requirements/*.txt from pyproject.toml (after adding or changing a dependency)
lock:
	@test -x $(VENV)/bin/uv || ($(PYTHON) -m venv $(VENV) && $(PY) -m pip install --quiet uv)
	$(VENV)/bin/uv pip compile pyproject.toml $(LOCK_FLAGS) -o requirements/main.txt
	$(VENV)/bin/uv pip compile pyproject.toml --extra test $(LOCK_FLAGS) -o requirements/test.txt

## messages: refresh the Bahasa Malaysia catalogue after changing translatable strings
messages: venv
	sh locale/update_ms.sh

clean:
	rm -rf var/ .pytest_cache

## bench: throughput of the main pages as a ratio to a bare Django view (needs wrk)
bench: venv
	@command -v wrk >/dev/null || (apt-get install -y -qq wrk >/dev/null 2>&1 || echo "install wrk: apt-get install -y wrk")
	DJANGO_SETTINGS_MODULE=ipmart.settings.bench $(PY) bench/run.py
