"""The rules Ansible shares with the app are read from the app's own files (ansible/roles/shopdb_app/
filter_plugins/shopdb_app.py): the placeholder secrets of app/placeholders.txt and the plugin-name pattern of
app/plugins/base.py. The app role's preflight once searched for "CHANGE-ME" only and allowed underscores
in plugin names, which the app and copier.yml refuse."""
import importlib.util
from pathlib import Path

import pytest

from app.placeholders import entries
from app.plugins.base import NAME_PATTERN

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "shopdb_app_filters", ROOT / "ansible" / "roles" / "shopdb_app" / "filter_plugins" / "shopdb_app.py")
rules = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rules)
_spec = importlib.util.spec_from_file_location("shopdb_ranges", ROOT / "ansible" / "filter_plugins" / "shopdb_ranges.py")
ranges = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ranges)


def test_ansible_reads_the_apps_placeholder_list():
    assert rules._placeholders() == entries()


@pytest.mark.parametrize("value, refused", [
    ("CHANGE-ME", True), (" change-me ", True), ("your-secret-key", True),
    ("replace-with-at-least-32-random-characters", True), ("CHANGE-ME-1", True), ("\"change-me\"", True), ("a" * 40, False), (None, False)])
def test_placeholders_are_refused_as_the_app_refuses_them(value, refused):
    assert rules.placeholder(value) is refused


def test_ansible_reads_the_apps_plugin_name_rule():
    assert ranges.plugin_name_pattern() == NAME_PATTERN.pattern


@pytest.mark.parametrize("name, ok", [
    ("equipment", True), ("printers2", True), ("my_plugin", False), ("Equipment", False), ("x", False),
    ("a" * 28, False), ("2fast", False), (7, False)])
def test_plugin_names(name, ok):
    assert (ranges.range_errors({}, {"p": {"elements": "plugin_name"}}, {"p": [name]}) == []) is ok
    assert bool(NAME_PATTERN.match(name)) is ok if isinstance(name, str) else True


def test_the_app_roles_preflight_uses_the_shared_rules():
    preflight = (ROOT / "ansible" / "roles" / "shopdb_app" / "tasks" / "preflight.yml").read_text()
    app_ranges = (ROOT / "ansible" / "roles" / "shopdb_app" / "meta" / "ranges.yml").read_text()
    assert "shopdb_placeholder" in preflight and "shopdb_range_errors" in preflight
    assert "shopdb_app_plugins: {elements: plugin_name" in app_ranges
    assert "CHANGE-ME" not in preflight and "^[a-z][a-z0-9_]*$" not in preflight
