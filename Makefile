# Two commands set everything up on a fresh machine:
#   make run   - virtual environment, install, migrate the embedded SQLite database, demo data, serve
#   make test  - install (and, as root, the browser tests' Chromium; with npm, the Node tools of the contract
#                tests), then lint, type-check, layering contracts and the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
# Reinstall whenever pyproject.toml changes.
INSTALLED := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 5000
DEV_SECRET_FILE := instance/dev-secret-key
# Parallel by default; each worker migrates a PostgreSQL database of its own.
PYTEST_ARGS ?= -n auto
# Stoplight Prism mocks Twilio's API for tests/contract/test_twilio_contract.py; it lives in .tools/ (git ignores it).
# `make test` installs it where npm is available; elsewhere those tests skip (CI requires them).
PRISM := .tools/node_modules/.bin/prism
TWILIO_MOCK_DEPS := $(if $(shell command -v npm 2>/dev/null),twilio-mock-deps)
# The OpenAPI document's client checks (tests/contract): Spectral lints it, openapi-typescript makes the committed
# TypeScript client types from it, and a mentor's evening written against them with openapi-fetch is type-checked
# with tsc and run against a live server; the mentors' app's JavaScript (api/mentors_app) is type-checked against
# the same types with tsc --checkJs, and its screens are checked with axe-core in the browser tests. Pinned by
# clients/typescript/package-lock.json, installed there by `npm ci` (git ignores node_modules). Node and npm are
# tools for tests only: `make run` never needs them. Without npm those tests skip and `make test` says so (CI
# requires them: REACHABLE_TEST_REQUIRE_NODE_TOOLS=1).
CLIENT := clients/typescript
CLIENT_TOOLS := $(CLIENT)/node_modules/.package-lock.json
# The browser tests of the child's check-in page (tests/browser) drive Debian's Chromium and its driver.
REACHABLE_TEST_CHROMIUM ?= /usr/bin/chromium
REACHABLE_TEST_CHROMEDRIVER ?= /usr/bin/chromedriver

.PHONY: run test install twilio-mock-deps client-deps browser-deps lint format openapi migrate demo scheduler restore-check clean

$(INSTALLED): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing Reachable and its test tools into $(VENV) ..."
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[test]'
	@rm -f $(VENV)/.installed-* && touch $@

install: $(INSTALLED)

$(DEV_SECRET_FILE):
	@mkdir -p instance
	@$(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(48))' > $@
	@chmod 600 $@

# Local development only: a generated secret key, Ofcom's drama numbers allowed for the demo children, check-in
# links that point at this server (HOST and PORT), and no second factor for anyone (so the demo signs in with a
# password; it says so on every start). Set REACHABLE_MFA_REQUIRED_ROLES=admin,coordinator to try the second factor.
DEV_ENV = REACHABLE_SECRET_KEY="$${REACHABLE_SECRET_KEY:-$$(cat $(DEV_SECRET_FILE))}" \
	REACHABLE_ACCEPT_DRAMA_NUMBERS="$${REACHABLE_ACCEPT_DRAMA_NUMBERS:-true}" \
	REACHABLE_MFA_REQUIRED_ROLES="$${REACHABLE_MFA_REQUIRED_ROLES-}" \
	REACHABLE_PUBLIC_BASE_URL="$${REACHABLE_PUBLIC_BASE_URL:-http://$(HOST):$(PORT)}"

migrate: install $(DEV_SECRET_FILE)
	@$(DEV_ENV) $(FLASK) db upgrade

demo: migrate
	@$(DEV_ENV) $(FLASK) demo load

run: demo
	@echo ""
	@echo "Reachable is starting on http://$(HOST):$(PORT)"
	@echo "  Interactive API docs: http://$(HOST):$(PORT)/docs"
	@echo "  The mentors' app: http://$(HOST):$(PORT)/app (a demo mentor's email and the demo password)"
	@echo "  Sign in: POST /auth/sign-in with one of the demo emails above and the demo password,"
	@echo "           then 'Authorize' in the docs with the access_token. Ctrl-C stops the server."
	@echo "  WARNING: the demo signs in with a password alone (multi-factor sign-in is off unless you set"
	@echo "           REACHABLE_MFA_REQUIRED_ROLES=admin,coordinator). Never run production like this."
	@echo "  The scheduler runs beside it as its own process (log: instance/scheduler.log); it queues"
	@echo "  reminders and sends SMS to the development sender, which writes them to instance/dev-sms.jsonl."
	@echo ""
	@$(DEV_ENV) $(BIN)/python -m scheduling >> instance/scheduler.log 2>&1 & scheduler=$$!; \
		trap 'kill $$scheduler 2>/dev/null; wait $$scheduler 2>/dev/null' EXIT INT TERM; \
		$(DEV_ENV) $(FLASK) run --host $(HOST) --port $(PORT)

# The scheduler (offer lapses, check-in links, SMS reminders and dispatch) on its own, never inside web workers.
scheduler: migrate
	@$(DEV_ENV) $(BIN)/python -m scheduling

# Chromium and ChromeDriver for the browser tests: installed as root (CI, containers); anyone else is told how,
# and the browser tests are skipped.
browser-deps:
	@if [ -x "$(REACHABLE_TEST_CHROMIUM)" ] && [ -x "$(REACHABLE_TEST_CHROMEDRIVER)" ]; then \
		:; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Chromium and ChromeDriver for the browser tests (apt-get) ..."; \
		apt-get update -qq >/dev/null && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			chromium chromium-driver fonts-liberation >/dev/null; \
	else \
		echo "NOTE: $(REACHABLE_TEST_CHROMIUM) or $(REACHABLE_TEST_CHROMEDRIVER) is missing, so the browser tests"; \
		echo "      will be skipped. Install them with: sudo apt-get install chromium chromium-driver"; \
	fi

twilio-mock-deps: $(PRISM)

$(PRISM):
	@echo "Installing Stoplight Prism (the Twilio API mock) into .tools ..."
	@npm install --prefix .tools --no-audit --no-fund --loglevel=error @stoplight/prism-cli@5

client-deps:
	@if command -v npm >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory --silent $(CLIENT_TOOLS); \
	else \
		echo ""; \
		echo "************************************************************************************************"; \
		echo "* npm (Node.js 20 or newer) is NOT INSTALLED, so these tests will be SKIPPED: Spectral's lint of the"; \
		echo "* OpenAPI document, the generated TypeScript client's drift check, and the mentor's evening program"; \
		echo "* (tsc --strict, then run against a live server); the Twilio contract tests too. Install Node.js and"; \
		echo "* npm to run them (CI requires them). The service itself never needs Node."; \
		echo "************************************************************************************************"; \
		echo ""; \
	fi

$(CLIENT_TOOLS): $(CLIENT)/package.json $(CLIENT)/package-lock.json
	@echo "Installing Spectral, openapi-typescript, openapi-fetch and TypeScript into $(CLIENT) (npm ci) ..."
	@npm ci --prefix $(CLIENT) --no-audit --no-fund --loglevel=error
	@touch $@

test: install browser-deps $(TWILIO_MOCK_DEPS) client-deps
	@echo "== ruff (lint and format)"
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@echo "== mypy"
	@$(BIN)/mypy
	@echo "== import-linter (layering contracts)"
	@$(BIN)/lint-imports
	@echo "== pytest (SQLite and PostgreSQL), in parallel"
	@$(BIN)/python -m pytest $(PYTEST_ARGS) -m "not serial"
	@echo "== pytest: tests that need the database server to themselves"
	@$(BIN)/python -m pytest -m serial

format: install
	@$(BIN)/ruff format .
	@$(BIN)/ruff check --fix .

# Regenerate the committed OpenAPI document, and the TypeScript client's types made from it, after changing the
# API (a test fails while either is stale).
openapi: install client-deps
	@REACHABLE_SECRET_KEY=openapi-generation-only-not-a-real-secret-key $(FLASK) openapi write --format=json openapi/openapi.json
	@echo "Wrote openapi/openapi.json"
	@if [ -x $(CLIENT)/node_modules/.bin/openapi-typescript ]; then \
		$(CLIENT)/node_modules/.bin/openapi-typescript openapi/openapi.json --output $(CLIENT)/src/schema.d.ts >/dev/null && \
		echo "Wrote $(CLIENT)/src/schema.d.ts"; \
	else \
		echo "NOTE: $(CLIENT)/src/schema.d.ts was NOT regenerated (that needs npm): its drift test will fail."; \
	fi

# Restore a PostgreSQL backup (pg_dump) into a fresh database, migrate it, serve it and count it, then drop it:
#   make restore-check BACKUP=reachable.dump [SERVER=postgresql+psycopg://user@host:5432/postgres]
restore-check: install
	@test -n "$(BACKUP)" || { echo "Say which backup: make restore-check BACKUP=path/to/backup.dump"; exit 2; }
	@$(BIN)/python scripts/restore_check.py "$(BACKUP)" $(if $(SERVER),--server "$(SERVER)")

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache $(CLIENT)/node_modules
