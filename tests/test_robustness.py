"""The robustness analysis's statistics, through the functions the report uses (sim.robustness).

- Sobol: SALib's Saltelli sample of the Ishigami function (a = 7, b = 0.1), whose indices are
  known analytically (Ishigami & Homma 1990; Saltelli et al. 2008): S1 = 0.314, 0.442, 0 and
  ST = 0.558, 0.442, 0.244.
- Morris: the Ishigami function's known structure (x2 enters alone and evenly, so mu is about 0
  while mu* is large; x3 acts only with x1, so its sigma is large; a dummy input has mu* = 0), and
  a linear function whose elementary effects are its coefficients times the ranges.
- PRIM: synthetic futures where a known box decides the outcome.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample
from SALib.test_functions import Ishigami

from sim import robustness
from sim import robustness as rb
from sim.errors import InputError

PI = np.pi
ISHIGAMI = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-PI, PI]] * 3}


def test_sobol_indices_match_the_ishigami_function():
    X = sobol_sample.sample(ISHIGAMI, 2048, calc_second_order=False, seed=1)
    Y = Ishigami.evaluate(X)
    ok = np.ones(len(Y), dtype=bool)
    ok[7] = False  # a failed run: its Saltelli block (rows 5-9) is dropped, the rest still estimate the indices
    found = robustness.sobol_indices(ISHIGAMI, Y, ok, bootstrap=200, seed=2).set_index("parameter")
    assert found["blocks"].iloc[0] == 2047
    np.testing.assert_allclose(found["S1"], [0.314, 0.442, 0.0], atol=0.04)
    np.testing.assert_allclose(found["ST"], [0.558, 0.442, 0.244], atol=0.04)
    assert (found["ST_conf"] < 0.1).all()


def test_sobol_refuses_when_almost_every_block_failed():
    X = sobol_sample.sample(ISHIGAMI, 8, calc_second_order=False, seed=1)
    ok = np.zeros(len(X), dtype=bool)
    ok[:5] = True
    with pytest.raises(InputError, match="complete Saltelli blocks"):
        robustness.sobol_indices(ISHIGAMI, Ishigami.evaluate(X), ok)


def test_morris_indices_show_the_ishigami_structure():
    problem = {"num_vars": 4, "names": ["x1", "x2", "x3", "dummy"], "bounds": [[-PI, PI]] * 4}
    X = morris_sample.sample(problem, 200, num_levels=4, seed=3)
    Y = Ishigami.evaluate(X[:, :3])
    ok = np.ones(len(Y), dtype=bool)
    ok[12] = False  # one failed run: its trajectory (rows 10-14) is dropped
    found = robustness.morris_indices(problem, X, Y, ok, levels=4, seed=4).set_index("parameter")
    assert found["trajectories"].iloc[0] == 199
    assert found.loc["dummy", "mu_star"] == 0.0 and found.loc["dummy", "sigma"] == 0.0
    assert min(found.loc[["x1", "x2", "x3"], "mu_star"]) > 1.0
    assert abs(found.loc["x2", "mu"]) < 0.2 * found.loc["x2", "mu_star"]  # symmetric: effects cancel in mu
    assert found.loc["x3", "sigma"] > found.loc["x3", "mu_star"]  # acts only through its interaction with x1


def test_morris_elementary_effects_of_a_linear_function_are_its_slopes():
    problem = {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[0, 1], [0, 10], [5, 6]]}
    X = morris_sample.sample(problem, 10, num_levels=4, seed=5)
    Y = 2 * X[:, 0] - 0.5 * X[:, 1] + 0 * X[:, 2]
    found = robustness.morris_indices(problem, X, Y, np.ones(len(Y), dtype=bool), levels=4).set_index("parameter")
    # SALib's elementary effect is the change per unit of the normalised [0, 1] input: slope x range.
    np.testing.assert_allclose(found["mu"], [2.0, -5.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(found["sigma"], [0.0, 0.0, 0.0], atol=1e-9)


def test_prim_finds_a_known_box():
    rng = np.random.default_rng(6)
    x = pd.DataFrame(rng.random((600, 4)), columns=["a", "b", "c", "d"])
    y = ((x["a"] < 0.3) & (x["b"] > 0.6)).to_numpy()
    pure = robustness.prim_box(x, y, threshold=0.95)  # a pure box is the true one
    assert set(pure.limits) == {"a", "b"}
    assert pure.limits["a"][1] == pytest.approx(0.3, abs=0.03) and pure.limits["b"][0] == pytest.approx(0.6, abs=0.03)
    assert pure.density >= 0.95 and pure.coverage > 0.8
    loose = robustness.prim_box(x, y, threshold=0.8)  # a lower density buys coverage with the same two restrictions
    assert set(loose.limits) == {"a", "b"} and loose.density >= 0.8 and loose.coverage >= pure.coverage


def test_prim_finds_no_box_in_noise_however_dense_peeling_gets():
    rng = np.random.default_rng(8)
    x = pd.DataFrame(rng.random((96, 40)), columns=[f"x{i}" for i in range(40)])  # few futures, many inputs
    y = rng.random(96) < 0.15  # wins unrelated to any input
    assert robustness.prim_box(x, y, threshold=0.8, significance=1.0) is not None  # untested, peeling finds a dense box
    assert robustness.prim_box(x, y, threshold=0.8) is None  # no restriction is significant


def test_without_a_box_the_screen_says_how_often_the_challenger_wins_and_that_it_is_diffuse():
    from sim.lang import set_language

    set_language("en")
    prim = pd.DataFrame({"regime": ["sustain", "decay", "sustain", "decay"], "leader": "P1",
                         "challenger": ["P2", "P2", "P3", "P3"], "share_of_futures": [0.0, 0.0, 0.114, 0.177]})  # fmt: skip
    said = rb._no_box_sentence(prim)
    assert said.startswith("- P3 has the higher mean score") and "11%–18%" in said and "quasi-p ≤ 0.05" in said
    assert rb._no_box_sentence(prim.assign(share_of_futures=0.0)).startswith("- No other program beats the leader")


def test_prim_sentence_names_the_restrictions_in_plain_words():
    box = robustness.Box({"training_gain": (0.8, 1.2), "mentor_effect": (0.5, 1.0)}, 0.7, 0.9, 0.2)
    text = box.sentence("P3", "P1", "sustain")
    assert text.startswith("P3 beats P1 (sustain) when training_gain < 1.2 and mentor_effect > 0.5")
    assert "coverage 70%" in text and "density 90%" in text


def test_prim_figure_of_a_box_with_a_choice_shows_only_the_futures_with_its_choices():
    from sim import figures

    rng = np.random.default_rng(3)
    structures = rng.choice(["frontline", "quality", "serial"], 40)
    futures = pd.DataFrame({
        "regime": "sustain", "challenger": "P3", "capacity_structure": structures,
        "exit_rate_base": rng.uniform(0.09, 0.175, 40), "training_rate_base": rng.uniform(0.1, 0.5, 40),
        "challenger_wins": structures == "quality",
    })  # fmt: skip
    prim = pd.DataFrame([{"regime": "sustain", "leader": "P1", "challenger": "P3", "coverage": 1.0, "density": 0.9,
                          "restrictions": "capacity_structure: quality|serial; exit_rate_base: 0.1..0.15"}])  # fmt: skip
    morris = pd.DataFrame({"parameter": ["capacity_structure", "training_rate_base", "exit_rate_base"], "rank": [1, 2, 3]})
    [(name, fig)] = rb.prim_figures({"prim": prim, "futures": futures, "morris": morris}, figures)
    ax = fig.axes[0]
    assert name == "prim_sustain_P3" and "capacity_structure ∈ {quality, serial}" in ax.get_title()
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("exit_rate_base", "training_rate_base")  # the choice is not an axis
    assert sum(len(c.get_offsets()) for c in ax.collections) == np.isin(structures, ["quality", "serial"]).sum()


def test_variance_shares_separate_parameters_from_noise():
    rng = np.random.default_rng(7)
    futures, seeds = 400, 2
    level = rng.normal(0, 2.0, futures)  # parameter variance 4
    rows = [{"regime": "sustain", "contrast": "P1-P2", "design_point": i, "replicate": r, "value": level[i] + rng.normal(0, 1.0)}
            for i in range(futures) for r in range(seeds)]  # fmt: skip
    found = robustness.variance_shares(pd.DataFrame(rows)).iloc[0]
    assert found["var_noise"] == pytest.approx(1.0, rel=0.15)
    assert found["var_parameters"] == pytest.approx(4.0, rel=0.2)
    assert found["share_parameters"] == pytest.approx(0.8, abs=0.05)


def test_regret_and_the_robust_choices_by_hand():
    scores = pd.DataFrame(
        [
            {"regime": "sustain", "program": p, "design_point": i, "replicate": 0, "overall": v}
            for i, row in enumerate([(3, 2, 0), (3, 2, 0), (0.5, 2, 1)])
            for p, v in zip(("P1", "P2", "P3"), row, strict=True)
        ]
    )
    table = robustness.regret_table(scores).set_index("program")  # a future's score: the mean over its seeds (and modes)
    # Regret in the three futures: P1 0, 0, 1.5; P2 1, 1, 0; P3 3, 3, 1.
    assert table.loc["P1", "max_regret"] == 1.5 and table.loc["P2", "max_regret"] == 1 and table.loc["P3", "max_regret"] == 3
    assert table.loc["P1", "expected_score"] == pytest.approx(6.5 / 3) and table["expected_value_choice"].iloc[0] == "P1"
    assert table["minimax_regret_choice"].iloc[0] == "P2"  # the robust choice differs from the expected-value one


def wilson(successes: float, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson's score interval, written out (Wilson 1927; Agresti & Coull 1998, eq. 2)."""
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_p_best_interval_counts_each_draw_of_the_assumptions_once():
    # 20 design points x 3 seeds: P1 wins every seed of 18 points, P2 every seed of 2.
    rows = [
        {"regime": "sustain", "program": p, "design_point": i, "replicate": r,
         "overall": ({"P1": 2.0, "P2": 1.0, "P3": 0.0} if i < 18 else {"P1": 0.0, "P2": 2.0, "P3": 1.0})[p]}
        for i in range(20) for r in range(3) for p in ("P1", "P2", "P3")
    ]  # fmt: skip
    table = robustness.p_best_table(pd.DataFrame(rows).assign(mode="equal_exposure"), "parameters and seeds").set_index("program")
    assert table.loc["P1", "p_best"] == pytest.approx(0.9) and table.loc["P3", "p_best"] == 0.0
    assert table["futures"].iloc[0] == 60 and table["independent_draws"].iloc[0] == 20  # not 60: seeds share a draw
    for program, wins in (("P1", 18), ("P2", 2), ("P3", 0)):
        assert table.loc[program, ["p_best_low", "p_best_high"]].tolist() == pytest.approx(wilson(wins, 20))
    assert table.loc["P3", "p_best_high"] > 0.1  # never won in 20 draws is not "never wins"


def test_p_best_interval_with_the_assumptions_held_counts_the_seeds():
    rows = [
        {"regime": "decay", "program": p, "design_point": 0, "replicate": r,
         "overall": {"P1": 1.0, "P2": 0.0, "P3": 0.5}[p] if r % 4 else {"P1": 0.0, "P2": 0.0, "P3": 1.0}[p]}
        for r in range(40) for p in ("P1", "P2", "P3")
    ]  # fmt: skip
    table = robustness.p_best_table(pd.DataFrame(rows).assign(mode="equal_exposure"), "seeds only").set_index("program")
    assert table["independent_draws"].iloc[0] == 40 and table.loc["P1", "p_best"] == pytest.approx(0.75)
    assert table.loc["P1", ["p_best_low", "p_best_high"]].tolist() == pytest.approx(wilson(30, 40))
    assert robustness.share_with_interval(0.75, *wilson(30, 40)) == "75% [60–86%]"


def test_leaders_name_the_decisive_assumption_by_sobol_first_in_the_reports_regime_order():
    """Per regime the leader and runner-up come from the expected scores; Sobol's total index names the decisive
    assumption where the regime had a Sobol analysis, Morris mu* elsewhere; overlapping intervals say 'not separated';
    Morris mu gives the direction as leader minus runner-up; rows follow sustain, decay, revert."""
    from sim.lang import language

    scores = pd.DataFrame(
        [
            {"regime": regime, "program": p, "design_point": i, "replicate": 0, "overall": v + (i if p == "P1" else 0)}
            for regime, row in (("revert", (1, 0, 2)), ("sustain", (3, 0, 1)), ("decay", (0, 2, 1)))
            for i in range(2)
            for p, v in zip(("P1", "P2", "P3"), row, strict=True)
        ]
    )
    regret = pd.concat([robustness.regret_table(block).assign(regime=r) for r, block in scores.groupby("regime")])
    contrasts = [f"{a}-{b}" for a, b in robustness.CONTRASTS]
    morris = pd.DataFrame(
        [{"regime": r, "contrast": c, "parameter": name, "mu_star": abs(mu), "mu": mu, "mu_star_conf": 0.1}
         for r in robustness.REGIMES for c in contrasts for name, mu in (("a", 1.0), ("b", -2.0))]
    )  # fmt: skip
    sobol = pd.DataFrame([{"regime": "sustain", "contrast": c, "parameter": n, "ST": st, "ST_conf": conf} for c in contrasts
                          for n, st, conf in (("a", 0.6, 0.3), ("b", 0.1, 0.25))])  # fmt: skip
    p_best = pd.DataFrame(columns=["regime", "uncertainty", "program", "p_best"])
    variance = pd.DataFrame(columns=["regime", "contrast", "share_parameters"])
    tables = {"regret": regret, "p_best": p_best, "variance": variance, "morris": morris, "sobol": sobol}
    lead = robustness.leaders(tables).set_index("regime")
    assert list(lead.index) == ["sustain", "decay", "revert"]
    assert lead.loc["sustain", ["leader", "runner_up"]].tolist() == ["P1", "P3"]
    assert lead.loc["revert", ["leader", "runner_up"]].tolist() == ["P3", "P1"]  # expected score: P3 2, P1 1.5
    assert lead.loc["decay", ["leader", "runner_up"]].tolist() == ["P2", "P3"]
    assert lead.loc["sustain", ["decisive", "decisive_by", "decisive_tied"]].tolist() == ["a", "Sobol total index", "b"]
    assert lead.loc["decay", ["decisive", "decisive_by", "decisive_tied"]].tolist() == ["b", "Morris mu*", None]
    # Morris mu of a is +1 on P1-P3 (sustain: P1 leads P3), of b -2 on P2-P3 (decay: P2 leads P3) and on P1-P3
    # (revert: P3 leads P1, so the sign turns).
    assert lead["decisive_direction"].to_dict() == {"sustain": 1, "decay": -1, "revert": 1}
    row = next(lead.reset_index().itertuples())
    assert robustness.decisive_text(row) == (
        "`a` (Sobol total index; not separated from `b`); a higher value widens P1's lead over P3"
    )
    with language("zh"):
        assert robustness.index_name("Sobol total index") == "Sobol 总效应指数"


def test_every_assumption_is_sampled_and_fitted_ones_are_not():
    config = robustness.load_config()
    names = robustness.assumptions(config)
    assert "investment_half_life_years" in names and "exit_rate_base" not in names and "n_communities" not in names
    tiny = config.scaled("tiny")
    assert set(robustness.assumptions(tiny)) == set(tiny.parameters)
    points = robustness.lhs_points(tiny, robustness.assumptions(tiny))
    assert len(points) == tiny.samples
    for name in tiny.parameters:  # a Latin hypercube: one point in each of the `samples` equal slices of each range
        low, high = robustness.catalogue()[name].range
        slices = np.floor((np.array([p[name] for p in points]) - low) / (high - low) * tiny.samples)
        assert sorted(slices.astype(int)) == list(range(tiny.samples)), name


def test_cli_refuses_an_unknown_scale_in_one_line():
    from conftest import invoke_cli

    result = invoke_cli(("robustness", "--scale", "huge"))
    assert result.returncode == 2 and "scale = 'huge'" in result.stderr and "Traceback" not in result.stderr


def test_config_errors_name_the_field(tmp_path):
    path = tmp_path / "robustness.yaml"
    path.write_text("sobol: {samples: 100}\n", encoding="utf-8")
    with pytest.raises(InputError, match="power of 2"):
        robustness.load_config(path)
    path.write_text("propagation: {sampels: 10}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"unknown field .propagation\.sampels."):
        robustness.load_config(path)


def test_a_regret_too_small_to_show_is_not_shown_as_none():
    from sim.report.tables import at_least_zero

    assert at_least_zero(0.0) == "0.000"  # best in every future
    assert at_least_zero(0.00046) == "<0.001"  # not best everywhere, by a hair: not "0.000"
    assert at_least_zero(0.0016) == "0.002" and at_least_zero(float("nan")) == "–"


# --- the answer in words, and every deciding choice -----------------------------------------------
def test_a_share_below_eighty_percent_gives_the_depending_on_sentence():
    """A synthetic analysis: P1 best in 56% of futures, P3 in 44%, the leader flipping with the reading: the words
    name both programs and the deciding choice, never 'fund P1'."""
    from sim.lang import language

    breakdown = pd.DataFrame(
        [
            {"regime": "sustain", "choice": "training_evidence", "level": level, "program": prog, "p_best": p,
             "p_best_low": 0.0, "p_best_high": 1.0, "independent_draws": 20, "leader": leader}
            for level, leader, shares in (("system", "P3", {"P1": 0.3, "P2": 0.0, "P3": 0.7}),
                                          ("training", "P1", {"P1": 0.82, "P2": 0.0, "P3": 0.18}))
            for prog, p in shares.items()
        ]
        + [
            {"regime": "sustain", "choice": "mode", "level": level, "program": prog, "p_best": p, "p_best_low": 0.0,
             "p_best_high": 1.0, "independent_draws": 40, "leader": "P1"}
            for level in ("equal_exposure", "calendar") for prog, p in {"P1": 0.56, "P2": 0.0, "P3": 0.44}.items()
        ]
    )  # fmt: skip
    deciding = rb.deciding_choices(breakdown, "sustain")
    assert [choice for choice, _ in deciding] == ["training_evidence"]  # the mode does not change the leader
    said = rb.verdict({"P1": 0.56, "P2": 0.0, "P3": 0.44}, deciding)
    assert said.startswith("**P1 or P3, depending on**") and "the reading of F01/F02" in said and "system: P3" in said
    assert "Neither is best in 80%" in said
    with language("zh"):
        chinese = rb.verdict({"P1": 0.56, "P2": 0.0, "P3": 0.44}, deciding)
    assert "P1 或 P3,取决于".replace(",", "，") in chinese and "选育管用全链条：P3" in chinese
    assert rb.verdict({"P1": 0.9, "P2": 0.02, "P3": 0.08}, deciding).startswith("**P1** is best in 90%")


def test_p_best_pools_evaluation_modes_and_counts_each_future_once():
    scores = pd.DataFrame(
        [
            {"mode": mode, "regime": "sustain", "program": prog, "design_point": point, "replicate": rep, "overall": value}
            for point in range(4) for rep in range(2) for mode in ("equal_exposure", "calendar")
            for prog, value in {"P1": 1.0, "P2": 0.0, "P3": 2.0 if (point == 0 and mode == "calendar") else 0.5}.items()
        ]
    )  # fmt: skip
    table = rb.p_best_table(scores, "parameters and seeds").set_index("program")
    assert table.loc["P3", "p_best"] == pytest.approx(1 / 8)  # one future of four, in one mode of two
    assert table.loc["P1", "independent_draws"] == 4
    by_mode = rb.p_best_table(scores, "parameters and seeds", by="mode").set_index(["mode", "program"])
    assert by_mode.loc[("calendar", "P3"), "p_best"] == pytest.approx(1 / 4)
    assert by_mode.loc[("equal_exposure", "P3"), "p_best"] == 0.0
