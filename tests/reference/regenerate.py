"""Rewrite tests/reference/*_seed7_n50.parquet from the model as it is now (see README.md beside this file).

Run only in a commit that changes the model's behaviour on purpose, and say so in that commit:

    .venv/bin/python tests/reference/regenerate.py

Each file is `simulate("data/scenarios/<scenario>.yaml", seed=7, overrides={"n_communities": 50,
"persistence": "revert"})`, with `program_cost` stored as the model computed it before the
increment cost lines existed (minus P2's budget rise and P3's fund rise inside their windows),
so that tests/test_persistence.py keeps pinning that difference exactly.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from conftest import scenario_path  # noqa: E402
from sim import simulate  # noqa: E402
from test_persistence import SCENARIOS, increment_cost  # noqa: E402


def main() -> None:
    for scenario in SCENARIOS:
        table = simulate(scenario_path(scenario), seed=7, overrides={"n_communities": 50, "persistence": "revert"})
        table["program_cost"] = table["program_cost"] - increment_cost(table, scenario)
        path = HERE / f"{scenario}_seed7_n50.parquet"
        table.to_parquet(path, index=False)
        print(f"wrote {path.name}: {len(table)} months, {len(table.columns)} columns")


if __name__ == "__main__":
    main()
