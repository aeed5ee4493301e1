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

## The whole suite: lint, the app on SQLite and MariaDB, the template, then Molecule. The Molecule images
## (debootstrap, minutes on a fresh machine) build in the background meanwhile; their log is .cache/images.log.
test: setup
	@mkdir -p .cache; bash scripts/images.sh >.cache/images.log 2>&1 & images=$$!; \
	$(MAKE) --no-print-directory lint test-app; rc=$$?; \
	wait $$images || { cat .cache/images.log; echo "make test: building the Molecule images failed" >&2; exit 1; }; \
	[ $$rc -eq 0 ] && $(MAKE) --no-print-directory test-molecule

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
