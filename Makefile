# The two commands of the quick start, and a few helpers.
#   make run   - the hub with demo data, DEBUG off, served by `manage.py serve`: gunicorn for pages and
#                daphne for the socket with REDIS_URL; one daphne on the embedded default (SQLite, no Redis)
#   make dev   - the same with DEBUG on and autoreload (Django's runserver, daphne's ASGI flavour)
#   make test  - lint, format, lock and migration checks, then the whole test suite
#                (DATABASE_URL / REDIS_URL if set, else embedded)
#   make lock  - pin the whole dependency tree with hashes from requirements*.txt (scripts/lock.sh)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run dev static test lint lock migrate demo worker beat clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installs exactly what was tested: every package of the tree at its locked version, each file's hash checked.
$(VENV)/.installed: requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	touch $@

$(VENV)/.installed-dev: requirements-dev.lock | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	touch $@ $(VENV)/.installed

migrate: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py populate_all

# Hashed, compressed static files that whitenoise serves with DEBUG off.
static: $(VENV)/.installed
	DJANGO_STATIC_MANIFEST=1 $(BIN)/python manage.py collectstatic --noinput --verbosity 0

# HOST=0.0.0.0 to be reached from the plant network (README, "Run it on the plant network").
run: demo static
	@echo ""
	@echo "  Demo logins (password nexus-demo): alice (admin), maria (manager), tom and tina"
	@echo "  (technicians), sam and sue (staff) in Acme Manufacturing; mallory (admin) in Globex."
	@echo ""
	DJANGO_STATIC_MANIFEST=1 $(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

# Debugging only: Django's error pages show settings and every URL. Never on the plant network.
dev: demo
	DJANGO_DEBUG=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: lint
	$(BIN)/pytest

# Locks behind requirements*.txt, lint, formatting, and models whose migration was not written: each fails
# the tests (and CI).
lint: $(VENV)/.installed-dev
	$(BIN)/python scripts/check_lock.py
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

# Re-pin after changing requirements*.txt; `make lint` fails until the locks agree with them.
lock:
	PYTHON=$(PYTHON) bash scripts/lock.sh

worker: $(VENV)/.installed
	$(BIN)/celery -A nexus worker --loglevel INFO

beat: $(VENV)/.installed
	$(BIN)/celery -A nexus beat --loglevel INFO

clean:
	rm -rf $(VENV) .venv-lock staticfiles .pytest_cache .ruff_cache
