"""Peak memory of a long end-of-horizon-only batch: does it stay flat as runs grow?

Runs `sim batch` as a subprocess (2 workers, --quiet) on an experiment of N runs (baseline
and all_programs, 50 communities, the full 90-month horizon, only the last month kept) and
samples the resident set size of the whole process tree (the batch, the forkserver and its
workers) every 0.1 s with psutil. Reports the peak of the tree's total and of the parent
alone, for each N. Writes benchmarks/results/batch_memory.json.

    .venv/bin/python benchmarks/batch_memory.py                  # 200 and 2,000 runs: about 4 minutes on 2 cores
    .venv/bin/python benchmarks/batch_memory.py --runs 100 400
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def measure(runs: int, folder: Path, workers: int) -> dict:
    spec = {
        "name": f"memory_{runs}",
        "scenarios": ["baseline", "all_programs"],
        "parameters": {"n_communities": 50},
        "replicates": runs // 2,
        "seed": 5,
        "outputs": {"months": "end"},
    }
    path = folder / f"memory_{runs}.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    command = [sys.executable, "-m", "sim.cli", "batch", str(path), "--out", str(folder / f"store_{runs}"), "--quiet"]
    command += ["--workers", str(workers)]
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    parent = psutil.Process(child.pid)
    peak_tree = peak_parent = 0
    while child.poll() is None:
        try:
            procs = [parent, *parent.children(recursive=True)]
            rss = []
            for proc in procs:
                try:
                    rss.append(proc.memory_info().rss)
                except psutil.NoSuchProcess:
                    rss.append(0)
            peak_tree = max(peak_tree, sum(rss))
            peak_parent = max(peak_parent, rss[0])
        except psutil.NoSuchProcess:
            pass
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    assert child.returncode == 0, child.stdout.read() if child.stdout else ""
    parts = len(list((folder / f"store_{runs}").glob("part-*.parquet")))
    return {
        "runs": runs,
        "seconds": elapsed,
        "peak_rss_tree_mb": peak_tree / 2**20,
        "peak_rss_parent_mb": peak_parent / 2**20,
        "parts": parts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, nargs="+", default=[200, 2000])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for runs in args.runs:
            results.append(measure(runs, Path(tmp), args.workers))
            print(json.dumps(results[-1]), flush=True)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "batch_memory.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
