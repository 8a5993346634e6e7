"""``make bench-demo``: how long a newcomer waits for the demo report, one and two experiments at once.

Runs the whole pipeline on the synthetic demo corpus as a fresh clone would (an empty reports
folder and an empty cache, so the corpus is generated and every feature computed), first with
``--jobs 1`` and then, cold again, with ``--jobs 2``; then runs ``--jobs 1`` a second time on the
first run's folders (nothing changed: every experiment must be up to date). Each run is a child
process; its wall time, CPU time (user + system of the children) and largest child's peak RSS
are recorded.

Targets (issue "a newcomer's first run"), judged on the first ``--jobs`` value, by default
``auto`` as ``make report`` runs (one experiment per core within memory; 2 on a 2-core machine):
the cold run ≤ 10 min wall and ≤ 15 min CPU, the warm run a no-op in seconds. The ratio
``jobs 1 / jobs N`` shows what the other cores buy. Writes ``reports/bench/demo.json`` (committed: docs/running.md quotes it); exits 1 when a run fails or a target is missed.

This is a benchmark, not a test: it takes as long as it measures (about 20 minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_COLD_WALL_S = 600.0
TARGET_COLD_CPU_S = 900.0
TARGET_WARM_WALL_S = 30.0


def timed_pipeline(reports_dir: Path, cache: Path, *, jobs: int, log: Path, extra: list[str] | None = None) -> dict:
    """Run ``python -m ser_lib.pipeline`` on the demo corpus in a child process.

    Returns
    -------
    dict: ``jobs``, ``rc``, ``wall_s``, ``cpu_s`` (user + system of the child processes),
    ``max_child_rss_mb`` (the largest child's peak, as the OS reports it over all children so far),
    ``log`` (the child's output).
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    missing = Path(tempfile.gettempdir()) / "ser-bench-demo-no-corpora"
    cmd = [sys.executable, "-m", "ser_lib.pipeline", "--demo", "--reports-dir", str(reports_dir),
           "--cache", str(cache), "--jobs", str(jobs), *(extra or [])]
    env = {**os.environ, "DATA_ROOT": str(missing)}
    env.pop("SER_CACHE", None)
    t0 = time.time()
    with open(log, "w") as fh:
        rc = subprocess.call(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)
    wall = time.time() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"jobs": jobs, "rc": rc, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
            "max_child_rss_mb": round(after.ru_maxrss / 1024, 1), "log": str(log)}


def run(*, out: str | Path = "reports/bench/demo.json", workdir: str | Path | None = None,
        jobs: tuple = ("auto", 1)) -> dict:
    """Cold runs at each of ``jobs``, then a warm run; see the module docstring."""
    work = Path(workdir or tempfile.mkdtemp(prefix="ser-bench-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    from ser_lib.pipeline import parse_jobs
    from ser_lib.reporting.report import measured_on

    jobs = tuple(dict.fromkeys(parse_jobs(n) for n in jobs))  # "auto" → this machine's number, no repeats
    runs = []
    for n in jobs:
        folder = work / f"jobs{n}"
        if folder.exists():
            raise FileExistsError(f"{folder} exists: the benchmark needs empty folders to measure a cold run")
        folder.mkdir()
        print(f"cold demo report, --jobs {n} ...", flush=True)
        r = timed_pipeline(folder / "reports", folder / "cache", jobs=n, log=folder / "pipeline.log")
        runs.append({"kind": "cold", **r})
        print(f"  rc {r['rc']}, {r['wall_s']:.0f} s wall, {r['cpu_s']:.0f} s CPU", flush=True)
    first = work / f"jobs{jobs[0]}"
    print(f"warm demo report (nothing changed), --jobs {jobs[0]} ...", flush=True)
    warm = timed_pipeline(first / "reports", first / "cache", jobs=jobs[0], log=first / "pipeline-warm.log")
    runs.append({"kind": "warm", **warm})
    print(f"  rc {warm['rc']}, {warm['wall_s']:.1f} s wall", flush=True)
    cold = {r["jobs"]: r for r in runs if r["kind"] == "cold"}
    one = cold[jobs[0]]
    record = {
        "cores": os.cpu_count(), "load_average_1min_at_end": os.getloadavg()[0], "runs": runs,
        "targets": {"cold_wall_s": TARGET_COLD_WALL_S, "cold_cpu_s": TARGET_COLD_CPU_S, "warm_wall_s": TARGET_WARM_WALL_S},
        "speedup": {f"jobs1/jobs{n}": round(cold[1]["wall_s"] / cold[n]["wall_s"], 2)
                    for n in jobs if n != 1 and 1 in cold and cold[n]["wall_s"] > 0},
        "judged_jobs": jobs[0],
        "all_succeeded": all(r["rc"] == 0 for r in runs), "data": "synthetic demo (what it measures)",
        **measured_on(),
    }
    record["targets_met"] = bool(record["all_succeeded"] and one["wall_s"] <= TARGET_COLD_WALL_S
                                 and one["cpu_s"] <= TARGET_COLD_CPU_S and warm["wall_s"] <= TARGET_WARM_WALL_S)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1) + "\n")
    return record


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ser_lib.pipeline.bench_demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="reports/bench/demo.json")
    parser.add_argument("--workdir", default=None, help="where the cold runs write (default: a new temporary folder)")
    parser.add_argument("--jobs", nargs="+", default=["auto", "1"],
                        help="the --jobs values to time cold, the first one judged (default: auto 1)")
    args = parser.parse_args(argv)
    r = run(out=args.out, workdir=args.workdir, jobs=tuple(args.jobs))
    print(f"Demo report on {r['cores']} cores:")
    for x in r["runs"]:
        print(f"  {x['kind']:4s} --jobs {x['jobs']}: {x['wall_s']:7.1f} s wall, {x['cpu_s']:7.1f} s CPU, "
              f"largest process {x['max_child_rss_mb']:.0f} MB, rc {x['rc']}  (log {x['log']})")
    for k, v in r["speedup"].items():
        print(f"  wall-time ratio {k}: {v:.2f}")
    t = r["targets"]
    print(f"targets: cold ≤ {t['cold_wall_s'] / 60:.0f} min wall and ≤ {t['cold_cpu_s'] / 60:.0f} min CPU, warm ≤ "
          f"{t['warm_wall_s']:.0f} s: {'met' if r['targets_met'] else 'MISSED'}")
    return 0 if r["targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
