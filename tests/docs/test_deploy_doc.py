"""DEPLOY.md and HARDENING.md name only things that exist: playbooks and files, Ansible variables and tags, make
targets, CLI commands and their options, environment variables and systemd units.

Only code (fenced blocks and `inline code`) is checked: that is what an operator copies. The example site of
DEPLOY.md (site_nantes) is a new site the operator creates, so its own files are not expected to exist.
"""

import re
from functools import cache
from pathlib import Path

import click
import pytest
from flask.cli import FlaskGroup

from envfile import parse_env_example

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "docs" / "DEPLOY.md", ROOT / "docs" / "HARDENING.md"]
EXAMPLE_SITE = "site_nantes"

FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
SPAN = re.compile(r"`([^`\n]+)`")
PATH = re.compile(r"(?<![\w/.-])((?:ansible|scripts|docs|tests)/[\w./<>*-]*[\w/]|inventory\.example\.ini|"
                  r"\.env\.example|Dockerfile|pyproject\.toml|Makefile)")
VARIABLE = re.compile(r"\b((?:shopdb|vault)_[a-z0-9_]*[a-z0-9])\b")
MAKE = re.compile(r"\bmake\s+([a-z][\w-]*)")
CLI = re.compile(r"(?:\bshopdb-flask|(?<![\w-])flask(?:\s+--app\s+app)?)((?:\s+[^\s|;&#`/]+)*)")
TAGS = re.compile(r"--tags[ =]([\w,-]+)")
ENV_VAR = re.compile(r"\b(SHOPDB_[A-Z0-9_]+)\b")
UNIT = re.compile(r"\bsystemctl\s+[a-z-]+\s+([\w@.-]+)|\bjournalctl\b[^\n]*")
JOURNAL_UNIT = re.compile(r"\s-u\s+([\w@.-]+)")


def code_of(text):
    """Every fenced block and inline code span of a Markdown text."""
    blocks = FENCE.findall(text)
    return blocks + SPAN.findall(FENCE.sub("", text))


@cache
def ansible_files():
    return [p for p in (ROOT / "ansible").rglob("*") if p.is_file() and "molecule" not in p.parts
            and p.suffix in (".yml", ".yaml", ".j2", ".cfg", ".example", ".ini", "")] + [ROOT / "inventory.example.ini"]


@cache
def defined_variables():
    """Names defined as YAML keys (defaults, vars, group_vars, argument_specs, playbooks) or inventory host vars,
    and the role and inventory group names (shopdb_db is a role and a group)."""
    names = {p.name for p in (ROOT / "ansible" / "roles").iterdir()}
    names |= set(re.findall(r"^\[([\w-]+)(?::children)?\]", (ROOT / "inventory.example.ini").read_text(), re.M))
    for path in ansible_files():
        text = path.read_text(errors="replace")
        names |= set(re.findall(r"^\s*(?:-\s+)?([a-z_][a-z0-9_]*):", text, re.M))
        names |= set(re.findall(r"\s([a-z_][a-z0-9_]*)=", text))
    return names


@cache
def tags():
    found = set()
    for path in ansible_files():
        for value in re.findall(r"\btags:\s*\[([^\]]*)\]", path.read_text(errors="replace")):
            found |= {t.strip() for t in value.split(",")}
    return found


@cache
def make_targets():
    return set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), re.M))


@cache
def app_for_cli():
    from app import create_app

    return create_app("testing")


def cli_problem(words):
    """None when `flask WORDS` names a real command with real options; else what is wrong."""
    group = FlaskGroup(create_app=app_for_cli)
    # FlaskGroup pushes an app context onto the click context: `with` pops it again, so nothing leaks.
    with group.make_context("flask", [], resilient_parsing=True) as ctx:
        return _resolve(group, ctx, words)


def _resolve(command, ctx, words):
    path = ["flask"]
    for word in words:
        if word.startswith("-"):
            if isinstance(command, click.Group):
                return f"`{' '.join(path)}` is a group: {word} needs a command before it"
            option = word.split("=")[0]
            known = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
            if option not in known:
                return f"`{' '.join(path)}` has no option {option} (it has {sorted(known)})"
        elif isinstance(command, click.Group):
            sub = command.get_command(ctx, word)
            if sub is None:
                return f"`{' '.join(path)}` has no command {word!r} (it has {command.list_commands(ctx)})"
            command = sub
            path.append(word)
    if isinstance(command, click.Group):
        return f"`{' '.join(path)}` is a group, not a command"
    return None


def unit_known(unit, tool_text):
    """A unit some role installs: a unit file or template of that name, or a role's *_service_name default."""
    full = unit if re.search(r"\.(service|timer|socket)$", unit) else unit + ".service"
    base = full.rsplit(".", 1)[0]
    files = {p.name for p in (ROOT / "ansible" / "roles").glob("*/*/*")}
    return bool({full, full + ".j2"} & files
                or re.search(rf"_service_name: {re.escape(base)}$|^\s*name: {re.escape(base)}$", tool_text, re.M))


def problems_in(text):
    """Every name in the code of *text* that does not exist in the repository."""
    problems = []
    env_names = set(parse_env_example())
    tool_text = "\n".join(p.read_text(errors="replace") for p in [*ROOT.glob("scripts/*.sh"), *ansible_files()])
    for code in code_of(text):
        for path in PATH.findall(code):
            if any(c in path for c in "<>*") or EXAMPLE_SITE in path:
                continue
            if not (ROOT / path).exists():
                problems.append(f"path {path} does not exist")
        for name in VARIABLE.findall(code):
            if name not in defined_variables():
                problems.append(f"variable {name} is defined nowhere in ansible/ or inventory.example.ini")
        for target in MAKE.findall(code):
            if target not in make_targets():
                problems.append(f"make target {target} is not in the Makefile")
        for value in TAGS.findall(code):
            problems += [f"tag {t} is used by no play or task" for t in value.split(",") if t not in tags()]
        for name in ENV_VAR.findall(code):
            if name not in env_names and not re.search(rf"\b{name}\b", tool_text):
                problems.append(f"environment variable {name} is neither in .env.example nor in scripts/ or ansible/")
        for match in UNIT.finditer(code):
            units = [match.group(1)] if match.group(1) else JOURNAL_UNIT.findall(match.group(0))
            problems += [f"systemd unit {u} is installed by no role" for u in units if not unit_known(u, tool_text)]
        for match in CLI.finditer(code):
            words = [w for w in match.group(1).split() if not re.fullmatch(r"[A-Z][A-Z0-9_-]*|\.\.\.", w)]
            if words and (problem := cli_problem(words)):
                problems.append(problem)
    return problems


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_doc_names_only_what_exists(doc):
    assert doc.exists(), f"{doc.relative_to(ROOT)} is missing"
    problems = problems_in(doc.read_text())
    assert not problems, f"{doc.relative_to(ROOT)} names things that do not exist:\n  " + "\n  ".join(problems)


@cache
def message_corpus():
    """Text of everything that prints the messages an operator sees: the app, the deploy kit, Alembic, Ansible."""
    import alembic
    import ansible

    roots = [ROOT / "app", ROOT / "ansible", ROOT / "scripts", ROOT / "plugins",
             Path(alembic.__file__).parent, Path(ansible.__file__).parent]
    return "\n".join(p.read_text(errors="replace") for r in roots for p in r.rglob("*")
                     if p.is_file() and p.suffix in (".py", ".yml", ".j2", ".sh", ""))


def printed(piece):
    """The piece is in the corpus literally, or as "<name> rest" where the message formats the name in:
    then the name and the rest must each be in the corpus."""
    corpus = message_corpus()
    if piece in corpus:
        return True
    head = re.match(r"'?([\w.]+)'?\s+(.{6,})$", piece)
    return bool(head and head.group(1) in corpus and head.group(2) in corpus)


def symptom_problems(text):
    """Each quoted message in the Symptom column of the common-issues table must be printed by something real.
    Placeholders (HOST, <name>, '...') split a message into literal pieces that must each appear."""
    section = text.split("## 10. Common issues", 1)[-1]
    problems = []
    for row in re.findall(r"^\|([^|\n]*)\|", section, re.M)[2:]:
        for message in SPAN.findall(row):
            pieces = [p.strip(" :`") for p in re.split(r"\.\.\.|\b[A-Z]{4,}\b|<[^>]*>|''", message)]
            missing = [p for p in pieces if len(p) >= 6 and not printed(p)]
            if missing:
                problems.append(f"symptom `{message}`: nothing prints {missing}")
    return problems


def test_common_issues_quote_real_messages():
    text = (ROOT / "docs" / "DEPLOY.md").read_text()
    assert "## 10. Common issues" in text
    assert not symptom_problems(text), symptom_problems(text)


def test_the_symptom_check_catches_a_made_up_message():
    table = "## 10. Common issues\n| Symptom | Cause | Fix |\n|---|---|---|\n| `no such error text here` | a | b |\n"
    assert symptom_problems(table)


def test_deploy_names_the_playbooks_and_commands_it_must():
    """The runbook covers what issue 7 asks: these names must appear in its code."""
    code = "\n".join(code_of((ROOT / "docs" / "DEPLOY.md").read_text()))
    for needle in ("ansible/site.yml", "ansible-vault create", "--limit", "flask db upgrade heads",
                   "flask seed", "flask plugin install", "create-admin", "scripts/docker-smoke.sh"):
        assert needle in code, f"DEPLOY.md does not show {needle!r}"


@pytest.mark.parametrize("snippet,expected", [
    ("`ansible-playbook ansible/no-such-play.yml`", "path ansible/no-such-play.yml"),
    ("`shopdb_app_no_such_variable: 1`", "variable shopdb_app_no_such_variable"),
    ("`make no-such-target`", "make target no-such-target"),
    ("`--tags no_such_tag`", "tag no_such_tag"),
    ("`flask no-such-command`", "no command 'no-such-command'"),
    ("`shopdb-flask db upgrade heads --no-such-option`", "no option --no-such-option"),
    ("```sh\nflask --app app plugin\n```", "is a group"),
    ("`SHOPDB_NO_SUCH_VARIABLE=1`", "environment variable SHOPDB_NO_SUCH_VARIABLE"),
    ("`systemctl restart no-such-unit`", "systemd unit no-such-unit"),
    ("`journalctl -u shopdb -u no-such-unit -n 5`", "systemd unit no-such-unit"),
])
def test_the_check_catches_each_kind_of_drift(snippet, expected):
    assert any(expected in p for p in problems_in(snippet)), problems_in(snippet)


def test_the_check_leaves_no_app_context_behind():
    from flask import has_app_context

    assert cli_problem(["db", "upgrade"]) is None
    assert not has_app_context()


def test_the_check_accepts_real_names():
    snippet = ("```sh\nansible-playbook -i inventory.ini ansible/site.yml --limit site_lyon --tags preflight\n"
               "flask --app app user create-admin --username NAME --password-stdin\nmake test\n```\n"
               "`shopdb_app_plugins` `vault_shopdb_secret_key` `SHOPDB_SECRET_KEY` `systemctl status shopdb`\n"
               "`journalctl -u shopdb -u nginx` `systemctl start shopdb-backup.service`")
    assert problems_in(snippet) == []
