""".env.example lists exactly what the app reads, marks what production requires, and ships only values
that production refuses (so a copied example can never run a site)."""

import secrets

import pytest
from sqlalchemy.engine import make_url

from app.config import load_config
from app.placeholders import is_placeholder
from envfile import ENV_EXAMPLE, env_vars_read_by, parse_env_example

ENTRIES = parse_env_example()


@pytest.fixture
def clean_env(monkeypatch):
    """No variable of .env.example or of the app leaks in from the caller's environment."""
    for name in set(ENTRIES) | env_vars_read_by()[0]:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def production_problems(tmp_path, env, monkeypatch):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_config("production", str(tmp_path)).validate()


def test_lists_exactly_the_variables_the_app_reads():
    read, dynamic = env_vars_read_by()
    assert not dynamic, f"environment read with a computed name (list it in .env.example by hand?): {dynamic}"
    assert read, "found no environment reads in app/: the scanner is broken"
    missing = sorted(read - set(ENTRIES))
    unused = sorted(set(ENTRIES) - read)
    assert not missing, f"app/ reads {missing} but {ENV_EXAMPLE.name} does not list them: add a commented entry"
    assert not unused, f"{ENV_EXAMPLE.name} lists {unused} but app/ never reads them: remove them"


def test_required_marks_match_production_validation(clean_env, tmp_path):
    problems = production_problems(tmp_path, {}, clean_env)
    required = {name for name in ENTRIES if any(name in p for p in problems)}
    marked = {name for name, entry in ENTRIES.items() if entry.required}
    assert required, "an empty production environment passed validation"
    assert marked == required, (f"production refuses an empty environment for {sorted(required)}; "
                                f".env.example marks {sorted(marked)} as [required]")


def test_example_values_are_refused_by_production(clean_env, tmp_path):
    example = {name: entry.value for name, entry in ENTRIES.items()}
    problems = production_problems(tmp_path, example, clean_env)
    for name, entry in ENTRIES.items():
        if entry.required:
            assert any(name in p and "placeholder" in p for p in problems), (
                f"the example value of {name} is not refused as a placeholder; problems: {problems}")


def test_example_secrets_are_on_the_denylist():
    secrets_shipped = [ENTRIES["SHOPDB_SECRET_KEY"].value, ENTRIES["SHOPDB_JWT_SECRET_KEY"].value,
                       make_url(ENTRIES["SHOPDB_DATABASE_URL"].value).password]
    for value in secrets_shipped:
        assert is_placeholder(value), f"{value!r} ships in .env.example but is not in app/placeholders.py"


def test_example_is_valid_once_the_secrets_are_real(clean_env, tmp_path):
    """Only the placeholders make the example fail: the rest of it is a sound production configuration."""
    env = {name: entry.value for name, entry in ENTRIES.items()}
    url = make_url(env["SHOPDB_DATABASE_URL"]).set(password=secrets.token_urlsafe(24))
    env.update(SHOPDB_SECRET_KEY=secrets.token_urlsafe(48), SHOPDB_JWT_SECRET_KEY=secrets.token_urlsafe(48),
               SHOPDB_DATABASE_URL=url.render_as_string(hide_password=False))
    assert production_problems(tmp_path, env, clean_env) == []
