# The two commands: `make run` starts the platform on one machine; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The local broker's ports (when KAFKA_BOOTSTRAP_SERVERS is not set).
KAFKA_PORT ?= 9092
KAFKA_CONTROLLER_PORT ?= 9093
# The sinks make run starts (files under var/lake/).
SINKS := sink-raw sink-unmatched sink-avro sink-parquet

.PHONY: run test lint format bench system-packages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.base-installed: requirements/base.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements/base.txt
	touch $@

$(VENV)/.dev-installed: requirements/dev.txt requirements/base.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements/dev.txt
	touch $@ $(VENV)/.base-installed

# The dashboard's front-end libraries (uPlot, htmx), pinned in package-lock.json; Django serves
# them from node_modules/ (STATICFILES_DIRS): no build step.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Starts Kafka (unless KAFKA_BOOTSTRAP_SERVERS points elsewhere), the web server, the matcher,
# a Celery worker (with its beat scheduler) and the sinks in the foreground; Ctrl-C stops them all.
# Development mode: without SECRET_KEY, a key is generated once into var/secret-key and reused.
run: export DJANGO_DEV_MODE = 1
run: $(VENV)/.base-installed node_modules/.installed
	$(BIN)/python -m devservices fetch-kafka
	rm -rf var/prometheus && mkdir -p var/prometheus var/celery/queue var/celery/processed
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py collectstatic --noinput -v0
	PROMETHEUS_MULTIPROC_DIR=$(CURDIR)/var/prometheus WEB_BIND=$(HOST):$(PORT) \
	BASE_URL=http://$(HOST):$(PORT) \
	KAFKA_PORT=$(KAFKA_PORT) KAFKA_CONTROLLER_PORT=$(KAFKA_CONTROLLER_PORT) \
	KAFKA_BOOTSTRAP_SERVERS=$(or $(KAFKA_BOOTSTRAP_SERVERS),127.0.0.1:$(KAFKA_PORT)) \
	$(BIN)/honcho start $(if $(KAFKA_BOOTSTRAP_SERVERS),web worker matcher $(SINKS),)

# Installs what the suite needs (Debian packages when missing, Python packages, Kafka jars),
# then runs it. The suite starts and stops its own Kafka, PostgreSQL and Redis on free ports.
test: system-packages $(VENV)/.dev-installed node_modules/.installed
	$(BIN)/python -m devservices fetch-kafka
	$(BIN)/python -m devservices fetch-toolchains
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

system-packages:
	bash devservices/install-system-packages.sh

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The collector benchmark drives the API with wrk (Debian package), installed when missing.
bench: system-packages $(VENV)/.dev-installed
	command -v wrk >/dev/null || apt-get install -y -q --no-install-recommends wrk
	$(BIN)/python -m devservices fetch-kafka
	-$(BIN)/python bench/collector.py $(BENCH_ARGS)
	$(BIN)/python bench/matcher.py
	$(BIN)/python bench/sinks.py
	$(BIN)/python bench/dashboard.py
