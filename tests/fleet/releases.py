"""Fixture releases for the update tests, made from a copy of this source tree with another version:
  good           adds a core migration (a new table with a row): the normal update N -> N+1
  bad-migration  adds a migration that creates a table, adds a column to `locations`, then fails
                 (MariaDB has no transactional DDL, so the first two stay behind)
  not-ready      the base's code and schema, but /api/ready always answers 503
  same           the base's code and schema under the new version
Build bad-migration and not-ready from the good release's tree (base_src).
Each gets a complete wheelhouse beside the base release's (same dependencies, its own shopdb wheel), so
ansible/update.yml installs it exactly as it installs a real release."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The one wheelhouse recipe, the app role's (it also prints a wheel's content key).
WHEELHOUSE = ROOT / "ansible" / "roles" / "shopdb_app" / "files" / "wheelhouse.py"
IGNORE = shutil.ignore_patterns(".git", ".venv", ".cache", "build", "dist", "*.egg-info", "instance",
                                "__pycache__", "node_modules", "bench")

MIGRATION = '''"""Fleet test release {version}: {doc}"""
from alembic import op
import sqlalchemy as sa

revision = "{revision}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade():
{body}


def downgrade():
{down_body}
'''


def core_head(versions: Path) -> str:
    revs, downs = {}, set()
    for f in versions.glob("*.py"):
        text = f.read_text()
        rev = re.search(r'^revision\s*=\s*["\']([^"\']+)', text, re.M)
        down = re.search(r'^down_revision\s*=\s*["\']([^"\']+)', text, re.M)
        if rev:
            revs[rev.group(1)] = f
        if down:
            downs.add(down.group(1))
    heads = sorted(set(revs) - downs)
    assert len(heads) == 1, f"core migrations have heads {heads}, expected one"
    return heads[0]


def version_of(src: Path) -> str:
    return re.search(r'(?m)^version\s*=\s*"([^"]+)"', (src / "pyproject.toml").read_text()).group(1)


def add_migration(src, version, revision, doc, body, down_body):
    versions = src / "migrations" / "versions"
    down = core_head(versions)
    (versions / f"{revision}.py").write_text(MIGRATION.format(
        version=version, doc=doc, revision=revision, down=down, body=body, down_body=down_body))


def make_release(workdir: Path, base_src: Path, version: str, kind: str) -> Path:
    """A source tree for `version` under workdir, its wheelhouse next to the base release's; returns it."""
    src = workdir / version
    if src.exists():
        shutil.rmtree(src)
    shutil.copytree(base_src, src, ignore=IGNORE)
    pyproject = src / "pyproject.toml"
    pyproject.write_text(re.sub(r'(?m)^version\s*=\s*"[^"]+"', f'version = "{version}"', pyproject.read_text(), 1))
    assert kind in ("good", "bad-migration", "not-ready", "same"), kind
    if kind == "good":
        add_migration(src, version, "fleet_0001", "a new table, filled (an additive change)",
                      '    op.create_table("fleet_marker", sa.Column("id", sa.Integer, primary_key=True),\n'
                      '                    sa.Column("note", sa.String(40), nullable=False))\n'
                      '    op.execute("INSERT INTO fleet_marker (id, note) VALUES (1, \'added by fleet_0001\')")',
                      '    op.drop_table("fleet_marker")')
    if kind == "bad-migration":
        add_migration(src, version, "fleet_0002", "fails half-way",
                      '    op.create_table("fleet_half_done", sa.Column("id", sa.Integer, primary_key=True))\n'
                      '    op.add_column("locations", sa.Column("fleet_half", sa.String(20), nullable=True))\n'
                      '    op.execute("UPDATE locations SET fleet_half = \'touched\'")\n'
                      '    op.execute("SELECT no_such_column FROM no_such_table")',
                      '    pass')
    if kind == "not-ready":
        health = src / "app" / "api" / "health.py"
        text = health.read_text()
        marker = '        body = {"status": "ready", "database": "ok", "problems": []}\n'
        assert marker in text, "app/api/health.py changed: update tests/fleet/releases.py's readiness fault"
        fault = '        body["problems"].append("fault injected by the update test")\n'
        health.write_text(text.replace(marker, marker + fault, 1))
    return src


def make_wheelhouse(base_wheelhouse: Path, src: Path, version: str) -> Path:
    """The wheelhouse of src's release beside the base release's, with the base's dependency wheels."""
    base_version = version_of(ROOT)
    dest = base_wheelhouse.parent / base_wheelhouse.name.replace(f"shopdb-{base_version}-", f"shopdb-{version}-", 1)
    subprocess.run([sys.executable, str(WHEELHOUSE), "build", "--dest", str(dest), "--src", str(src),
                    "--release", version, "--deps-from", str(base_wheelhouse)], check=True, cwd=src)
    return dest


def good_release_for_each_python(wheelhouse_dir: Path, workdir: Path, pythons: int) -> Path:
    """Release N+1 (`good`, version <N>.post1) under workdir, its wheelhouse beside each of release N's that
    converge built in wheelhouse_dir (one per Python of the scenario's hosts); returns its source tree."""
    base = version_of(ROOT)
    bases = sorted(wheelhouse_dir.glob(f"shopdb-{base}-cp*"))
    assert len(bases) == pythons, f"converge should have built N's wheelhouse for {pythons} Pythons: {bases}"
    src = make_release(workdir, ROOT, f"{base}.post1", "good")
    for wheelhouse in bases:
        make_wheelhouse(wheelhouse, src, f"{base}.post1")
    return src
