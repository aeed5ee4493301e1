"""The root Dockerfile, built with podman and run for real: it refuses production without secrets, and
against a fresh MariaDB database it serves /api/health, migrates the empty schema and then answers /api/ready.

The image is built by scripts/docker-smoke.sh as on a fresh machine: its base (debootstrap) and its wheelhouse
are built from nothing under scratch names on every run (see conftest.py), then removed. The container shares
the host's network so it reaches the host's MariaDB on 127.0.0.1; gunicorn binds a free loopback port.
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "localhost/shopdb:smoke-test"
ENV = dict(os.environ, CONTAINERS_CONF=str(ROOT / "scripts" / "containers.conf"))
REQUIRED = ("SHOPDB_SECRET_KEY", "SHOPDB_JWT_SECRET_KEY", "SHOPDB_DATABASE_URL")


def podman(*args, check=True, timeout=120):
    result = subprocess.run(["podman", *args], env=ENV, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result


def mariadb(sql):
    subprocess.run(["mariadb", "--batch", "-e", sql], check=True, capture_output=True, text=True, timeout=30)


def get(url, timeout=15):
    """(status, parsed JSON body) of a GET; HTTP errors are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def image(request):
    """docker-smoke.sh's whole cold path: the base image rebuilt (SHOPDB_BASE_FORCE) under a scratch tag and a
    wheelhouse made in an empty scratch directory, whatever the machine has cached."""
    scratch = f"shopdb-scratch-{secrets.token_hex(4)}"
    base = f"localhost/{scratch}-base:bookworm"
    wheelhouse = Path(".cache") / "container-wheels" / scratch   # .dockerignore lets only this tree through
    if any(item.path.name == "test_images_recipe.py" for item in request.session.items):
        request.getfixturevalue("scratch_molecule_image")   # start it now, in the background
    try:
        started = time.monotonic()
        build = subprocess.run(["bash", "scripts/docker-smoke.sh", "build"], cwd=ROOT, capture_output=True,
                               text=True, timeout=1800, env=dict(ENV, IMAGE=IMAGE, BASE_IMAGE=base,
                                                                SHOPDB_BASE_FORCE="1", WHEELHOUSE=str(wheelhouse)))
        assert build.returncode == 0, f"image build failed:\n{build.stdout}{build.stderr}"
        assert f"building {base} with debootstrap" in build.stdout and "built" in build.stdout, build.stdout
        print(f"container image from scratch (base, wheelhouse, build): {time.monotonic() - started:.0f} s")
        yield IMAGE
    finally:
        podman("rmi", "-f", base, check=False)
        shutil.rmtree(ROOT / wheelhouse, ignore_errors=True)


@pytest.fixture
def database():
    """A fresh, empty MariaDB database and a user with a password, dropped afterwards."""
    name = f"shopdb_ctr_{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(24)
    mariadb(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
            f"CREATE USER '{name}'@'127.0.0.1' IDENTIFIED BY '{password}';"
            f"GRANT ALL ON {name}.* TO '{name}'@'127.0.0.1';")
    yield f"mysql+pymysql://{name}:{password}@127.0.0.1:3306/{name}?charset=utf8mb4"
    mariadb(f"DROP DATABASE IF EXISTS {name}; DROP USER IF EXISTS '{name}'@'127.0.0.1';")


@pytest.fixture
def env_file(tmp_path, database):
    """A production environment file as the deploy kit would render it (fresh random secrets)."""
    path = tmp_path / "shopdb.env"
    path.write_text(f"SHOPDB_ENV=production\nSHOPDB_SECRET_KEY={secrets.token_urlsafe(48)}\n"
                    f"SHOPDB_JWT_SECRET_KEY={secrets.token_urlsafe(48)}\nSHOPDB_DATABASE_URL={database}\n")
    path.chmod(0o600)
    return path


def test_refuses_production_without_secrets(image):
    result = podman("run", "--rm", "--network", "none", image, check=False, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode != 0, f"the container started without secrets:\n{output}"
    for name in REQUIRED:
        assert name in output, f"the refusal does not name {name}:\n{output}"
    assert "Listening at" not in output, "gunicorn bound a socket before the refusal"


def test_refuses_the_example_env_file(image):
    """A copied .env.example must never run: every placeholder is named."""
    result = podman("run", "--rm", "--network", "none", "--env-file", str(ROOT / ".env.example"), image,
                    check=False, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode != 0, f"the container started with the example values:\n{output}"
    for name in REQUIRED:
        assert name in output, f"the refusal does not name {name}:\n{output}"


def test_image_metadata(image):
    inspect = json.loads(podman("image", "inspect", image).stdout)[0]
    assert inspect["Config"]["User"] == "shopdb:shopdb"
    assert "SHOPDB_ENV=production" in inspect["Config"]["Env"]
    # Kept only in the docker image format (--format docker); an OCI build would silently drop it.
    assert "/api/health" in " ".join(inspect["Healthcheck"]["Test"])


def test_serves_migrates_and_becomes_ready(image, env_file):
    port = free_port()
    name = f"shopdb-smoke-{secrets.token_hex(4)}"
    podman("run", "-d", "--name", name, "--network", "host", "--env-file", str(env_file),
           "-e", f"PORT={port}", "-e", f"GUNICORN_CMD_ARGS=--bind 127.0.0.1:{port}", image)
    try:
        deadline = time.monotonic() + 120      # generous: the machine may be busy with other suites
        status = None
        while time.monotonic() < deadline:
            try:
                status, _ = get(f"http://127.0.0.1:{port}/api/health", timeout=5)
                break
            except OSError:                       # refused while gunicorn boots, or a timed-out read
                assert podman("inspect", "--format", "{{.State.Running}}", name).stdout.strip() == "true", (
                    "the container stopped:\n" + podman("logs", name).stderr)
                time.sleep(0.5)
        assert status == 200, "no answer on /api/health within 120 s:\n" + podman("logs", name, check=False).stderr

        status, body = get(f"http://127.0.0.1:{port}/api/ready")
        assert status == 503, f"/api/ready answered {status} on an empty database: {body}"

        # Migrations are a one-off run of the same image, as DEPLOY.md describes.
        podman("run", "--rm", "--network", "host", "--env-file", str(env_file), image,
               "flask", "db", "upgrade", "heads", timeout=180)

        status, body = get(f"http://127.0.0.1:{port}/api/ready")
        assert status == 200, f"/api/ready after migrating: {status} {body}"

        # Every first-party plugin is bundled and loads (installing one is a per-site choice).
        listing = podman("run", "--rm", "--network", "host", "--env-file", str(env_file), image,
                         "flask", "plugin", "list").stdout
        states = dict(line.split()[0:3:2] for line in listing.splitlines()[1:] if line.strip())
        in_repo = {p.parent.name for p in (ROOT / "plugins").glob("*/plugin.toml")}
        assert in_repo and set(states) == in_repo, f"bundled plugins {sorted(states)}, in the repo {sorted(in_repo)}"
        assert "failed" not in states.values(), listing

        # The image's own HEALTHCHECK passes, and nothing in the container runs as root.
        # (retried: its own 4 s timeout can trip on a machine busy with other suites)
        assert any(podman("healthcheck", "run", name, check=False).returncode == 0 for _ in range(3))
        users = podman("top", name, "user").stdout.split()[1:]
        assert users and set(users) == {"shopdb"}, f"processes run as {users}"
    finally:
        podman("rm", "-f", "-t", "5", name, check=False)
