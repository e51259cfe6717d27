# Two entry points: `make run` (install + start the app on a bundled CT slice) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q --disable-pip-version-check -c constraints.txt
SAMPLE ?= resources/samples/ct_slice.dcm

.PHONY: run test install install-test lint

$(VENV)/bin/python:
	python3 -m venv $(VENV)

$(VENV)/.installed: $(VENV)/bin/python pyproject.toml constraints.txt
	$(PIP) -e .
	touch $@

$(VENV)/.test-installed: $(VENV)/.installed
	$(PIP) -e ".[test]"
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.test-installed

run: install
	$(VENV)/bin/lacuna open $(SAMPLE)

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

test: lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest
