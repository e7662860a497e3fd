"""Before/after speed of two source trees, measured interleaved in one time window on one core.

For a fair comparison on a shared machine, each repetition runs every tree in turn (so a
busy spell slows both), each command pinned to one core with `taskset -c 0`, and the best
of the repetitions counts. For every measurement the machine's load is recorded: the
1-minute load average and the CPU seconds that other processes used meanwhile (all busy
time from /proc/stat minus this measurement's own). The command's own CPU seconds are
recorded too: on a busy machine, where other work shares the pinned core, runs per CPU
second is the steadier figure (on an idle core it equals runs per wall second, less the
wait for the disk).

Measurements (`--what`):
  batch     `sim batch` of compare_programs (5 scenarios x `--replicates`, 100 communities,
            all months kept, `--workers 1`), wall time of the whole command: runs per second
  run1000   one run of baseline at 1,000 communities: cadre-months per second of `run_for`
  national  one run of baseline at 110,000 communities: set-up + run seconds, peak memory

A tree is LABEL=PATH, PATH a folder holding the `sim` package (e.g. a checkout's src/);
the same virtual environment runs every tree, with PYTHONPATH=PATH first.

    git archive 025bd04 | tar -x -C /tmp/before
    .venv/bin/python benchmarks/speed_compare.py --tree before=/tmp/before/src --tree after=src --what batch run1000
    .venv/bin/python benchmarks/speed_compare.py --tree after=src --what national --repeats 1

Appends one JSON line per measurement to benchmarks/results/speed_compare.jsonl and prints
a summary (best per tree and measurement).
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
from datetime import UTC, datetime
from pathlib import Path

import psutil
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SPEC = ROOT / "experiments" / "compare_programs.yaml"
SCENARIO = ROOT / "data" / "scenarios" / "baseline.yaml"
ONE_RUN = """
import json, resource, sys, time
from sim.model import CadreModel
from sim.scenario import load_scenario
scenario = load_scenario(sys.argv[1], {"n_communities": int(sys.argv[2])})
started = time.perf_counter()
model = CadreModel(scenario, 0)
setup = time.perf_counter() - started
started = time.perf_counter()
model.run_for(scenario.parameters.months)
run = time.perf_counter() - started
cadre_months = int(sum(r["cadres"] for r in model.records[1:]))
print(json.dumps({"setup_s": setup, "run_s": run, "cadre_months": cadre_months,
                  "cadre_months_per_s": cadre_months / run,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _busy() -> float:
    """CPU seconds all processes on the machine have used so far."""
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(command: list[str], src: Path) -> dict:
    """Run `command` on core 0 with `src` first on the path; wall time, its output and the machine's load."""
    env = dict(os.environ, PYTHONPATH=str(src.resolve()))
    load = os.getloadavg()[0]
    busy, ours = _busy(), _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(["taskset", "-c", "0", *command], cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    cpu = _children_cpu() - ours
    others = (_busy() - busy) - cpu
    return {"wall_s": wall, "cpu_s": cpu, "stdout": done.stdout, "load_1min": load, "others_cpu_s": round(others, 2)}


def batch_spec(folder: Path, replicates: int) -> Path:
    raw = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    raw["replicates"] = replicates
    path = folder / "speed_batch.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def measure(what: str, src: Path, folder: Path, replicates: int) -> dict:
    if what == "batch":
        spec = batch_spec(folder, replicates)
        out = Path(tempfile.mkdtemp(dir=folder))
        m = timed([sys.executable, "-m", "sim.cli", "batch", str(spec), "--workers", "1", "--quiet", "--out", str(out)], src)
        runs = 5 * replicates
        return m | {"runs": runs, "runs_per_s": runs / m["wall_s"], "runs_per_cpu_s": runs / m["cpu_s"]}
    size = 1000 if what == "run1000" else 110_000
    m = timed([sys.executable, "-c", ONE_RUN, str(SCENARIO), str(size)], src)
    return m | {"communities": size} | json.loads(m["stdout"].strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", action="append", required=True, help="LABEL=PATH to a folder holding the sim package")
    parser.add_argument("--what", nargs="+", default=["batch", "run1000"], choices=["batch", "run1000", "national"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--replicates", type=int, default=30, help="replicates per scenario in the batch (5 scenarios)")
    args = parser.parse_args()
    trees = dict(t.split("=", 1) for t in args.tree)
    log = HERE / "results" / "speed_compare.jsonl"
    log.parent.mkdir(exist_ok=True)
    results: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for what in args.what:
                for label, path in trees.items():
                    m = measure(what, Path(path), Path(tmp), args.replicates)
                    m.pop("stdout")
                    row = {
                        "when": datetime.now(UTC).isoformat(timespec="seconds"),
                        "tree": label,
                        "what": what,
                        "repeat": repeat,
                    } | m
                    results.append(row)
                    with log.open("a") as f:
                        f.write(json.dumps(row) + "\n")
                    print(json.dumps(row), flush=True)
    _summary(results)


def _summary(results: list[dict]) -> None:
    """Best (fastest) measurement per tree and kind, with the load it ran under."""
    print("\nbest of repetitions:")
    for what in dict.fromkeys(r["what"] for r in results):
        for label in dict.fromkeys(r["tree"] for r in results):
            mine = [r for r in results if r["what"] == what and r["tree"] == label]
            best = min(mine, key=lambda r: r["wall_s"])
            figure = (
                f"{best['runs_per_s']:.2f} runs/s, {max(r['runs_per_cpu_s'] for r in mine):.2f} runs per CPU s"
                if what == "batch"
                else f"{best['cadre_months_per_s'] / 1e6:.2f} M cadre-months/s, set-up+run "
                f"{best['setup_s'] + best['run_s']:.1f} s, peak {best['peak_rss_mb']:.0f} MB"
            )
            print(
                f"  {what:9} {label:8} {figure}  (wall {best['wall_s']:.1f} s, load {best['load_1min']:.2f}, "
                f"others' CPU {best['others_cpu_s']:.1f} s)"
            )


if __name__ == "__main__":
    main()
