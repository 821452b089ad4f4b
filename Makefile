# Labnetz: everything a developer needs starts here.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint i18n clean venv

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

## make demo: a local Synapse, demo labs and users, and the bot, all on loopback
demo: $(STAMP)
	$(VENV)/bin/labnetz demo --dir .demo

## make test: the whole suite (unit + integration against a real Synapse)
test: $(STAMP)
	$(PY) -m pytest -q -ra --durations=15 $(PYTEST_ARGS)

## make bench: benchmarks, results under bench/results/
bench: $(STAMP)
	$(PY) -m bench

lint: $(STAMP)
	$(VENV)/bin/ruff check bot commands storage tests bench

## make i18n: extract strings and update the de/en catalogs, then compile them
i18n: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k N_ -k gettext -k ngettext:1,2 -o bot/locale/labnetz.pot --no-location --sort-output bot commands storage
	$(VENV)/bin/pybabel update -i bot/locale/labnetz.pot -d bot/locale -D labnetz --no-fuzzy-matching --ignore-obsolete
	$(VENV)/bin/pybabel compile -d bot/locale -D labnetz

clean:
	rm -rf $(VENV) .demo .pytest_cache
