"""The one entry point of the benchmarks (`make bench`): runs each benchmark script in turn.

    python bench/run.py                 # every benchmark
    python bench/run.py api backup      # only these
    python bench/run.py api -- --seconds 5      # arguments after -- go to each script
    python bench/run.py deploy -- --fleet 1     # the deploy benchmark with one site only (see bench/deploy.py)

Each script prints its figures and writes bench/results/<name>.json; see docs/PERFORMANCE.md.
Benchmarks measure, they do not pass or fail: this exits non-zero only when a script crashed.
"""

import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
BENCHMARKS = ("api", "backup", "deploy")


def main(argv):
    names, extra = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {', '.join(unknown)}: choose from {', '.join(BENCHMARKS)}")
    crashed = []
    for name in names or BENCHMARKS:
        print(f"== bench {name}", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(BENCH / f"{name}.py"), *extra])
        print(f"== bench {name}: exit {code} after {time.monotonic() - started:.0f} s", flush=True)
        if code != 0:
            crashed.append(name)
    if crashed:
        raise SystemExit(f"benchmark(s) that did not finish: {', '.join(crashed)}")


if __name__ == "__main__":
    main(sys.argv[1:])
