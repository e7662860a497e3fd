"""The quick look (sim.Runs): a few scenarios on shared seeds, a paired summary on the decision metric, a plot."""

from __future__ import annotations

import matplotlib
import pandas as pd
import pytest

import sim
from sim import decision, simulate
from sim.batch.runs import replicate_seeds
from sim.errors import InputError

matplotlib.use("Agg")
SMALL = {"n_communities": 12, "months": 40}  # to October 2026: P1 (2024-26) has run


@pytest.fixture(scope="module")
def runs():
    return sim.Runs(["baseline", "talent_foundation"], n_runs=3, seed=7, **SMALL).run()


def test_runs_share_seeds_and_each_run_is_the_one_simulate_gives(runs):
    assert runs.seeds == replicate_seeds(7, 3)
    table = runs.table
    assert set(table["scenario"]) == {"baseline", "talent_foundation"}
    one = table[(table["scenario"] == "talent_foundation") & (table["replicate"] == 1)].reset_index(drop=True)
    expected = simulate("talent_foundation", seed=runs.seeds[1], overrides=SMALL)
    pd.testing.assert_frame_equal(one[expected.columns], expected)


def test_summary_is_paired_and_uses_the_decision_metric(runs):
    summary = runs.summary()
    assert set(summary["scenario"]) == {"talent_foundation"}
    overall = summary[(summary["kind"] == "score") & (summary["measure"] == "overall")].iloc[0]
    # Runs to month 40 are too short for equal exposure: the calendar period from January 2024 to the runs' end.
    s = decision.settings().in_mode("calendar").with_overrides(end_month=40)
    effects = decision.integrated_effects(runs.table, "baseline", [o for o in sim.columns.decision_outcomes()], s)
    expected = decision.scores(effects, s)["overall"]
    assert overall["mean"] == pytest.approx(expected.mean())
    assert overall["ci_low"] < overall["mean"] < overall["ci_high"] and overall["n"] == 3
    end = summary[(summary["kind"] == "difference at end") & (summary["measure"] == "idle_rate")].iloc[0]
    last = runs.table[runs.table["month"] == 40].pivot_table(index="replicate", columns="scenario", values="idle_rate")
    assert end["mean"] == pytest.approx(100 * (last["talent_foundation"] - last["baseline"]).mean())
    assert end["unit"] == "percentage points of cadres" and end["better"] == "lower"


def test_plot_draws_one_panel_per_outcome_with_the_program_window(runs):
    fig = runs.plot(["idle_rate", "mean_competence"])
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["Idle rate", "Mean competence"]
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert "talent_foundation" in labels
    matplotlib.pyplot.close(fig)


def test_bad_input_is_an_input_error():
    with pytest.raises(InputError, match="n_runs"):
        sim.Runs(["baseline"], n_runs=0)
    with pytest.raises(InputError, match="listed twice"):
        sim.Runs(["baseline", "baseline"])
    with pytest.raises(InputError, match=r"call \.run"):
        sim.Runs(["baseline", "talent_foundation"]).summary()
    with pytest.raises(InputError, match="unknown parameter"):
        sim.Runs(["baseline"], no_such=1)
