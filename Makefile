# Segmenta: `make run` sets everything up and starts the app; `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export SEGMENTA_DATASETS ?= $(abspath ../shared/datasets)
# The entry points default to production settings (manage.py warns and uses local ones): the local targets
# name theirs. Not exported: pytest takes its own (config.settings.test) from pyproject.toml.
LOCAL := DJANGO_SETTINGS_MODULE=$${DJANGO_SETTINGS_MODULE:-config.settings.local}

.PHONY: install run test bench lint migrate worker clean plotly

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements/base.txt requirements/dev.txt requirements/lock.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt -c requirements/lock.txt
	touch $@

install: $(VENV)/.installed ## create .venv and install pinned dependencies

migrate: install ## the folder of local state (SQLite file, broker) first: settings create none
	mkdir -p "$${SEGMENTA_VAR_DIR:-var}"
	$(LOCAL) $(BIN)/python manage.py migrate --noinput

run: migrate ## migrate, seed the demo on first start, start web server + Celery worker
	$(LOCAL) $(BIN)/python manage.py seed_demo --if-empty
	$(LOCAL) $(BIN)/python manage.py segment --inline --if-no-active
	@$(LOCAL) bash scripts/run.sh "$(HOST)" "$(PORT)"

worker: install
	mkdir -p "$${SEGMENTA_VAR_DIR:-var}"
	$(LOCAL) $(BIN)/celery -A config worker --loglevel INFO --concurrency 1 -Q $${CELERY_TASK_DEFAULT_QUEUE:-segmenta}

test: install ## the whole suite (browser tests skip when no Chromium is installed, except in CI)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install ## benchmarks at 1M rows; needs PostgreSQL (BENCH_DATABASE_URL)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

lint: install ## ruff (rules and format) and the layer contracts (import-linter, see pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf var/test-*.sqlite3* .pytest_cache

plotly: ## rebuild static/vendor/plotly (partial plotly.js bundles) from scripts/plotly; needs Node.js and npm, run/CI do not
	cd scripts/plotly && npm ci --no-audit --no-fund && node build.mjs
