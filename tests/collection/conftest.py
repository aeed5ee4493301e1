"""One build and one install of shopdb.deploy for the collection's tests (a session's worth)."""
import pytest
from collection_kit import BIN, REPO, RELEASE, explain, outside_env, run


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """The collection built from this checkout: (build directory, tarball)."""
    out = tmp_path_factory.mktemp("collection-build")
    result = run([BIN / "python", REPO / "scripts" / "collection.py", "--out", out], cwd=REPO, env=outside_env(out, out))
    assert result.returncode == 0, explain(result)
    tarball = out / f"shopdb-deploy-{RELEASE}.tar.gz"
    assert result.stdout.strip() == str(tarball) and tarball.is_file(), explain(result)
    return out, tarball


@pytest.fixture(scope="session")
def installed(built, tmp_path_factory):
    """The tarball installed into an empty collections path: (collections path, an empty working dir)."""
    collections = tmp_path_factory.mktemp("collections")
    workdir = tmp_path_factory.mktemp("controller")
    result = run([BIN / "ansible-galaxy", "collection", "install", "--no-deps", "-p", collections, built[1]],
                 cwd=workdir, env=outside_env(collections, workdir))
    assert result.returncode == 0, explain(result)
    return collections, workdir
