"""The value rules of the roles (meta/ranges.yml, enforced by ansible/filter_plugins/shopdb_ranges.py).

Fast: the filter is plain Python. The coverage tests fail when a role's argument spec gains an option
without a rule (or a rule outlives its option); the walk tests give every rule of every role an
out-of-range value and its role default, so each rule is known to refuse and to accept. The same bad
values go through the real playbook in test_preflight.py (test_every_ranged_variable_is_refused...).
"""
import importlib.util
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("shopdb_db", "shopdb_app", "shopdb_proxy", "shopdb_backup")
_spec = importlib.util.spec_from_file_location("shopdb_ranges", ROOT / "ansible/filter_plugins/shopdb_ranges.py")
shopdb_ranges = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(shopdb_ranges)


def role_files(role):
    meta = ROOT / "ansible/roles" / role / "meta"
    return (yaml.safe_load((meta / "argument_specs.yml").read_text()),
            yaml.safe_load((meta / "ranges.yml").read_text())["ranges"])


# A value every format refuses: a space and a newline fit no name, address, path, time or size, and
# "one line of text" refuses the newline.
BAD_TEXT = "in valid\n"


def out_of_range(rule):
    """A value that breaks `rule` (what the preflight test passes with -e for each variable)."""
    if "max" in rule:
        return rule["max"] + 1
    if "min" in rule:
        return rule["min"] - 1
    if "above" in rule:
        return rule["above"]
    if "elements" in rule:
        return [BAD_TEXT]
    if "keys" in rule:
        return {BAD_TEXT: "x"}
    return "bogus" if "words" in rule else BAD_TEXT


@pytest.mark.parametrize("role", ROLES)
def test_every_option_of_the_spec_has_a_rule(role):
    specs, ranges = role_files(role)
    missing, stale = shopdb_ranges.unruled_options(specs, ranges)
    assert missing == [], f"{role}: add a rule to meta/ranges.yml for {missing}"
    assert stale == [], f"{role}: meta/ranges.yml has rules for options the spec does not have: {stale}"


def test_an_option_added_without_a_rule_is_reported():
    specs = {"argument_specs": {"main": {"options": {
        "x_port": {"type": "int"}, "x_flag": {"type": "bool"}, "x_mode": {"type": "str", "choices": ["a"]},
        "x_secret": {"type": "str", "no_log": True}, "x_dir": {"type": "path"}}}}}
    assert shopdb_ranges.unruled_options(specs, {"x_dir": {"format": "abs_path"}, "x_gone": {"min": 0}}) == (
        ["x_port"], ["x_gone"])


def ruled_options():
    for role in ROLES:
        specs, ranges = role_files(role)
        for name in ranges:
            yield pytest.param(role, name, id=name)


@pytest.mark.parametrize("role,name", list(ruled_options()))
def test_each_rule_refuses_an_out_of_range_value_and_accepts_the_default(role, name):
    specs, ranges = role_files(role)
    rule = ranges[name]
    bad = out_of_range(rule)
    errors = shopdb_ranges.range_errors(specs, ranges, {name: bad})
    assert len(errors) == 1 and errors[0].startswith(name), errors
    assert "use " in errors[0], errors  # every message says what to use instead
    # The option as any entry point declares it (main, or one the fleet playbooks call).
    option = next(entry["options"][name] for entry in specs["argument_specs"].values() if name in entry.get("options", {}))
    default = option.get("default")
    if default is not None:
        assert shopdb_ranges.range_errors(specs, ranges, {name: default}) == []


def test_the_original_finding_is_named_with_its_value_and_range():
    specs, ranges = role_files("shopdb_db")
    assert shopdb_ranges.range_errors(specs, ranges, {"shopdb_db_port": 70000}) == [
        "shopdb_db_port=70000 is out of range: use 1 to 65535"]
    # From -e the value is a string; it is read as the number it spells.
    assert shopdb_ranges.range_errors(specs, ranges, {"shopdb_db_port": "70000"}) == [
        "shopdb_db_port=70000 is out of range: use 1 to 65535"]
    assert shopdb_ranges.range_errors(specs, ranges, {"shopdb_db_port": "3307"}) == []


@pytest.mark.parametrize("value,message", [
    ("abc", "shopdb_db_port='abc' is not a whole number: use 1 to 65535"),
    (True, "shopdb_db_port=True is not a whole number: use 1 to 65535"),
    (3306.5, "shopdb_db_port=3306.5 is not a whole number: use 1 to 65535"),
    (0, "shopdb_db_port=0 is out of range: use 1 to 65535"),
])
def test_numbers_of_the_wrong_kind_are_refused(value, message):
    specs, ranges = role_files("shopdb_db")
    assert shopdb_ranges.range_errors(specs, ranges, {"shopdb_db_port": value}) == [message]


def test_ratios_take_the_float_type_of_the_spec():
    specs, ranges = role_files("shopdb_db")
    name = "shopdb_db_innodb_buffer_pool_ratio"
    assert shopdb_ranges.range_errors(specs, ranges, {name: "0.5"}) == []
    assert shopdb_ranges.range_errors(specs, ranges, {name: 0}) == [
        f"{name}=0 is out of range: use a number above 0 and at most 0.8"]
    assert shopdb_ranges.range_errors(specs, ranges, {name: float("nan")})[0].startswith(f"{name}=nan is not a number")


@pytest.mark.parametrize("role,name,good,bad", [
    ("shopdb_app", "shopdb_app_base_dir", "/srv/shopdb", "/opt/../etc"),
    ("shopdb_app", "shopdb_app_base_dir", "/srv/shopdb", "/"),
    ("shopdb_app", "shopdb_app_db_host", "db1.lyon.example.net", "db1..example"),
    ("shopdb_app", "shopdb_app_forwarded_allow_ips", ["10.0.0.0/24", "fd00::1"], ["10.0.0.0/33"]),
    ("shopdb_app", "shopdb_app_cors_origins", ["https://intranet.example.net"], ["*"]),
    ("shopdb_app", "shopdb_app_extra_env", {"SHOPDB_X": "1"}, {"PATH": "/tmp"}),
    ("shopdb_db", "shopdb_db_app_hosts", ["10.0.0.%", "app1.lyon"], ["app 1"]),
    ("shopdb_db", "shopdb_db_bind_address", "", "not an address"),
    ("shopdb_proxy", "shopdb_proxy_domain", "shopdb.lyon.example.net", "Shop_DB.example"),
    ("shopdb_proxy", "shopdb_proxy_extra_names", ["127.0.0.1", "www.example.net"], ["under_score.example"]),
    ("shopdb_proxy", "shopdb_proxy_next_upstream", "error timeout", "error non_idempotent"),
    ("shopdb_proxy", "shopdb_proxy_read_timeout", "1m", "0s"),
    ("shopdb_proxy", "shopdb_proxy_client_max_body_size", "512k", "10 MB"),
    ("shopdb_proxy", "shopdb_proxy_upstreams", ["10.0.0.5"], []),
    ("shopdb_backup", "shopdb_backup_randomized_delay", "1h 30min", "soon"),
    ("shopdb_backup", "shopdb_backup_remote_target", "backup@vault.example:/srv/shopdb", "vault.example:/srv"),
    ("shopdb_backup", "shopdb_backup_remote_known_hosts", ["vault.example ssh-ed25519 AAAAC3Nza"], ["vault.example"]),
    ("shopdb_backup", "shopdb_backup_restore_dump", "latest", "../etc/passwd"),
    ("shopdb_backup", "shopdb_backup_restore_dump", "shopdb-20261126T023000Z.sql.gz", "daily/x.sql.gz"),
    ("shopdb_backup", "shopdb_backup_restore_dump", "/var/backups/shopdb/daily/x.sql.gz", ".."),
    ("shopdb_backup", "shopdb_backup_restore_dump", "x.sql.gz", "/var/../etc/shadow"),
])
def test_formats_tell_good_values_from_bad(role, name, good, bad):
    specs, ranges = role_files(role)
    assert shopdb_ranges.range_errors(specs, ranges, {name: good}) == []
    errors = shopdb_ranges.range_errors(specs, ranges, {name: bad})
    assert len(errors) == 1 and errors[0].startswith(name), errors


def test_a_hint_names_the_fix_and_unset_variables_are_left_to_their_own_checks():
    specs, ranges = role_files("shopdb_proxy")
    [message] = shopdb_ranges.range_errors(specs, ranges, {"shopdb_proxy_domain": "x"})
    assert "set that in ansible/group_vars/<site>/vars.yml" in message and "shopdb_domain" in message
    assert shopdb_ranges.range_errors(specs, ranges, {}) == []


def test_a_plugin_both_enabled_and_to_drop_is_refused_by_name():
    specs, ranges = role_files("shopdb_app")
    values = {"shopdb_app_plugins": ["equipment", "printers"], "shopdb_app_plugins_drop_data": ["printers"]}
    [message] = shopdb_ranges.range_errors(specs, ranges, values)
    assert message.startswith("shopdb_app_plugins_drop_data and shopdb_app_plugins both hold 'printers'"), message
    assert "cannot also be one the site uses" in message
    values["shopdb_app_plugins_drop_data"] = ["computers"]
    assert shopdb_ranges.range_errors(specs, ranges, values) == []


def test_a_rule_without_a_check_is_an_error_of_the_rules_file():
    with pytest.raises(ValueError, match="x_port"):
        shopdb_ranges.range_errors({}, {"x_port": {"hint": "h"}}, {"x_port": 1})


def fleet_files():
    settings = yaml.safe_load((ROOT / "ansible/vars/fleet.yml").read_text())
    return settings, yaml.safe_load((ROOT / "ansible/vars/fleet-ranges.yml").read_text())["ranges"]


def test_every_fleet_setting_has_a_rule():
    settings, ranges = fleet_files()
    assert sorted(n for n, v in settings.items() if not isinstance(v, bool) and n not in ranges) == []
    assert sorted(n for n in ranges if n not in settings) == []


@pytest.mark.parametrize("name", list(fleet_files()[1]))
def test_each_fleet_rule_refuses_an_out_of_range_value_and_accepts_the_default(name):
    settings, ranges = fleet_files()
    errors = shopdb_ranges.range_errors({}, ranges, {name: out_of_range(ranges[name])})
    assert len(errors) == 1 and errors[0].startswith(f"{name}="), errors
    if "{{" not in str(settings[name]):
        assert shopdb_ranges.range_errors({}, ranges, {name: settings[name]}) == []
