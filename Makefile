VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# GOV.UK Frontend (served by the pages), axe-core and oidc-provider (the tests), pinned in
# package-lock.json.
NPM_STAMP := node_modules/.installed

.PHONY: install run worker api test test-fast lint bench bench-reports bench-pages bench-directory translations clean

install: $(STAMP) $(NPM_STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NPM_STAMP)

run: install
	$(PY) -m launcher

worker: install
	$(PY) -m worker

api: install
	$(PY) -m api

test: install
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not slow"

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

# The pages' and mails' words (docs/welsh.md): extract them from the code and templates, add the
# new ones to each language's .po file (translate them there, then run it again), and check that
# every catalogue compiles. The service compiles the .po files itself at start.
CATALOGUES := core/translations
translations: install
	$(VENV)/bin/pybabel -q extract -F babel.cfg -k N_ -k Nn_:1,2 --no-location --omit-header --sort-output -o $(CATALOGUES)/messages.pot .
	$(VENV)/bin/pybabel -q update -i $(CATALOGUES)/messages.pot -d $(CATALOGUES) --no-fuzzy-matching --ignore-obsolete
	$(VENV)/bin/pybabel compile --statistics -d $(CATALOGUES)

bench: install
	$(PY) -m bench

bench-reports: install
	$(PY) -m bench.reports

bench-pages: install
	$(PY) -m bench.pages

bench-directory: install
	$(PY) -m bench.people_import

clean:
	rm -rf .data .pytest_cache .mypy_cache .ruff_cache
