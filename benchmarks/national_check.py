"""Does a weighted stratified sample reproduce a full run's totals within its sampling error?

Runs the whole population (default 20,000 communities, about 246,000 cadres) and a 10%
stratified sample of it from a different seed, and prints each total with the sample's
estimate, standard error and z = (full - estimate) / SE.

    .venv/bin/python benchmarks/national_check.py [--population 20000] [--sample 2000]
"""

from __future__ import annotations

import argparse
import time

from sim.national import full_totals, national_projection

SCENARIO = "data/scenarios/baseline.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--population", type=int, default=20_000)
    parser.add_argument("--sample", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    full = full_totals(SCENARIO, seed=args.seed, population=args.population)
    full_time = time.perf_counter() - started
    started = time.perf_counter()
    estimate = national_projection(SCENARIO, seed=args.seed + 1, sample=args.sample, population=args.population)
    sample_time = time.perf_counter() - started
    estimate["full_run"] = estimate.outcome.map(full)
    estimate["z"] = (estimate.full_run - estimate.estimate) / estimate.se
    print(f"full run of {args.population:,} communities: {full_time:.1f} s; sample of {args.sample:,}: {sample_time:.1f} s")
    print(estimate[["outcome", "full_run", "estimate", "se", "z"]].to_string(index=False, float_format=lambda x: f"{x:,.2f}"))
    inside = (estimate.z.abs() <= 1.96).sum()
    print(f"{inside} of {len(estimate)} totals within the sample's 95% interval")


if __name__ == "__main__":
    main()
