# Everything a newcomer needs: `make run` and `make test` work on a fresh
# machine with only Python 3 and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install run test lint format docs bench matrix soak rollout clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml testproject/requirements.txt
	@# The distribution was called `dockerflow` before it became `django-dockerflow`:
	@# a venv or checkout made then still holds that name, which start-up reports
	@# as Mozilla's package installed beside ours (dockerflow.config.E004).
	$(BIN)/python -m pip uninstall --quiet --yes dockerflow 2>/dev/null || true
	rm -rf dockerflow.egg-info
	$(BIN)/python -m pip install --quiet -e '.[dev]' -r testproject/requirements.txt
	touch $(STAMP)

install: $(STAMP)  ## create .venv (if missing) and install everything

run: $(STAMP)  ## migrate and serve testproject with gunicorn on $PORT (default 8000)
	cd testproject && ../$(BIN)/python manage.py migrate --noinput
	cd testproject && ../$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	cd testproject && PORT=$(PORT) exec ../$(BIN)/gunicorn --config gunicorn.conf.py testproject.wsgi:application

test: $(STAMP)  ## run the whole test suite
	PYTHONDEVMODE=1 $(BIN)/python -W error -m pytest $(PYTEST_ARGS)

lint: $(STAMP)  ## ruff check, ruff format --check, mypy --strict, import-linter contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)  ## rewrite files with ruff (never run in CI)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

docs: $(STAMP)  ## build the Sphinx docs, warnings as errors
	$(BIN)/sphinx-build -E -W --keep-going -b html docs docs/_build/html

bench: $(STAMP)  ## benchmarks side by side with Mozilla's dockerflow (ratios)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

SOAK_SECONDS ?= 90
soak: $(STAMP)  ## servers under wrk load while PostgreSQL and Redis fail ($$SOAK_SECONDS per server)
	$(BIN)/python soak/soak.py --seconds $(SOAK_SECONDS) $(SOAK_ARGS)

rollout: $(STAMP)  ## rolling deploys behind HAProxy under wrk load: drain, plain SIGTERM, a hung instance
	$(BIN)/python soak/soak.py --rollout $(SOAK_ARGS)

matrix:  ## the suite on Django 5.2/6.0/6.1 x every Python 3.10-3.13 present
	$(PYTHON) scripts/matrix.py

clean:  ## remove the virtualenvs and build output
	rm -rf $(VENV) .venv-matrix-* docs/_build bench/.venv-* build dist *.egg-info
