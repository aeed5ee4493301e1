"""The value rules of the shopdb roles: each role's meta/ranges.yml says, per variable, what a good value is
(a numeric range, a format, the format of a list's elements or a mapping's keys); the role's preflight
hands that file and the variables' effective values to `shopdb_range_errors` and fails on any message.

The rules live in their own file because ansible-lint's schema for meta/argument_specs.yml allows no keys
of our own under an option; tests/ansible/test_ranges.py holds the two files together (every option of a
spec that is not a bool, a choice or a secret has a rule, and every rule names an option).

A rule (a mapping) has any of:
  min, max      the inclusive bounds of a number           {min: 1, max: 65535}
  above         an exclusive lower bound                   {above: 0, max: 0.8}
  format        a name of FORMATS, for a string            {format: abs_path}
  elements      a name of FORMATS, for each list element   {elements: ip_or_network}
  keys          a name of FORMATS, for each mapping key     {keys: env_name}
  words         the allowed space-separated words           {words: [error, timeout]}
  empty: true   "" (or an empty list) is allowed too (it means: worked out by the role)
  disjoint      with elements: another list variable that may hold none of these  {disjoint: shopdb_app_plugins}
  hint          the fix to name after the message           {hint: "set shopdb_domain ..."}
"""
import ast
import ipaddress
import math
import re
from functools import lru_cache
from pathlib import Path

_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_HOST_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TIMESPAN_UNITS = ("us|usec|ms|msec|s|sec|second|seconds|m|min|minute|minutes|h|hr|hour|hours|d|day|days|"
                   "w|week|weeks|M|month|months|y|year|years")


def _regex(pattern):
    compiled = re.compile(pattern)
    return lambda value: compiled.fullmatch(value) is not None


def _ip(value):
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _ip_or_network(value):
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


_hostname = _regex(rf"(?=.{{1,253}}$)({_HOST_LABEL}\.)*{_HOST_LABEL}")


def _abs_path(value):
    parts = value.split("/")
    return value.startswith("/") and value != "/" and ".." not in parts and not re.search(r"[\x00-\x1f]", value)


def app_file(relative, start=Path(__file__).resolve()):
    """The app's file *relative* (app/...) in the nearest folder above *start* that holds it: the checkout
    (above ansible/) or the built collection (scripts/collection.py ships the app's rule files at its root)."""
    for folder in start.parents:
        if (folder / relative).is_file():
            return folder / relative
    raise FileNotFoundError(f"{relative} is in no folder above {start}: the deploy kit reads the app's rules from it")


@lru_cache(maxsize=None)
def plugin_name_pattern(path=None):
    """NAME_PATTERN of app/plugins/base.py, read from there: the one plugin-name rule of the app, the loader and
    copier.yml's plugin_name question."""
    path = path or app_file("app/plugins/base.py")
    for node in ast.walk(ast.parse(Path(path).read_text())):
        if (isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "NAME_PATTERN" for t in node.targets)
                and isinstance(node.value, ast.Call) and node.value.args
                and isinstance(node.value.args[0], ast.Constant)):
            return node.value.args[0].value
    raise ValueError(f"{path} has no NAME_PATTERN = re.compile(...): the plugin-name rule moved")


def _plugin_name(value):
    return re.match(plugin_name_pattern(), value) is not None


# name: (test, what a good value is). The description completes "use ...".
FORMATS = {
    "abs_path": (_abs_path, "an absolute path such as /var/lib/shopdb (no '..', not / itself)"),
    "ip": (_ip, "an IPv4 or IPv6 address such as 10.0.0.5"),
    "ip_or_network": (_ip_or_network, "an IP address or network such as 10.0.0.5 or 10.0.0.0/24"),
    "host": (lambda v: _ip(v) or _hostname(v), "an IP address or a host name such as db1.lyon.example.net"),
    # Preflight runs before facts are gathered, so a host's address may still be its inventory name.
    "host_or_network": (lambda v: _ip_or_network(v) or _hostname(v),
                        "an IP address, a network such as 10.0.0.0/24, or a host name"),
    "fqdn": (_regex(rf"(?=.{{1,253}}$)({_LABEL}\.)+[a-z][a-z0-9-]{{0,61}}[a-z0-9]"),
             "a fully qualified lower-case DNS name such as shopdb.lyon.example.net"),
    "dns_name_or_ip": (lambda v: _ip(v) or _regex(rf"(?=.{{1,253}}$)(\*\.)?({_LABEL}\.)*{_LABEL}")(v),
                       "a lower-case DNS name or an IP address"),
    # MariaDB account host part: a name, an address, a netmask (10.0.0.0/255.255.255.0) or % wildcards.
    "mysql_host": (_regex(r"[A-Za-z0-9.:%_/-]{1,255}"),
                   "a host name, an IP address, an address/netmask or a pattern with % (MariaDB account hosts)"),
    "identifier": (_regex(r"[A-Za-z0-9_]{1,32}"), "1 to 32 letters, digits or underscores"),
    "unix_name": (_regex(r"[a-z_][a-z0-9_-]{0,31}"),
                  "a system user or group name: a lower-case letter or _, then up to 31 of a-z, 0-9, _ or -"),
    "unit_name": (_regex(r"[A-Za-z0-9_.@:-]{1,200}"), "a systemd unit name such as shopdb (letters, digits, _.@:-)"),
    "login_name": (_regex(r"[A-Za-z0-9_.-]{3,64}"), "3 to 64 letters, digits, '.', '_' or '-'"),
    "plugin_name": (_plugin_name, "a plugin name such as equipment (a lower-case letter, then 1 to 26 of a-z or 0-9)"),
    "release": (_regex(r"[0-9A-Za-z][0-9A-Za-z.+!_-]*"), "a version such as 1.4.0 (it names releases/<version>)"),
    "origin": (_regex(r"https?://[^/,\s*]+"), "an origin such as https://intranet.example.net (never *)"),
    "email": (_regex(r"[^@\s]+@[^@\s]+\.[^@\s]+"), "an e-mail address such as ops@example.net"),
    "https_url": (_regex(r"https://[^\s'\"]+"), "an https:// URL"),
    "env_name": (_regex(r"SHOPDB_[A-Z0-9_]+"), "SHOPDB_* names (upper case, digits, _)"),
    "mysql_option": (_regex(r"[a-z][a-z0-9_-]*"), "MariaDB option names such as max_allowed_packet"),
    # nginx: a time (10s, 1m; no unit = seconds) and a size (10m; no unit = bytes).
    "nginx_time": (_regex(r"([1-9][0-9]*(ms|s|m|h|d|w|M|y)?)+"), "an nginx time above zero such as 10s or 1m"),
    "nginx_size": (_regex(r"[0-9]+[kKmMgG]?"), "an nginx size such as 10m or 512k (0 = no limit)"),
    "systemd_timespan": (_regex(rf"([0-9]+ ?({_TIMESPAN_UNITS})? ?)+"),
                         "a systemd time span such as 15min or 1h 30min"),
    # shopdb-backup-restore's DUMP: the newest dump, one named in the backup directory, or a path.
    "dump": (lambda v: v == "latest" or _regex(r"[A-Za-z0-9._-]+")(v) and v not in (".", "..") or _abs_path(v),
             '"latest", a dump\'s file name such as shopdb-20261126T023000Z.sql.gz, or an absolute path'),
    "rsync_target": (_regex(r"[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:/.+"), "user@host:/absolute/path"),
    "known_hosts_line": (_regex(r"\S+ (ssh-[a-z0-9-]+|ecdsa-sha2-nistp(256|384|521)|sk-\S+) [A-Za-z0-9+/=]+( .*)?"),
                         "a known_hosts line such as `backup.example.net ssh-ed25519 AAAA...` (ssh-keyscan)"),
    # One line of printable text: it is rendered into a configuration file.
    "line": (_regex(r"[^\x00-\x1f\x7f]+"), "one line of text (no newline or control characters)"),
}


def _number(value, integer):
    """The value as a number, or None. Strings count: `-e shopdb_db_port=70000` passes one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip()) if not integer else int(value.strip())
        except ValueError:
            return None
    if not isinstance(value, (int, float)) or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if integer and isinstance(value, float):
        return int(value) if value.is_integer() else None
    return value


def _range_text(rule):
    low = f"above {rule['above']}" if "above" in rule else (f"{rule['min']}" if "min" in rule else None)
    if "max" in rule:
        if "above" in rule:
            return f"a number {low} and at most {rule['max']}"
        return f"{low} to {rule['max']}" if low is not None else f"at most {rule['max']}"
    return f"{low} or more" if "min" in rule else f"a number {low}"


def _check_number(name, value, rule, integer):
    number = _number(value, integer)
    kind = "a whole number" if integer else "a number"
    if number is None:
        return f"{name}={value!r} is not {kind}: use {_range_text(rule)}"
    if ("min" in rule and number < rule["min"]) or ("max" in rule and number > rule["max"]) or (
            "above" in rule and number <= rule["above"]):
        return f"{name}={value} is out of range: use {_range_text(rule)}"
    return None


def _check_string(label, value, fmt):
    test, what = FORMATS[fmt]
    if not isinstance(value, str) or not test(value):
        return f"{label}={value!r} is not valid: use {what}"
    return None


def _messages(name, value, rule, option_type):
    empty = rule.get("empty", False)
    if "min" in rule or "max" in rule or "above" in rule:
        integer = option_type != "float"
        message = _check_number(name, value, rule, integer)
        return [message] if message else []
    if "format" in rule:
        if empty and value == "":
            return []
        message = _check_string(name, value, rule["format"])
        return [message] if message else []
    if "words" in rule:
        words = value.split() if isinstance(value, str) else None
        if not words or any(w not in rule["words"] for w in words):
            return [f"{name}={value!r} is not valid: use space-separated words of {', '.join(rule['words'])}"]
        return []
    if "elements" in rule:
        if not isinstance(value, (list, tuple)):
            return [f"{name}={value!r} is not a list: use a list of {FORMATS[rule['elements']][1]}"]
        if not value and not empty:
            return [f"{name} is empty: use a list of at least one {FORMATS[rule['elements']][1]}"]
        return [m for i, e in enumerate(value) if (m := _check_string(f"{name}[{i}]", e, rule["elements"]))]
    if "keys" in rule:
        if not isinstance(value, dict):
            return [f"{name}={value!r} is not a mapping: use a mapping of {FORMATS[rule['keys']][1]} to values"]
        return [m for k in value if (m := _check_string(f"{name} key", k, rule["keys"]))]
    raise ValueError(f"the rule of {name} ({rule!r}) has no min, max, above, format, words, elements or keys")


def _options(argument_specs):
    options = {}
    for entry in (argument_specs or {}).get("argument_specs", {}).values():
        options.update(entry.get("options") or {})
    return options


def range_errors(argument_specs, ranges, values):
    """Messages for every value of `values` (name -> effective value) that breaks its rule in `ranges`
    (name -> rule, the `ranges` mapping of a role's meta/ranges.yml); numbers are whole unless the role's
    argument spec (its meta/argument_specs.yml, parsed) types the option float. A name missing from
    `values` (not set) is skipped: required variables have their own check, naming the Vault key to set."""
    options = _options(argument_specs)
    errors = []
    for name, rule in ranges.items():
        if name not in values:
            continue
        value = values[name]
        messages = _messages(name, value, rule, options.get(name, {}).get("type", "str"))
        if not messages and "disjoint" in rule:
            messages = [f"{name} and {rule['disjoint']} both hold {e!r}: a value may be in only one of them"
                        for e in value if e in (values.get(rule["disjoint"]) or [])]
        errors.extend(f"{message} ({rule['hint']})" if "hint" in rule else message for message in messages)
    return errors


def unruled_options(argument_specs, ranges):
    """Options of a role's argument spec (all entry points) that need a rule and have none: every option
    but booleans, fixed choices and secrets (no_log). Rules that name no option are reported too."""
    options = _options(argument_specs)
    missing = [name for name, spec in options.items()
               if spec.get("type", "str") != "bool" and "choices" not in spec and not spec.get("no_log")
               and name not in ranges]
    stale = [name for name in ranges if name not in options]
    return sorted(missing), sorted(stale)


class FilterModule:
    def filters(self):
        return {"shopdb_range_errors": range_errors}
