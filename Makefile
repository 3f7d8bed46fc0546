# The two commands of the quick start, and a few helpers.
#   make run   - the hub with demo data on the embedded default (SQLite, no Redis)
#   make test  - lint, format and migration checks, then the whole test suite
#                (DATABASE_URL / REDIS_URL if set, else embedded)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test lint migrate demo worker beat clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

migrate: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py populate_all

run: demo
	@echo ""
	@echo "  Nexus is starting at http://$(HOST):$(PORT)/"
	@echo "  Demo logins (password nexus-demo): alice (admin), maria (manager), tom and tina"
	@echo "  (technicians), sam and sue (staff) in Acme Manufacturing; mallory (admin) in Globex."
	@echo ""
	$(BIN)/daphne -b $(HOST) -p $(PORT) nexus.asgi:application

test: lint
	$(BIN)/pytest

# Lint, formatting, and models whose migration was not written: each fails the tests (and CI).
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

worker: $(VENV)/.installed
	$(BIN)/celery -A nexus worker --loglevel INFO

beat: $(VENV)/.installed
	$(BIN)/celery -A nexus beat --loglevel INFO

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
