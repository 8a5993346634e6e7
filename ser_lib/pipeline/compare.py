"""Behaviour kept: the demo metrics of an earlier commit beside this tree's, for chosen experiments.

A refactoring that did not change a computation must leave its figures identical. This runs the
named experiments on the synthetic demo corpus twice, from a git worktree of ``base`` and from this
tree, each with its own cold cache, and lists every score that differs (timings and provenance
are not compared). Both runs get ``TF_DETERMINISTIC_OPS=1`` in their environment, which turns
TensorFlow's op determinism on in every kernel even where a base predates
:func:`ser_lib.models.croptrain.seed_everything`, so the neural experiments (CNNs, CRNN, WaDER) are
compared too: a base without it gives different figures from run to run, with it the same ones.

Command line::

    python -m ser_lib.pipeline.compare --base REV NAME [NAME ...] [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

#: Record keys that are figures of a run (compared); everything else (timings, provenance,
#: parameters, labels of the report) is not.
SCORES = ("n_test_clips", "wa", "ua", "macro_f1", "weighted_f1", "wa_std", "ua_std", "macro_f1_std",
          "weighted_f1_std", "confusion", "per_class", "folds", "ablation", "n_clips", "n_skipped", "chance")

#: Keys inside the compared figures that are timings.
TIMINGS = ("train_s", "fit_s", "wall_s", "extract_s", "predict_s")


def figures(record: dict) -> dict:
    """The figures of a record (old layout: top level; new layout: the same keys), timings dropped."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in TIMINGS}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    source = record.get("results", record)
    return {k: strip(source[k]) for k in SCORES if k in source}


def differences(old, new, path: str = "") -> list[str]:
    """Every place where two figure trees differ (floats compared exactly, NaN equal to NaN)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = [f"{path}.{k}: only in {'base' if k in old else 'this tree'}" for k in sorted(set(old) ^ set(new))]
        for k in sorted(set(old) & set(new)):
            out += differences(old[k], new[k], f"{path}.{k}")
        return out
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            return [f"{path}: {len(old)} items in base, {len(new)} here"]
        return [d for i, (a, b) in enumerate(zip(old, new)) for d in differences(a, b, f"{path}[{i}]")]
    same = old == new or (isinstance(old, float) and isinstance(new, float) and math.isnan(old) and math.isnan(new))
    return [] if same else [f"{path}: base {old!r}, here {new!r}"]


def run_demo(tree: Path, names: list[str], *, work: Path, tag: str, demo_size: str, overrides=()) -> Path:
    """Run ``names`` on the demo corpus with the code of ``tree`` (its ``ser_lib`` first on the
    path of the pipeline and of every kernel), into ``work/<tag>`` with a cold cache there; returns
    the folder of its demo records. ``overrides`` (``key=value`` strings) go to the pipeline's
    ``--set``: where the demo budgets of the params files changed between the two trees, the same
    overrides give both the same parameters."""
    empty = work / "no-corpora"
    empty.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(tree), "TF_DETERMINISTIC_OPS": "1"}
    cmd = [sys.executable, "-m", "ser_lib.pipeline", "--data-root", str(empty), "--reports-dir", str(work / tag),
           "--cache", str(work / f"{tag}-cache"), "--demo-size", demo_size, "--only", *names]
    if overrides:
        cmd += ["--set", *overrides]
    helps = subprocess.run([sys.executable, "-m", "ser_lib.pipeline", "--help"], cwd=tree, env=env,
                           capture_output=True, text=True).stdout
    if "--demo " in helps or "--demo\n" in helps:  # newer pipelines refuse an empty data root without it
        cmd.insert(3, "--demo")
    done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"demo run of {tree} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    demo = work / tag / "demo" / "metrics"
    return demo if demo.is_dir() else work / tag / "metrics"  # before 9b15a3b a demo wrote into reports/


def compare(base: str, names: list[str], *, project: Path | None = None, work: Path | None = None,
            demo_size: str = "demo", overrides=()) -> dict:
    """Run ``names`` on the demo corpus at commit ``base`` and in ``project`` (default: this
    checkout), both with ``overrides`` (see :func:`run_demo`); returns ``{name: [differences]}``
    (an empty list: identical figures)."""
    project = Path(project or Path(__file__).resolve().parents[2])
    work = Path(work or tempfile.mkdtemp(prefix="ser-compare-"))
    base_tree = work / "base"
    subprocess.run(["git", "-C", str(project), "worktree", "add", "--detach", str(base_tree), base],
                   check=True, capture_output=True, text=True)
    try:
        old_dir = run_demo(base_tree, names, work=work, tag="base-reports", demo_size=demo_size,
                           overrides=overrides)
        new_dir = run_demo(project, names, work=work, tag="here-reports", demo_size=demo_size,
                           overrides=overrides)
        out = {}
        for name in names:
            old, new = old_dir / f"{name}.json", new_dir / f"{name}.json"
            if not old.is_file() or not new.is_file():
                out[name] = [f"no demo record {'at ' + base if not old.is_file() else 'here'}"]
                continue
            out[name] = differences(figures(json.loads(old.read_text())), figures(json.loads(new.read_text())))
        return out
    finally:
        subprocess.run(["git", "-C", str(project), "worktree", "remove", "--force", str(base_tree)],
                       capture_output=True, text=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the earlier commit")
    parser.add_argument("--demo-size", default="demo", help="synthetic corpus size (demo or tiny)")
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE", dest="overrides",
                        help="parameters given to both runs (the pipeline's --set)")
    parser.add_argument("names", nargs="+", help="experiments to compare")
    args = parser.parse_args(argv)
    result = compare(args.base, args.names, demo_size=args.demo_size, overrides=args.overrides)
    for name, diffs in result.items():
        print(f"{name}: {'identical figures' if not diffs else f'{len(diffs)} differences'}")
        for d in diffs[:20]:
            print(f"    {d}")
    return 1 if any(result.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
