"""The decision metric: which program to fund, how sure that is, and what it costs (docs/decision.md).

From a batch of monthly tables (conditions run on shared replicate seeds) to one answer:

1. **Effect paths.** Each condition minus the baseline, month by month, in the same
   replicate (and design point: the persistence regime, say).
2. **Integrated effect (per year).** The area between the two paths over the condition's
   evaluation window divided by its length in years: the average difference over the window,
   in the outcome's own units. The window depends on the mode (`MODES`; data/decision.yaml):
   by default *equal exposure*, the seven years from January of the condition's first program
   year. Its **discounted** form weights month m by (1 + r)^-(m - m0)/12 before averaging
   (m0 = the window's first month).
3. **Scores.** Each outcome's discounted integrated effect, signed so that better is
   positive and divided by its score scale (`data/outputs.yaml`: the improvement the
   article reports for that outcome), is averaged within its family; the **overall score**
   is the weighted mean of the family scores (`data/decision.yaml`). A score of 1 means the
   article's reported improvement in every outcome, sustained over the whole window.
4. **The answer.** Mean scores with 95% t-intervals over replicates, P(best) (the share of
   replicates in which a condition has the highest overall score), the leader's paired
   lead over the runner-up.
5. **Costs and value for money.** Discounted costs per community from every cost line
   (`sim.costs`), each line's price drawn between its low and high values; the efficiency
   frontier with incremental cost-effectiveness ratios (ICERs) and dominance; the
   cost-effectiveness acceptability curve.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.columns import FAMILIES, by_family, column
from sim.costs import line_quantities, line_table
from sim.errors import InputError
from sim.files import read_yaml
from sim.policy import month_index, year_of
from sim.programs import Program
from sim.resources import data_file
from sim.scenario import Scenario

DECISION_FILE = data_file("decision.yaml")
RUN_KEYS = ("scenario", "design_point", "replicate")
GROUP = "design_point"  # what conditions are compared within (a persistence regime, a parameter set)


# How each program's effects are scored in time (docs/decision.md, "When to evaluate"):
#   equal_exposure - every program over the same number of years from its own start (January of its
#                    first year), discounted to that start: no program gains from starting earlier;
#   calendar       - every program over one calendar period (2024-2030), discounted to its start;
#   horizon        - every program over a long common horizon (2024-2040), discounted to its start.
MODES = ("equal_exposure", "calendar", "horizon")
FIRST_MONTH, LAST_MONTH = 1, 600  # the months a run can have (data/parameters.yaml, months)


@dataclass(frozen=True)
class Settings:
    """How outcomes become a decision: discounting, when to evaluate, family weights, cost draws."""

    discount_rate: float = 0.05
    discount_range: tuple[float, float] = (0.0, 0.08)
    mode: str = "calendar"  # data/decision.yaml sets the project's default (equal_exposure); see MODES
    start_month: int = month_index(2024, 1)  # the calendar and horizon periods start here
    end_month: int = month_index(2030, 12)  # the calendar period ends here
    exposure_years: int = 7  # equal exposure: years from each program's start
    horizon_end_month: int = month_index(2040, 12)  # the long horizon ends here
    family_weights: Mapping[str, float] = field(default_factory=lambda: dict.fromkeys(FAMILIES, 1.0))
    national_communities: int = 110_000
    cost_draws: int = 200
    cost_seed: int = 20240101

    def window(self, programs: Sequence[Program] = ()) -> tuple[int, int]:
        """The first and last month (model months) over which a condition running `programs` is scored."""
        if self.mode == "calendar":
            return self.start_month, self.end_month
        if self.mode == "horizon":
            return self.start_month, self.horizon_end_month
        first = min((p.start for p in programs), default=year_of(self.start_month))
        start = month_index(first, 1)
        return start, start + 12 * self.exposure_years - 1

    def windows(self, scenarios: Mapping[str, Scenario]) -> dict[str, tuple[int, int]]:
        """Each scenario's scoring window (its own programs decide it under equal exposure)."""
        return {name: self.window(sc.programs) for name, sc in scenarios.items()}

    def last_month(self, scenarios: Mapping[str, Scenario]) -> int:
        """The month runs must reach to score every scenario in every mode's window they use."""
        return max(end for _, end in self.windows(scenarios).values())

    def in_mode(self, mode: str) -> Settings:
        return replace(self, mode=_mode(mode, "mode"))

    def with_overrides(self, discount_rate: float | None = None, family_weights: Mapping[str, float] | None = None,
                       end_month: int | None = None, mode: str | None = None, start_month: int | None = None,
                       exposure_years: int | None = None) -> Settings:  # fmt: skip
        """A copy with a report's or experiment's overrides (checked)."""
        out = self
        if discount_rate is not None:
            out = replace(out, discount_rate=_rate(discount_rate, "discount_rate"))
        if family_weights is not None:
            out = replace(out, family_weights=_weights(family_weights, "family_weights"))
        if mode is not None:
            out = replace(out, mode=_mode(mode, "evaluation mode"))
        if start_month is not None:
            out = replace(out, start_month=_month(start_month, "evaluation start"))
        if end_month is not None:
            month = _month(end_month, "evaluation end")
            out = replace(out, **{"horizon_end_month" if out.mode == "horizon" else "end_month": month})
        if exposure_years is not None:
            out = replace(out, exposure_years=_years(exposure_years, "exposure years"))
        if out.start_month > min(out.end_month, out.horizon_end_month):
            raise InputError(f"evaluation start (month {out.start_month}) is after its end; the period must run forwards")
        return out


def scorable(s: Settings, scenarios: Mapping[str, Scenario] | None, last_month: int) -> tuple[Settings, dict | None]:
    """Settings and windows that runs ending at `last_month` can score: `s` as it is when every scenario's window fits
    (`scenarios` known), else the calendar period from `s.start_month`, cut at `last_month` if it ends later."""
    if scenarios is not None:
        windows = s.windows(scenarios)
        if max(end for _, end in windows.values()) <= last_month:
            return s, windows
    calendar = replace(s, mode="calendar", end_month=min(s.end_month, last_month))
    return calendar, None


@functools.cache
def settings() -> Settings:
    """The settings in data/decision.yaml."""
    return load_settings(DECISION_FILE)


def load_settings(path: Path | str) -> Settings:
    raw = read_yaml(path)
    where = str(path)
    if not isinstance(raw, dict):
        raise InputError(f"{where}: expected a mapping")
    known = {"discount_rate", "evaluation", "family_weights", "national_communities", "cost_draws", "cost_seed"}
    unknown = set(raw) - known
    if unknown:
        raise InputError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(known))}")
    rate = raw["discount_rate"]
    evaluation = raw["evaluation"]
    return Settings(
        discount_rate=_rate(rate["default"], f"{where}: discount_rate.default"),
        discount_range=(float(rate["range"][0]), float(rate["range"][1])),
        mode=_mode(evaluation["mode"], f"{where}: evaluation.mode"),
        start_month=month_index(*evaluation["calendar"]["start"]),
        end_month=month_index(*evaluation["calendar"]["end"]),
        exposure_years=_years(evaluation["equal_exposure"]["years"], f"{where}: evaluation.equal_exposure.years"),
        horizon_end_month=month_index(*evaluation["horizon"]["end"]),
        family_weights=_weights(raw["family_weights"], f"{where}: family_weights"),
        national_communities=int(raw["national_communities"]),
        cost_draws=int(raw["cost_draws"]),
        cost_seed=int(raw["cost_seed"]),
    )


def _rate(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 0.5:
        raise InputError(f"{where} = {value!r} must be an annual rate between 0 and 0.5 (e.g. 0.05)")
    return float(value)


def _mode(value: Any, where: str) -> str:
    if value not in MODES:
        raise InputError(f"{where} = {value!r}: choose one of {', '.join(MODES)}")
    return str(value)


def _month(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not FIRST_MONTH <= value <= LAST_MONTH:
        raise InputError(f"{where} = {value!r} must be a model month from {FIRST_MONTH} (July 2023) to {LAST_MONTH}")
    return int(value)


def _years(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 1 <= value <= 40:
        raise InputError(f"{where} = {value!r} must be a whole number of years from 1 to 40")
    return int(value)


def _weights(raw: Any, where: str) -> dict[str, float]:
    if not isinstance(raw, Mapping):
        raise InputError(f"{where} must map each family ({', '.join(FAMILIES)}) to a non-negative weight")
    unknown = set(raw) - set(FAMILIES)
    if unknown:
        raise InputError(f"{where}: unknown family {sorted(unknown)[0]!r}; families: {', '.join(FAMILIES)}")
    weights = {}
    for family in FAMILIES:
        value = raw.get(family, 0)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < float("inf"):
            raise InputError(f"{where}.{family} = {value!r} must be a non-negative number")
        weights[family] = float(value)
    if sum(weights.values()) <= 0:
        raise InputError(f"{where}: at least one family needs a positive weight")
    return weights


# --- effects ------------------------------------------------------------------------------
def discount_weights(months: Sequence[int] | np.ndarray, s: Settings, window: tuple[int, int] | None = None) -> pd.Series:
    """Weight of each month in the integrated effect: (1 + r)^-(m - m0)/12 inside the window [m0, m1], 0 outside.

    `window` defaults to the calendar period (`s.start_month`, `s.end_month`).
    """
    months = np.asarray(months)
    first, last = window or (s.start_month, s.end_month)
    inside = (months >= first) & (months <= last)
    weights = np.where(inside, (1 + s.discount_rate) ** (-(months - first) / 12), 0.0)
    return pd.Series(weights, index=months, name="weight")


def effect_paths(table: pd.DataFrame, baseline: str, outcomes: Sequence[str]) -> pd.DataFrame:
    """Condition minus baseline, month by month, paired on design point and replicate.

    One row per (scenario, design_point, replicate, month) of every non-baseline scenario.
    """
    keys = ["design_point", "replicate", "month"]
    missing = [o for o in outcomes if o not in table.columns]
    if missing:
        raise InputError(f"outcome(s) {missing} are not in the results; keep every month of them in the experiment")
    if baseline not in set(table["scenario"]):
        raise InputError(f"baseline '{baseline}' is not a scenario in the results")
    data = table[["scenario", *keys, *outcomes]]
    base = data[data["scenario"] == baseline].drop(columns="scenario").set_index(keys)
    other = data[data["scenario"] != baseline].set_index(keys)
    diff = other[list(outcomes)] - base[list(outcomes)].reindex(other.index)
    diff.insert(0, "scenario", other["scenario"])
    return diff.reset_index().dropna(subset=list(outcomes))


def integrated_effects(
    table: pd.DataFrame,
    baseline: str,
    outcomes: Sequence[str],
    s: Settings,
    windows: Mapping[str, tuple[int, int]] | None = None,
) -> pd.DataFrame:
    """Per run pair and outcome: the integrated effect per year, plain and discounted (long format).

    Each condition is scored over its own window (`windows`: scenario -> (first, last month),
    from `Settings.windows`); without `windows`, every condition over the calendar period.
    Columns: scenario, design_point, replicate, outcome, integrated (average difference over
    the window, outcome units), discounted (its discount-weighted average, discounted to the
    window's start).
    """
    paths = effect_paths(table, baseline, outcomes)
    months = paths["month"].to_numpy()
    first, last = _window_columns(paths["scenario"], s, windows)
    _check_period(months, paths["scenario"], first, last)
    inside = ((months >= first) & (months <= last)).astype(float)
    weight = np.where(inside > 0, (1 + s.discount_rate) ** (-(months - first) / 12), 0.0)
    out = []
    for outcome in outcomes:
        d = paths[outcome].to_numpy()
        frame = paths[list(RUN_KEYS)].assign(plain=d * inside, disc=d * weight, n=inside, w=weight)
        sums = frame.groupby(list(RUN_KEYS), sort=False)[["plain", "disc", "n", "w"]].sum()
        out.append(
            pd.DataFrame(
                {"outcome": outcome, "integrated": sums["plain"] / sums["n"], "discounted": sums["disc"] / sums["w"]},
                index=sums.index,
            )
        )
    return pd.concat(out).reset_index()


def _window_columns(scenario: pd.Series, s: Settings, windows: Mapping[str, tuple[int, int]] | None):
    """Each row's window start and end, from its scenario."""
    if windows is None:
        if s.mode == "equal_exposure":
            raise InputError("equal-exposure scoring needs each scenario's programs (Settings.windows); none were given")
        first, last = s.window()
        return np.full(len(scenario), first), np.full(len(scenario), last)
    missing = sorted(set(scenario) - set(windows))
    if missing:
        raise InputError(f"no evaluation window for scenario(s) {', '.join(missing)}")
    starts = scenario.map({k: v[0] for k, v in windows.items()}).to_numpy()
    ends = scenario.map({k: v[1] for k, v in windows.items()}).to_numpy()
    return starts, ends


def _check_period(months: np.ndarray, scenario: pd.Series, first: np.ndarray, last: np.ndarray) -> None:
    have = set(np.unique(months).tolist())
    needed = set(range(int(first.min()), int(last.max()) + 1)) if len(months) else set()
    if not needed <= have:
        gap = sorted(needed - have)
        raise InputError(
            f"the integrated effect needs every month {int(first.min())}-{int(last.max())} in the results; "
            f"missing {len(gap)} (first: {gap[0]}); run to month {int(last.max())} and keep `months: all` in the outputs"
        )


def scores(effects: pd.DataFrame, s: Settings, value: str = "discounted") -> pd.DataFrame:
    """Per run pair: the standardised effect of each outcome, family scores and the overall score.

    Outcome score = effect x direction / score_scale (data/outputs.yaml); family score = mean
    over the family's outcomes present; overall = family scores weighted by `s.family_weights`.
    """
    wide = effects.pivot_table(index=list(RUN_KEYS), columns="outcome", values=value, aggfunc="first")
    out = pd.DataFrame(index=wide.index)
    families = {}
    for family, members in by_family().items():
        present = [o for o in members if o in wide.columns]
        if not present:
            continue
        standardised = pd.DataFrame({o: wide[o] * column(o).direction / column(o).score_scale for o in present})
        families[family] = standardised.mean(axis=1)
    if not families:
        raise InputError("no decision outcome (data/outputs.yaml, with a family) is in the results")
    for family, values in families.items():
        out[family] = values
    weights = pd.Series({f: s.family_weights.get(f, 0.0) for f in families})
    if weights.sum() <= 0:
        raise InputError("the family weights give no weight to any family present in the results")
    out["overall"] = (out[list(families)] * weights).sum(axis=1) / weights.sum()
    return out.reset_index()


def mean_interval(values: pd.Series | np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and t-interval over replicates (NaN interval for fewer than two)."""
    x = np.asarray(values, dtype=float)
    mean = float(x.mean()) if len(x) else float("nan")
    if len(x) < 2:
        return mean, float("nan"), float("nan")
    half = stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return mean, mean - half, mean + half


def score_summary(table: pd.DataFrame, columns: Sequence[str] = ("overall",)) -> pd.DataFrame:
    """Mean and 95% interval of each score column per condition (scenario, design point), long format."""
    rows = []
    for (scenario, point), group in table.groupby(["scenario", GROUP], sort=False):
        for name in columns:
            mean, low, high = mean_interval(group[name])
            rows.append({"scenario": scenario, GROUP: point, "score": name, "mean": mean, "ci_low": low, "ci_high": high,
                         "n": len(group)})  # fmt: skip
    return pd.DataFrame(rows)


def p_best(table: pd.DataFrame, conditions: Sequence[str], column_name: str = "overall") -> pd.DataFrame:
    """Share of replicates in which each condition has the highest score (ties split), per design point."""
    chosen = table[table["scenario"].isin(conditions)]
    wide = chosen.pivot_table(index=[GROUP, "replicate"], columns="scenario", values=column_name, aggfunc="first")
    wide = wide[list(conditions)].dropna()
    best = wide.eq(wide.max(axis=1), axis=0)
    share = best.div(best.sum(axis=1), axis=0).groupby(level=GROUP).mean()
    return share.rename_axis(columns="scenario")


def lead(table: pd.DataFrame, conditions: Sequence[str], column_name: str = "overall") -> pd.DataFrame:
    """Per design point: the condition with the highest mean score, the runner-up, and the paired lead (95% CI)."""
    rows = []
    for point, group in table[table["scenario"].isin(conditions)].groupby(GROUP, sort=False):
        wide = group.pivot_table(index="replicate", columns="scenario", values=column_name, aggfunc="first")[list(conditions)]
        order = wide.mean().sort_values(ascending=False).index
        best, second = order[0], order[1]
        mean, low, high = mean_interval(wide[best] - wide[second])
        rows.append({GROUP: point, "best": best, "runner_up": second, "lead": mean, "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows)


# --- costs ---------------------------------------------------------------------------------
def run_costs(
    table: pd.DataFrame, scenario_of: Callable[[str, int], Scenario], s: Settings, discounted: bool = True
) -> pd.DataFrame:
    """Per run: units paid for by every cost line over its scenario's window (discounted unit-years), per community.

    `scenario_of(scenario, design_point)` gives the run's Scenario (with its design point's
    parameters), from which its programs, persistence, status-quo values and window come.
    Returns one row per run (scenario, design_point, replicate) and one column per cost line key.
    """
    months = np.arange(int(table["month"].min()), int(table["month"].max()) + 1)
    rate = s if discounted else replace(s, discount_rate=0.0)
    rows = []
    for (name, point, replicate), run in table.groupby(list(RUN_KEYS), sort=False):
        scenario = scenario_of(name, point)
        weights = discount_weights(months, rate, s.window(scenario.programs))
        communities = run["communities"].iloc[0] if "communities" in run else scenario.parameters.n_communities  # a subgroup's
        q = line_quantities(run, scenario.programs, scenario.parameters, weights) / communities
        rows.append(pd.concat([pd.Series({"scenario": name, GROUP: point, "replicate": replicate}), q]))
    return pd.DataFrame(rows).fillna(0.0)


def cost_lines(scenarios: Sequence[Scenario]) -> pd.DataFrame:
    """Every cost line of the given scenarios' programs (one row per line key), priced at their status quo."""
    frames = [line_table(sc.programs, sc.parameters) for sc in scenarios if sc.programs]
    if not frames:
        return line_table([], None)
    return pd.concat(frames, ignore_index=True).drop_duplicates("key").reset_index(drop=True)


def price_draws(lines: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """`n` draws of each line's yuan amount, with mean equal to its central value.

    Uniform on [low, central] with probability p and on [central, high] otherwise,
    p = (high - central) / (high - low): a split uniform whose mean is the central value.
    Draw 0 is every line at its central value.
    """
    rng = np.random.default_rng(seed)
    low, mid, high = (lines[c].to_numpy(dtype=float) for c in ("low", "central", "high"))
    width = high - low
    p = np.divide(high - mid, width, out=np.ones_like(width), where=width > 0)
    lower = rng.random((n, len(lines))) < p
    u = rng.random((n, len(lines)))
    draws = np.where(lower, low + u * (mid - low), mid + u * (high - mid))
    draws[0] = mid
    return pd.DataFrame(draws, columns=lines["key"].to_numpy())


def cost_matrix(quantities: pd.DataFrame, prices: pd.DataFrame) -> np.ndarray:
    """Cost per community of every run under every price draw: array (runs, draws), yuan."""
    keys = [k for k in prices.columns if k in quantities.columns]
    q = quantities.reindex(columns=keys, fill_value=0.0).to_numpy(dtype=float)
    return q @ prices[keys].to_numpy(dtype=float).T


# --- value for money -------------------------------------------------------------------------
def efficiency_frontier(options: pd.DataFrame) -> pd.DataFrame:
    """The efficiency frontier of mutually exclusive options with ICERs and dominance.

    `options` has columns option, cost, effect (expected values). Returns them sorted by
    cost with `status` ('frontier', 'dominated' or 'extendedly dominated'), `icer` (extra
    cost per extra unit of effect against the previous frontier option; NaN for the first
    and for dominated options), `compared_with` and `dominated_by`.

    Method (Drummond et al. 2015, ch. 4; Briggs, Claxton & Sculpher 2006): sort by cost;
    drop options that cost at least as much as another and are no more effective (strong
    dominance); then repeatedly drop an option whose ICER exceeds the next option's
    (extended dominance: a mix of its neighbours does better) until ICERs rise.
    """
    data = options[["option", "cost", "effect"]].sort_values(["cost", "effect"], ascending=[True, False]).reset_index(drop=True)
    status = dict.fromkeys(data["option"], "frontier")
    dominated_by: dict[str, str] = {}
    for i, row in data.iterrows():
        better = data[(data.index != i) & (data["cost"] <= row["cost"]) & (data["effect"] >= row["effect"])]
        better = better[(better["cost"] < row["cost"]) | (better["effect"] > row["effect"]) | (better.index < i)]
        if not better.empty:
            status[row["option"]] = "dominated"
            dominated_by[row["option"]] = better.sort_values("effect", ascending=False)["option"].iloc[0]
    frontier = [o for o in data["option"] if status[o] == "frontier"]
    cost = dict(zip(data["option"], data["cost"], strict=True))
    effect = dict(zip(data["option"], data["effect"], strict=True))
    while True:
        icers = [(cost[b] - cost[a]) / (effect[b] - effect[a]) for a, b in itertools.pairwise(frontier)]
        kink = next((k for k in range(len(icers) - 1) if icers[k] > icers[k + 1]), None)
        if kink is None:
            break
        dropped = frontier.pop(kink + 1)
        status[dropped] = "extendedly dominated"
        dominated_by[dropped] = f"{frontier[kink]} and {frontier[kink + 1]}"
    previous = {b: a for a, b in itertools.pairwise(frontier)}
    data["status"] = data["option"].map(status)
    data["compared_with"] = data["option"].map(previous)
    data["icer"] = [
        (cost[o] - cost[previous[o]]) / (effect[o] - effect[previous[o]]) if o in previous else np.nan for o in data["option"]
    ]
    data["dominated_by"] = data["option"].map(dominated_by)
    return data


def acceptability(effects: np.ndarray, costs: np.ndarray, options: Sequence[str], values: Sequence[float]) -> pd.DataFrame:
    """Cost-effectiveness acceptability curve: P(each option has the highest net benefit) at each value.

    `effects` and `costs` are arrays (options, draws) of joint draws; net benefit is
    value x effect - cost. Returns one row per value and option with `probability`.
    """
    rows = []
    for value in values:
        net = value * effects - costs
        best = net == net.max(axis=0, keepdims=True)
        share = (best / best.sum(axis=0, keepdims=True)).mean(axis=1)
        rows += [{"value": value, "option": o, "probability": float(p)} for o, p in zip(options, share, strict=True)]
    return pd.DataFrame(rows)
