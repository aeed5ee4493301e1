# The entry points. `make demo` and `make test` do their own set-up (see scripts/setup.sh).
VENV ?= .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export CONTAINERS_CONF := $(CURDIR)/scripts/containers.conf

.PHONY: setup demo demo-clean test test-fast test-app lint test-molecule images bench collection release clean

setup:
	bash scripts/setup.sh

demo: setup
	bash scripts/demo.sh up

demo-clean:
	bash scripts/demo.sh clean

## The whole suite: lint, then the app suite (SQLite and MariaDB, the template, the collection) side by side with
## Molecule, which builds its images first when they are missing. pytest is niced and waits mostly on
## subprocesses, so the Molecule probes keep the CPU; its output is .cache/test-app.log, shown at the end.
test: setup
	@mkdir -p .cache; $(MAKE) --no-print-directory lint || exit 1; \
	nice -n 5 $(MAKE) --no-print-directory test-app >.cache/test-app.log 2>&1 & app=$$!; \
	$(MAKE) --no-print-directory test-molecule; molecule=$$?; \
	wait $$app; rc=$$?; echo; echo "=== make test-app (log: .cache/test-app.log)"; cat .cache/test-app.log; \
	[ $$rc -eq 0 ] || echo "make test: the app suite failed" >&2; \
	[ $$molecule -eq 0 ] || echo "make test: Molecule failed" >&2; \
	[ $$rc -eq 0 ] && [ $$molecule -eq 0 ]

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

## The Ansible collection shopdb.deploy, built from ansible/ into build/collection/ (scripts/collection.py).
collection: setup
	python scripts/collection.py

## Tag the release v<version> of pyproject.toml on a clean commit (scripts/release.sh); VERSION= must agree.
release:
	VERSION=$(VERSION) bash scripts/release.sh

clean:
	rm -rf $(VENV) .setup-stamp build dist *.egg-info
