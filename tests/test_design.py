"""The design search: the optimiser on a known front, packages as programs, costs, the budget, and resuming."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import design as ds
from sim.batch import load_results
from sim.model import CadreModel
from sim.policy import month_index
from sim.programs import standard_programs
from sim.scenario import load_scenario
from sim.search import search
from sim.simulate import simulate

TINY = ds.load_config().scaled("tiny")


def zdt1(x: np.ndarray) -> tuple[np.ndarray, None]:
    g = 1 + 9 * x[:, 1:].sum(axis=1) / (x.shape[1] - 1)
    return np.column_stack([x[:, 0], g * (1 - np.sqrt(x[:, 0] / g))]), None


def test_the_optimiser_finds_the_zdt1_front() -> None:
    """ZDT1's Pareto front is f2 = 1 - sqrt(f1) on [0, 1], with hypervolume 2/3 in the unit box."""
    history = search(zdt1, 10, ["min", "min"], population=50, generations=100, seed=3, bounds=([0, 0], [1, 1]))
    front = history[-1].front_f
    distance = np.abs(front[:, 1] - (1 - np.sqrt(front[:, 0])))
    assert len(front) >= 40 and distance.max() < 0.05 and distance.mean() < 0.01
    assert history[-1].hypervolume > 0.95 * 2 / 3 and history[0].hypervolume < history[-1].hypervolume
    assert front[:, 0].min() < 0.05 and front[:, 0].max() > 0.95  # the whole front, not a corner
    again = search(zdt1, 10, ["min", "min"], population=50, generations=100, seed=3, bounds=([0, 0], [1, 1]))
    assert np.array_equal(again[-1].front_f, front)  # same seed, same search


def test_maximised_objectives_and_constraints() -> None:
    """Maximising -f is minimising f; a solution breaking a constraint (here x0 >= 0.3) never reaches the front."""

    def flipped(x):
        f, _ = zdt1(x)
        return -f, (0.3 - x[:, :1])

    history = search(flipped, 10, ["max", "max"], population=40, generations=60, seed=5, constraints=1,
                     bounds=([-1, -1], [0, 0]))  # fmt: skip
    front = -history[-1].front_f
    assert front[:, 0].min() >= 0.3 - 1e-12
    assert np.abs(front[:, 1] - (1 - np.sqrt(front[:, 0]))).max() < 0.1


def test_packages_stay_between_the_status_quo_and_the_programs_targets() -> None:
    rng = np.random.default_rng(0)
    for x in [np.zeros(ds.dimensions()), np.ones(ds.dimensions()), *rng.random((50, ds.dimensions()))]:
        package = ds.decode(x, TINY)
        assert ds.FIRST_YEAR <= package.start <= package.end <= ds.LAST_YEAR
        assert package.end - package.start + 1 <= TINY.max_years
        for lever in ds.levers():
            reach = package.reach(lever)
            assert 0 <= reach <= 1 + 1e-9, lever.name
    assert ds.decode(np.zeros(ds.dimensions()), TINY).values == {}  # all at the status quo
    everything = ds.decode(np.ones(ds.dimensions()), TINY)
    assert everything.values == {lever.name: lever.target for lever in ds.levers()}
    row = {"start": everything.start, "end": everything.end, **{lv.name: everything.values[lv.name] for lv in ds.levers()}}
    assert ds.package_of(pd.Series(row)).key == everything.key  # a table row names the same package


def test_a_package_costs_its_programs_lines_in_proportion_to_reach_and_builds_at_full_cost() -> None:
    p1 = standard_programs()["talent_foundation"]
    same = ds.Package(dict(p1.levers), p1.start, p1.end).definition()
    for lever, setting in p1.settings.items():
        assert same["levers"][lever]["cost"][0]["central"] == pytest.approx(setting.cost[0].central)
    quo = ds.Lever("training_base_coverage", "numeric", 0.413, 0.8, "talent_foundation")
    half = ds.Package({"training_base_coverage": quo.status_quo + 0.5 * (quo.target - quo.status_quo)}, 2024, 2026)
    cost = half.definition()["levers"]["training_base_coverage"]
    assert cost["cost"][0]["central"] == pytest.approx(0.5 * 25000)
    assert cost["maintenance"][0]["central"] == pytest.approx(0.5 * 6000)
    one_year = ds.Package({"training_base_coverage": 0.8}, 2027, 2027).definition()["levers"]["training_base_coverage"]
    assert one_year["cost"][0]["central"] == pytest.approx(3 * 25000)  # built in one year: three years' worth that year
    fund = ds.Package({"honour_fund_coverage": 0.8}, 2027, 2027).definition()["levers"]["honour_fund_coverage"]
    assert fund["cost"][0]["central"] == pytest.approx(10000)  # recurring: yearly, whatever the window


def test_a_package_runs_as_a_program_with_its_levers_in_its_window() -> None:
    package = ds.Package({"mentor_trained_share": 0.64, "capability_bank": True, "funding_share": 0.0175}, 2026, 2027)
    scenario = load_scenario("baseline", {"n_communities": 20, "months": 60}).with_programs([package.program_entry()])
    model = CadreModel(scenario, seed=4)
    levers_at = {}
    for month in (month_index(2025, 12), month_index(2026, 6), month_index(2027, 12), month_index(2028, 2)):
        while model.month < month:
            model.step()
        levers_at[month] = (model.policy.levers, model.policy.switches["capability_bank"].all())
    inside, bank = levers_at[month_index(2026, 6)]
    assert (inside.mentor_trained_share, bank, inside.funding_share) == (0.64, True, 0.0175)
    assert levers_at[month_index(2025, 12)][0].funding_share == 0.005  # before the window: the status quo
    assert not levers_at[month_index(2025, 12)][1]
    assert levers_at[month_index(2028, 2)][0].funding_share == 0.005  # a recurring lever reverts after it
    assert levers_at[month_index(2028, 2)][1]  # an investment stays (sustain is the default)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[ds.Result, Path]:
    root = tmp_path_factory.mktemp("design")
    return ds.run(TINY, root=root, workers=1, log=lambda line: None), root


def test_a_packages_evaluation_matches_simulate_with_its_levers(tiny) -> None:
    result, _ = tiny
    key = result.evaluated["package"].iloc[0]
    package = ds.package_of(result.evaluated.set_index("package").loc[key].to_dict())
    table = load_results(result.store / "gen_000")
    run = table[(table["scenario"] == key) & (table["design_point"] == 0)].sort_values("month").reset_index(drop=True)
    point = ds.points(TINY, 1)[0]
    scenario = load_scenario("baseline", {**point, "n_communities": TINY.n_communities, "months": int(run["month"].max()),
                                          "persistence": TINY.regime}).with_programs([package.program_entry()])  # fmt: skip
    alone = simulate(scenario, int(run["seed"].iloc[0]))
    for column in ("mean_competence", "governance_capacity_index", "program_cost"):
        if column in run:
            np.testing.assert_array_equal(run[column].to_numpy(), alone[column].to_numpy())


def test_budget_breaking_packages_never_reach_the_front(tiny) -> None:
    result, _ = tiny
    assert result.front["within_budget"].all() and not result.front.empty
    tight = ds.Result(
        ds.replace(TINY, budget_yuan=float(result.evaluated["national"].median())),
        result.evaluated.assign(within_budget=result.evaluated["national"] <= result.evaluated["national"].median()),
        result.references, result.history, result.seconds, result.store,
    )  # fmt: skip
    assert (tight.front["national"] <= result.evaluated["national"].median()).all()
    for _, row in tight.front.iterrows():  # no feasible package beats a front package on every objective
        feasible = tight.evaluated[tight.evaluated["within_budget"]]
        assert not any(ds.dominates(other, row) for _, other in feasible.iterrows())
    assert set(result.references.index) == set(ds.COMBINATIONS)


def test_the_search_resumes_without_losing_evaluations(tmp_path: Path, tiny, monkeypatch) -> None:
    """Stopped (Ctrl-C) before its second generation, the search resumes: the first generation is read back, not run."""
    result, _ = tiny
    original = ds._Evaluator.__call__

    def stop_at_generation_one(self, x):
        if self.generation == 1:
            raise KeyboardInterrupt
        return original(self, x)

    monkeypatch.setattr(ds._Evaluator, "__call__", stop_at_generation_one)
    with pytest.raises(KeyboardInterrupt):
        ds.run(TINY, root=tmp_path, workers=1, log=lambda line: None)
    monkeypatch.setattr(ds._Evaluator, "__call__", original)
    runs = []
    from sim.batch import runner

    real = runner.run_experiment

    def counting(*args, **kwargs):
        report = real(*args, **kwargs)
        runs.append((Path(report.store).name, report.already_done, report.finished))
        return report

    monkeypatch.setattr(runner, "run_experiment", counting)
    monkeypatch.setattr("sim.batch.run_experiment", counting)
    resumed = ds.run(TINY, root=tmp_path, workers=1, log=lambda line: None)
    first = next(r for r in runs if r[0] == "gen_000")
    assert first[2] == 0 and first[1] > 0  # every run of generation 0 read back from its store
    pd.testing.assert_frame_equal(resumed.evaluated, result.evaluated)  # the same search as without the interruption
    assert math.isclose(resumed.history["hypervolume"].iloc[-1], result.history["hypervolume"].iloc[-1])


def test_the_chosen_packages_are_checked_against_the_programs(tiny) -> None:
    result, root = tiny
    picks = ds.chosen(result)
    assert picks and all(p.key in set(result.front["package"]) for p in picks.values())
    checks = ds.recheck(TINY, picks, root=root, workers=1)
    seeds = checks["seeds"].set_index("condition")
    assert {"P1", "P2", "P3", *(p.key for p in picks.values())} == set(seeds.index)
    assert (seeds.loc[["P1", "P2", "P3"], "lead"] <= 1e-12).all()  # no program beats the best of the three
    futures = checks["futures"]
    assert (futures["futures"] == TINY.check_futures).all() and futures["low"].le(futures["share"]).all()
    assert "Package" in ds.summary(result, picks, checks)
    line = ds.bottom_line(result, picks, checks)
    beats = (checks["seeds"].set_index("condition").loc[[p.key for p in picks.values()], "lead_low"] > 0).any()
    assert line.startswith("**Bottom line:**") and ("buy more" in line) == beats  # claims a gain only beyond noise


def test_bad_configuration_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "d.yaml"
    bad.write_text("population: 0\n", encoding="utf-8")
    with pytest.raises(ds.InputError, match=r"population = 0 must be a whole number from 4"):
        ds.load_config(bad)
    bad.write_text("regime: forever\n", encoding="utf-8")
    with pytest.raises(ds.InputError, match="regime"):
        ds.load_config(bad)
    with pytest.raises(ds.InputError, match="scale = 'huge'"):
        TINY.scaled("huge")
