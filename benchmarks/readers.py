"""How long the store's readers take on a 10,000-run store, for two source trees side by side.

The store is the compare_programs experiment with 2,000 replicates per scenario (10,000 runs,
5 communities, every month kept: 910,000 rows). Running 10,000 real runs takes a long
time, so each scenario's first replicate is run for real and its rows are reused for the
others (with their own run id, replicate and seed): the file layout, journal and manifest
are exactly a batch's (50 runs per part, 200 parts), only the numbers repeat.

    .venv/bin/python benchmarks/readers.py build /tmp/readers-store
    git archive e830304 | tar -x -C /tmp/ref
    .venv/bin/python benchmarks/readers.py time /tmp/readers-store --tree ref=/tmp/ref/src --tree now=src

`time` runs, for each tree in turn (`--repeats` times, best counts, each in a fresh process
pinned to one core): `load_results`, `summarize`, `paired_differences` and `stored_run`,
and prints seconds per reader and tree. Results are appended to benchmarks/results/readers.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
READERS = {
    "load_results": "from sim.batch import load_results; load_results(STORE)",
    "summarize": "from sim.batch import summarize; summarize(STORE, ['mean_competence', 'idle_rate'])",
    "paired_differences": "from sim.batch import paired_differences; paired_differences(STORE)",
    "stored_run": "from sim.batch.runner import stored_run; stored_run(STORE, 'innovation_leap-0000-r1999')",
}


def build(out: Path, replicates: int = 2000) -> None:
    """Write the benchmark store into `out` (must not exist) with this checkout's batch code."""
    sys.path.insert(0, str(HERE.parent / "src"))
    from sim.batch.runner import _Batch
    from sim.batch.runs import RunResult, execute, plan_runs
    from sim.batch.spec import load_spec
    from sim.batch.store import ResultStore

    with tempfile.TemporaryDirectory() as tmp:
        spec_file = Path(tmp) / "readers.yaml"
        text = (HERE.parent / "experiments" / "compare_programs.yaml").read_text(encoding="utf-8")
        text = text.replace("name: compare_programs", "name: readers").replace("replicates: 30", f"replicates: {replicates}")
        spec_file.write_text(text + "parameters: {n_communities: 5}\n", encoding="utf-8")
        spec = load_spec(spec_file)
    tasks = plan_runs(spec)
    store = ResultStore.open(out, spec, resume=False)
    batch = _Batch(spec, tasks, store, True, 50, 10**9, 1e9, 0)
    batch.write_manifest()
    template = {}
    for task in tasks:
        if task.scenario_name not in template:
            template[task.scenario_name] = execute(task).rows
    for start in range(0, len(tasks), 50):
        results = []
        for task in tasks[start : start + 50]:
            rows = template[task.scenario_name].copy()
            rows["run_id"], rows["replicate"], rows["seed"] = task.run_id, task.replicate, task.seed
            results.append(RunResult(task.run_id, rows, 0.01, "benchmark"))
        part = store.write_part(results, 1)
        for result in results:
            batch.records[result.run_id].update(status="ok", part=part)
    batch._end_manifest(False)
    store.close()
    print(f"{len(tasks)} runs written to {out}")


def time_readers(store: Path, trees: dict[str, str], repeats: int) -> None:
    best: dict[tuple[str, str], float] = {}
    for _ in range(repeats):
        for label, tree in trees.items():
            for reader, code in READERS.items():
                program = (
                    "import time; STORE = " + repr(str(store)) + "\nstart = time.perf_counter()\n" + code
                    + "\nprint(time.perf_counter() - start)"
                )  # fmt: skip
                env = {**os.environ, "PYTHONPATH": tree}
                done = subprocess.run(
                    ["taskset", "-c", "0", sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True
                )
                seconds = float(done.stdout.strip().splitlines()[-1])
                key = (label, reader)
                best[key] = min(best.get(key, seconds), seconds)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with open(HERE / "results" / "readers.jsonl", "a", encoding="utf-8") as log:
        for (label, reader), seconds in best.items():
            log.write(json.dumps({"when": now, "tree": label, "path": trees[label], "reader": reader, "seconds": seconds}) + "\n")
    labels = list(trees)
    print(f"{'reader':20}" + "".join(f"{label:>12}" for label in labels) + ("   change" if len(labels) == 2 else ""))
    for reader in READERS:
        times = [best[(label, reader)] for label in labels]
        change = f"   {times[1] / times[0] - 1:+.1%}" if len(times) == 2 else ""
        print(f"{reader:20}" + "".join(f"{t:11.3f}s" for t in times) + change)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["build", "time"])
    parser.add_argument("store", type=Path)
    parser.add_argument("--tree", action="append", default=[], help="LABEL=PATH of a folder holding the sim package")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.what == "build":
        build(args.store)
    else:
        trees = dict(t.split("=", 1) for t in args.tree) or {"now": str(HERE.parent / "src")}
        time_readers(args.store, trees, args.repeats)


if __name__ == "__main__":
    main()
