"""copier.yml itself: safe to run without --trust, names validated against the real core, the default core
range computed from the current release, and invalid names refused without touching the destination."""
import ast
import keyword
import re
import tomllib

import copier
import pytest
from copier._template import Template
from copier_kit import REPO, copier_cli, copier_config, render, template_repo
from packaging.version import Version

NAME = re.compile(r"^[a-z][a-z0-9]*$")


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """This repo's template in a throwaway git repo: rendering from it is quicker than from the whole repo."""
    return template_repo(tmp_path_factory.mktemp("tpl") / "template")


def test_template_needs_no_trust_and_pins_copier():
    config = copier_config()
    assert config["_subdirectory"] == "copier-plugin"
    assert Version(str(config["_min_copier_version"])) >= Version("9.13")
    assert not {"_tasks", "_migrations", "_jinja_extensions"} & set(config)
    assert Version(str(config["_min_copier_version"])) <= Version(copier.__version__)
    every_question_but_the_name = [k for k, v in config.items()
                                   if not k.startswith("_") and k != "plugin_name" and v.get("when") is not False]
    assert all("default" in config[k] for k in every_question_but_the_name)


def test_copier_finds_nothing_that_needs_trust(template):
    """What Copier itself checks before refusing to run without --trust (exit 4): tasks, migrations and Jinja
    extensions, as it loads them (includes and defaults counted), so updates can run unattended."""
    loaded = Template(url=str(template), ref="HEAD")
    try:
        assert not loaded.tasks and not loaded.jinja_extensions and not loaded.config_data.get("migrations")
        assert str(loaded.min_copier_version) == str(copier_config()["_min_copier_version"])
    finally:
        loaded._cleanup()


def test_core_range_default_follows_the_current_release():
    config = copier_config()
    release = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert config["core_release"]["default"] == release, (
        "bump core_release in copier.yml together with the version in pyproject.toml")


def _core_names():
    """Tables, route names and imported modules of the real core, as copier.yml must reserve them."""
    from app import create_app
    from app.extensions import db
    from app.plugins.loader import URL_PREFIX

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    core_tables = {m.local_table.name for m in db.Model.registry.mappers
                   if m.class_.__module__.startswith("app.models.")}
    tables = core_tables | {t.split("_")[0] for t in core_tables} | {"alembic"}
    plugin_blueprints = set(app.extensions["shopdb_plugins"].blueprints)
    routes = {*URL_PREFIX.strip("/").split("/")} | (set(app.blueprints) - plugin_blueprints)
    for rule in app.url_map.iter_rules():
        parts = rule.rule.strip("/").split("/")
        if parts[0] == "api" and len(parts) > 1 and parts[1] != "plugins":
            routes.add(parts[1].split(".")[0])
    modules = set()
    for path in [*(REPO / "app").rglob("*.py"), *(REPO / "migrations").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    keywords = set(keyword.kwlist) | set(keyword.softkwlist)
    return {kind: {n for n in names if NAME.match(n)} for kind, names in
            (("tables", tables), ("routes", routes), ("modules", modules), ("keywords", keywords))}


def test_reserved_names_cover_the_real_core():
    config = copier_config()
    for kind, names in _core_names().items():
        listed = set(config[f"reserved_{kind}"]["default"])
        assert names <= listed, f"add {sorted(names - listed)} to reserved_{kind} in copier.yml"


@pytest.mark.parametrize("name,message", [
    ("Widgets", "use lowercase letters and digits only"),
    ("wid_gets", "no underscores, hyphens"),
    ("wid-gets", "no underscores, hyphens"),
    ("9lives", "starting with a letter"),
    ("w", "must be 2 to 27 characters"),
    ("measuringinstrumentcalibration", "must fit the 32-character alembic_version column"),
    ("assets", "core table name"),
    ("asset", "core table name or a core table prefix"),
    ("health", "core route name"),
    ("plugins", "core route name"),
    ("class", "Python keyword"),
    ("flask", "module the core imports"),
])
def test_invalid_names_are_refused_and_the_destination_untouched(template, tmp_path, name, message):
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine\n")
    with pytest.raises(ValueError, match=re.escape(message)) as refused:
        render(dest, {"plugin_name": name}, src=template)
    assert "plugin_name" in str(refused.value)
    assert sorted(p.name for p in dest.iterdir()) == ["keep.txt"]
    assert (dest / "keep.txt").read_text() == "mine\n"


def test_cli_refuses_an_invalid_name_with_the_validators_message(template, tmp_path):
    result = copier_cli("copy", "--defaults", "--data", "plugin_name=My-Plugin", "--vcs-ref", "HEAD", str(template),
                        str(tmp_path / "my"), cwd=tmp_path)
    assert result.returncode != 0
    assert "plugin_name 'My-Plugin' is invalid: use lowercase letters and digits only" in result.stderr
    assert not (tmp_path / "my").exists()
    # Unattended, Copier wraps the message in a traceback; the quickstart says its last line is the message.
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ValueError: Validation error for question 'plugin_name': plugin_name 'My-Plugin' is invalid")
    assert "**its last line is the message**" in (REPO / "docs" / "PLUGIN-QUICKSTART.md").read_text()


def test_description_must_fit_on_one_line(template, tmp_path):
    with pytest.raises(ValueError, match="description must be one line without triple quotes"):
        render(tmp_path / "widgets", {"plugin_name": "widgets", "description": "two\nlines"}, src=template)
    assert not (tmp_path / "widgets").exists()


def test_cli_refuses_a_bad_core_range(template, tmp_path):
    result = copier_cli("copy", "--defaults", "--data", "plugin_name=widgets", "--data", "core_version=0.1",
                        "--vcs-ref", "HEAD", str(template), str(tmp_path / "widgets"), cwd=tmp_path)
    assert result.returncode != 0 and "is not a PEP 440 specifier" in result.stderr
    assert not (tmp_path / "widgets").exists()
