"""Scaling benchmark: set-up time, run time, cadre-months per second and peak memory by size.

Each size runs in its own subprocess (one core, so peak RSS is that run's alone) over the
default horizon (June 2023 to December 2030). Writes benchmarks/results/scaling.csv and a
log-log plot of run time against size, and prints the 1,000-community throughput last.

    .venv/bin/python benchmarks/scaling.py                 # 100, 1,000, 10,000, 110,000
    .venv/bin/python benchmarks/scaling.py --sizes 100 1000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SCENARIO = HERE.parent / "data" / "scenarios" / "baseline.yaml"


def measure_one(n_communities: int, seed: int) -> dict:
    """Run once in this process and return the measurements."""
    from sim.model import CadreModel
    from sim.scenario import load_scenario

    scenario = load_scenario(SCENARIO, {"n_communities": n_communities})
    started = time.perf_counter()
    model = CadreModel(scenario, seed)
    setup = time.perf_counter() - started
    started = time.perf_counter()
    model.run_for(scenario.parameters.months)
    run = time.perf_counter() - started
    cadre_months = int(sum(r["cadres"] for r in model.records[1:]))
    return {
        "communities": n_communities,
        "cadres_start": int(model.records[0]["cadres"]),
        "months": scenario.parameters.months,
        "setup_s": setup,
        "run_s": run,
        "cadre_months": cadre_months,
        "cadre_months_per_s": cadre_months / run,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000, 110000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: measure one size, print JSON
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure_one(args.one, args.seed)))
        return
    rows = []
    for size in args.sizes:
        done = subprocess.run(
            ["taskset", "-c", "0", sys.executable, __file__, "--one", str(size), "--seed", str(args.seed)],
            capture_output=True,
            text=True,
            check=True,
        )
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(
            f"{size:>7} communities: set-up {row['setup_s']:6.2f} s, run {row['run_s']:7.2f} s, "
            f"{row['cadre_months_per_s'] / 1e6:5.2f} M cadre-months/s, peak {row['peak_rss_mb']:7.0f} MB",
            flush=True,
        )
    table = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "scaling.csv", index=False)
    big = table[table.communities >= 1000]
    if len(big) >= 2:
        slope = np.polyfit(np.log(big.communities), np.log(big.run_s + big.setup_s), 1)[0]
        print(f"log-log slope of total time vs size (>= 1,000 communities): {slope:.3f}")
    _plot(table, args.out / "scaling.png")
    one_k = table[table.communities == 1000]
    if len(one_k):
        print(f"throughput at 1,000 communities: {one_k.cadre_months_per_s.iloc[0]:,.0f} cadre-months per second")


def _plot(table: pd.DataFrame, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot")
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(table.communities, table.run_s + table.setup_s, "o-", label="set-up + run")
    ax.loglog(table.communities, table.run_s, "s--", label="run")
    ax.set_xlabel("communities (about 12.3 cadres each)")
    ax.set_ylabel("wall time (s), one core")
    ax.set_title("Model time against size, June 2023 - December 2030")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"plot written to {path}")


if __name__ == "__main__":
    main()
