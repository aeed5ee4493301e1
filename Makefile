# The entry points. `make demo` and `make test` do their own set-up (see scripts/setup.sh).
VENV ?= .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export CONTAINERS_CONF := $(CURDIR)/scripts/containers.conf

.PHONY: setup demo demo-clean test test-fast test-app lint test-molecule images bench clean

setup:
	bash scripts/setup.sh

demo: setup
	bash scripts/demo.sh up

demo-clean:
	bash scripts/demo.sh clean

## The whole suite: lint, the app on SQLite and MariaDB, the template, then Molecule.
test: setup lint test-app test-molecule

## Quick iteration: the app suite on SQLite only.
test-fast: setup
	SHOPDB_TEST_MARIADB=0 pytest -q -x -m "not slow"

test-app:
	pytest -q

lint:
	bash scripts/lint.sh

test-molecule:
	bash scripts/molecule.sh

images:
	bash scripts/images.sh

bench: setup
	python bench/run.py

clean:
	rm -rf $(VENV) .setup-stamp build dist *.egg-info
