"""Running a fleet playbook the way Automation Controller, AWX and Semaphore run jobs: through ansible-runner's
Python interface, over a private data directory laid out as those controllers lay it out (env/ with the job's
extra and environment variables, inventory/, project/ as the repository's checkout), against a Molecule
scenario's hosts. What a controller consumes is returned: the event stream and the artifacts."""
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import ansible_runner

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Job:
    status: str      # artifacts/<ident>/status: successful, failed, ...
    rc: int          # artifacts/<ident>/rc
    stdout: str      # artifacts/<ident>/stdout
    events: list     # artifacts/<ident>/job_events, in order
    stats: dict      # the playbook_on_stats event: ok, changed, failures, dark, ... per host
    seconds: float

    def results(self, task):
        """The results (event_data.res) of every host's ok or failed event of the task named *task*."""
        return {e["event_data"]["host"]: e["event_data"]["res"] for e in self.events
                if e["event"] in ("runner_on_ok", "runner_on_failed") and e["event_data"].get("task") == task}


def run(private_data_dir, playbook, extravars, timeout=1800):
    """ansible-runner over *private_data_dir* (created): env/extravars, env/envvars, inventory/ (the
    scenario's inventory directory, its group_vars included), project/ (this checkout); runs
    project/ansible/<playbook> and reads the job back from its artifacts, as a controller does."""
    pdd = Path(private_data_dir)
    (pdd / "env").mkdir(parents=True)
    (pdd / "env" / "extravars").write_text(json.dumps(extravars))
    (pdd / "env" / "envvars").write_text(json.dumps({
        "ANSIBLE_ROLES_PATH": str(ROOT / "ansible" / "roles"), "ANSIBLE_NOCOLOR": "1"}))
    (pdd / "env" / "settings").write_text(json.dumps({"job_timeout": timeout, "suppress_ansible_output": True}))
    (pdd / "inventory").symlink_to(Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent, target_is_directory=True)
    (pdd / "project").symlink_to(ROOT, target_is_directory=True)
    t0 = time.monotonic()
    runner = ansible_runner.run(private_data_dir=str(pdd), playbook=f"ansible/{playbook}", ident="job", quiet=True)
    seconds = time.monotonic() - t0
    artifacts = pdd / "artifacts" / "job"
    events = [json.loads(p.read_text()) for p in sorted((artifacts / "job_events").glob("*.json"),
                                                        key=lambda p: int(p.name.split("-", 1)[0]))]
    job = Job(status=(artifacts / "status").read_text().strip(), rc=int((artifacts / "rc").read_text()),
              stdout=(artifacts / "stdout").read_text(), events=events, stats=runner.stats or {}, seconds=seconds)
    assert (job.status, job.rc) == (runner.status, runner.rc), "the artifacts disagree with the runner"
    print(job.stdout[-6000:])
    return job
