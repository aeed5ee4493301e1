# shopdb API image: gunicorn serving app:create_app(), every first-party plugin bundled in the shopdb wheel.
# Nothing is pulled from a registry or from PyPI: the base image is built locally from Debian's packages and
# the Python code comes from a wheelhouse built on the host for the base image's Python.
#   bash scripts/docker-smoke.sh build       # base image (once), wheelhouse, then podman build (see the script)
# which runs, in the end:
#   podman build --format docker --build-arg BASE_IMAGE=localhost/shopdb-debian-slim:bookworm \
#     --build-arg WHEELHOUSE=.cache/container-wheels -t localhost/shopdb:latest .
# --format docker keeps the HEALTHCHECK (the OCI image format has no field for it). docs/DEPLOY.md, "Container image".
# Why the deploy kit is Ansible and this image a secondary artifact: docs/adr/0003-ansible-molecule-not-compose.md

# A Debian image with python3 and python3-venv (scripts/docker-smoke.sh base builds it with debootstrap).
ARG BASE_IMAGE=localhost/shopdb-debian-slim:bookworm

# Build stage: the virtualenv, installed offline. COPY (not a bind mount) so that new wheels invalidate the
# layer cache; the wheels themselves stay in this stage and never reach the final image.
FROM ${BASE_IMAGE} AS build
# Wheels built for the base image's Python (bookworm: 3.11, trixie: 3.13), relative to the build context.
ARG WHEELHOUSE=wheelhouse
COPY ${WHEELHOUSE}/ /wheels/
RUN python3 -m venv /opt/shopdb/venv \
 && /opt/shopdb/venv/bin/pip install --no-cache-dir --no-index --find-links /wheels shopdb \
 && /opt/shopdb/venv/bin/pip uninstall --yes pip \
 && /opt/shopdb/venv/bin/python -c "import app.migrations, app.first_party"

FROM ${BASE_IMAGE}
# A fixed, unprivileged uid/gid so volume permissions are predictable; no login shell, nothing it may write.
RUN groupadd --gid 10001 shopdb \
 && useradd --uid 10001 --gid shopdb --no-create-home --home-dir /opt/shopdb --shell /usr/sbin/nologin shopdb
# Owned by root: the app user can read and run its code but not change it.
COPY --from=build /opt/shopdb/venv /opt/shopdb/venv

# Production is the default: without SHOPDB_SECRET_KEY, SHOPDB_JWT_SECRET_KEY and SHOPDB_DATABASE_URL the
# container exits before gunicorn binds, naming what is missing (see .env.example for every variable).
# PORT and WEB_CONCURRENCY are gunicorn's own: it binds 0.0.0.0:$PORT and starts $WEB_CONCURRENCY workers
# unless GUNICORN_CMD_ARGS (e.g. "--bind 127.0.0.1:8000 --timeout 60") says otherwise.
ENV PATH=/opt/shopdb/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FLASK_APP=app \
    SHOPDB_ENV=production \
    PORT=8000 \
    WEB_CONCURRENCY=2

USER shopdb:shopdb
WORKDIR /opt/shopdb
EXPOSE 8000

# /api/health answers without the database: it says the process serves, not that the site is ready.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/api/health' % os.environ.get('PORT', '8000'), timeout=4)"]

# `flask config check` first: it lists every weak or missing setting and exits 1 before anything binds
# (a failing app factory inside a gunicorn worker would only make gunicorn respawn workers).
# Migrations are a one-off run of the same image: podman run --rm --env-file ENV IMAGE flask db upgrade heads
CMD ["sh", "-c", "flask config check && exec gunicorn --access-logfile - 'app:create_app()'"]
