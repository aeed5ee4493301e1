"""What Automation Controller, AWX and Semaphore read (collections/requirements.yml, inventories/, an
execution environment) and ARA's record of a run, all from the installed collection."""
import json
import re
import shutil

import pytest
import yaml
from collection_kit import BIN, RELEASE, REPO, explain, outside_env, run

PRODUCTION = REPO / "inventories" / "production"


def test_the_production_inventory_has_each_sites_groups_and_files(tmp_path):
    result = run([BIN / "ansible-inventory", "-i", PRODUCTION / "hosts.ini", "--list"], cwd=tmp_path,
                 env=outside_env(tmp_path, tmp_path))
    assert result.returncode == 0, explain(result)
    groups = json.loads(result.stdout)
    sites = [g for g in groups if re.fullmatch(r"site_[a-z0-9-]+", g)]
    assert len(sites) >= 2
    for site in sites:
        assert groups[site]["children"] == [f"{site}_db", f"{site}_app", f"{site}_proxy"]
        for role in ("db", "app", "proxy"):
            # The plays target shopdb_db, shopdb_app and shopdb_proxy: each site's groups sit under them.
            assert f"{site}_{role}" in groups[f"shopdb_{role}"]["children"]
            assert groups[f"{site}_{role}"]["hosts"]
        assert (PRODUCTION / "group_vars" / site / "vars.yml").is_file()
        example = (PRODUCTION / "group_vars" / site / "vault.yml.example").read_text()
        # One vault id per site, named after it (site_lyon -> lyon).
        assert f"--vault-id {site.removeprefix('site_')}@prompt" in example


@pytest.fixture()
def vaulted_inventory(tmp_path):
    """The production example with each site's secrets encrypted under its own vault id and password."""
    inventory = tmp_path / "production"
    shutil.copytree(PRODUCTION, inventory)
    passwords = {}
    for site_dir in sorted((inventory / "group_vars").glob("site_*")):
        vault_id = site_dir.name.removeprefix("site_")
        passwords[vault_id] = tmp_path / f"{vault_id}.pass"
        passwords[vault_id].write_text(f"{vault_id}-vault-password\n")
        secrets = site_dir / "vault.yml"
        secrets.write_text((site_dir / "vault.yml.example").read_text().replace("CHANGE-ME", f"{vault_id}-secret"))
        result = run([BIN / "ansible-vault", "encrypt", "--vault-id", f"{vault_id}@{passwords[vault_id]}", secrets],
                     cwd=tmp_path, env=outside_env(tmp_path, tmp_path))
        assert result.returncode == 0, explain(result)
        assert secrets.read_text().startswith(f"$ANSIBLE_VAULT;1.2;AES256;{vault_id}\n")
    return inventory, passwords


def test_a_sites_job_needs_only_that_sites_vault_credential(vaulted_inventory, tmp_path):
    inventory, passwords = vaulted_inventory
    env = outside_env(tmp_path, tmp_path)

    def secret_of(site, vault_id):
        return run([BIN / "ansible", "-i", inventory / "hosts.ini", site, "-m", "ansible.builtin.debug",
                    "-a", "var=vault_shopdb_secret_key", "--vault-id", f"{vault_id}@{passwords[vault_id]}"],
                   cwd=tmp_path, env=env)

    lyon = secret_of("site_lyon", "lyon")
    assert lyon.returncode == 0 and '"vault_shopdb_secret_key": "lyon-secret"' in lyon.stdout, explain(lyon)
    # Lyon's credential does not open Porto's secrets.
    porto = secret_of("site_porto", "lyon")
    assert porto.returncode != 0 and "Decryption failed" in porto.stdout + porto.stderr, explain(porto)


def test_no_playbook_waits_for_a_person():
    """A job has no terminal: no vars_prompt, no pause without a timeout (confirmations are variables)."""
    problems = []
    for path in [*(REPO / "ansible").glob("*.yml"), *(REPO / "ansible" / "tasks").glob("*.yml")]:
        for node in yaml.safe_load(path.read_text()) or []:
            stack = [node]
            while stack:
                item = stack.pop()
                if isinstance(item, list):
                    stack.extend(item)
                    continue
                if not isinstance(item, dict):
                    continue
                if "vars_prompt" in item:
                    problems.append(f"{path.name}: vars_prompt in {item.get('name')!r}")
                pause = item.get("ansible.builtin.pause", item.get("pause", False))
                if pause is not False and not (isinstance(pause, dict) and {"seconds", "minutes"} & set(pause)):
                    problems.append(f"{path.name}: pause without a timeout in {item.get('name')!r}")
                stack.extend(item.get(k) for k in ("tasks", "pre_tasks", "post_tasks", "handlers", "block",
                                                   "rescue", "always") if item.get(k))
    assert not problems, problems


def test_ansible_builder_creates_the_execution_environments_context(built, tmp_path):
    project = tmp_path / "project"
    (project / "collections").mkdir(parents=True)
    shutil.copy2(REPO / "execution-environment.yml", project)
    shutil.copy2(REPO / "collections" / "requirements.yml", project / "collections")
    (project / "build" / "collection").mkdir(parents=True)
    shutil.copy2(built[1], project / "build" / "collection")
    result = run([BIN / "ansible-builder", "create", "-f", "execution-environment.yml", "-c", "context"],
                 cwd=project, env=outside_env(tmp_path, tmp_path))
    assert result.returncode == 0, explain(result)
    build = project / "context" / "_build"
    requirements = (build / "requirements.txt").read_text()
    for package in ("cryptography", "PyMySQL", "ara"):
        assert re.search(rf"^{package}\b", requirements, re.M), requirements
    assert re.search(r"^openssh-client", (build / "bindep.txt").read_text(), re.M)
    galaxy = yaml.safe_load((build / "requirements.yml").read_text())
    assert {c["name"] for c in galaxy["collections"]} == {"community.mysql", "community.crypto", "ansible.posix"}
    containerfile = (project / "context" / "Containerfile").read_text()
    install = re.search(r"^RUN ansible-galaxy collection install --offline --no-deps -p \S+ (\S+)$", containerfile, re.M)
    assert install, containerfile
    # The galaxy stage works in /build, a copy of _build/: the tarball must be where that line looks.
    assert [p.name for p in build.glob(install.group(1))] == [built[1].name]


@pytest.mark.slow
def test_ara_records_a_run_of_the_installed_collection(installed, tmp_path):
    """status.yml (read-only, tolerates hosts that do not answer) against a site whose host refuses ssh:
    ARA names the hosts, their results and the labels site:lyon and release:<release>."""
    collections, workdir = installed
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(
        "[site_lyon_db]\nlyon-shopdb ansible_host=127.0.0.1 ansible_port=9\n[site_lyon_app]\nlyon-shopdb\n"
        "[site_lyon_proxy]\nlyon-shopdb\n[site_lyon:children]\nsite_lyon_db\nsite_lyon_app\nsite_lyon_proxy\n"
        "[shopdb_db:children]\nsite_lyon_db\n[shopdb_app:children]\nsite_lyon_app\n"
        "[shopdb_proxy:children]\nsite_lyon_proxy\n")
    database = tmp_path / "ara" / "ansible.sqlite"
    env = outside_env(collections, workdir, ARA_DATABASE_NAME=str(database), ARA_BASE_DIR=str(tmp_path / "ara"),
                      ANSIBLE_TIMEOUT="5")
    playbook = [BIN / "ansible-playbook", "-i", inventory, "shopdb.deploy.status", "--check",
                "--limit", "site_lyon,localhost", "-e", f"shopdb_status_report_dir={tmp_path / 'report'}"]

    # Opt-in: a plain run records nothing.
    plain = run(playbook, cwd=workdir, env=env)
    assert plain.returncode == 0, explain(plain)
    assert not database.exists()

    recorded = run([REPO / "scripts" / "ara.sh", *playbook], cwd=workdir, env=env)
    assert recorded.returncode == 0, explain(recorded)
    assert "site_lyon | ? |" in (tmp_path / "report" / "status.md").read_text()

    ara_env = {**env, "ARA_API_CLIENT": "offline"}

    def ara(*args):
        result = run([BIN / "ara", *args, "-f", "json"], cwd=workdir, env=ara_env)
        assert result.returncode == 0, explain(result)
        return json.loads(result.stdout)

    playbooks = ara("playbook", "list")
    assert len(playbooks) == 1
    assert playbooks[0]["status"] == "completed"
    assert playbooks[0]["path"].endswith("shopdb/deploy/playbooks/status.yml")
    labels = {label["name"] for label in ara("playbook", "show", str(playbooks[0]["id"]))["labels"]}
    assert {f"release:{RELEASE}", "site:lyon", "check:True"} <= labels, labels
    hosts = {h["name"]: h for h in ara("host", "list")}
    assert set(hosts) == {"lyon-shopdb", "localhost"}
    assert all(h["failed"] == 0 and h["ok"] > 0 for h in hosts.values()), hosts
    # What ARA keeps is what the job showed: the unreachable host's ping is recorded as such.
    results = ara("result", "list", "--host", str(hosts["lyon-shopdb"]["id"]), "--limit", "100")
    assert any(r["status"] == "unreachable" for r in results), results
