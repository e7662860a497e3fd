"""The program-comparison analysis behind `notebooks/compare_programs.ipynb`: one call, every table.

`analyse(spec, table)` takes a finished factorial experiment (conditions x persistence
regimes x replicates, every month kept) and computes, with `sim.decision`, everything the
report shows: integrated effects per outcome, family and overall scores, P(best), the
leader's lead, how the answer moves with the evaluation date, the family weights and the
discount rate, full costs with their uncertainty, the efficiency frontier and the
acceptability curves. `first_screen(analysis)` writes the answer as Markdown.

Nothing here knows which program wins: every sentence is assembled from the numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import decision, lang, robustness
from sim.batch.spec import ExperimentSpec
from sim.columns import FAMILIES, FAMILY_LABELS, decision_outcomes
from sim.decision import GROUP, Settings
from sim.figures import condition_code, label
from sim.lang import t
from sim.policy import month_index, year_of
from sim.scenario import Scenario

PROGRAM_IDS = ("P1", "P2", "P3")
YEARS = tuple(range(2024, 2041))  # calendar year-ends for "when you evaluate matters" (as far as the runs reach)
REGIME_ORDER = ("sustain", "decay", "revert")


@dataclass
class Analysis:
    """Everything the comparison report shows, as tidy tables."""

    spec: ExperimentSpec
    settings: Settings
    code: dict[str, str]  # scenario -> condition code ('P1', 'P1+P2', 'baseline')
    regime: dict[int, str]  # design point -> persistence regime
    effects: pd.DataFrame  # integrated effects per run pair and outcome
    scores: pd.DataFrame  # family and overall scores per run pair
    summary: pd.DataFrame  # mean and 95% CI of every score per condition and regime
    p_best: pd.DataFrame  # programs alone: P(best) per regime
    leads: pd.DataFrame  # programs alone: leader, runner-up, lead and CI per regime
    by_year: pd.DataFrame  # programs alone: P(best) and leader per calendar year-end of the evaluation and regime
    modes: pd.DataFrame  # programs alone: leader, lead and P(best) under each evaluation mode, per regime
    sensitivity: pd.DataFrame  # leader under alternative weights and discount rates, per regime
    lines: pd.DataFrame  # every cost line with low/central/high
    costs: pd.DataFrame  # per condition and regime: expected, central and 95% range of discounted cost per community
    frontier: pd.DataFrame  # per regime: efficiency frontier over all conditions
    frontier_alone: pd.DataFrame  # per regime: efficiency frontier of the status quo and each program alone
    acceptability: pd.DataFrame  # per regime: P(best buy) against the value of one score point
    replicates: int
    n_communities: int
    subgroups: pd.DataFrame | None = None  # programs alone per kind of community: score, P(best), cost per point (if recorded)

    @property
    def regimes(self) -> list[str]:
        present = list(dict.fromkeys(self.regime.values()))
        return sorted(present, key=lambda r: REGIME_ORDER.index(r) if r in REGIME_ORDER else len(REGIME_ORDER))

    @property
    def programs(self) -> list[str]:
        """Scenario names of the programs run alone, in P1, P2, P3 order."""
        of = {c: s for s, c in self.code.items()}
        return [of[p] for p in PROGRAM_IDS if p in of]

    def point(self, regime: str) -> int:
        return next(p for p, r in self.regime.items() if r == regime)


def regimes_of(spec: ExperimentSpec) -> dict[int, str]:
    """The persistence regime of each design point (the base scenario's when the design does not set it)."""
    default = spec.scenarios[spec.baseline].parameters.persistence
    return {i: point.get("persistence", default) for i, point in enumerate(spec.design.points)}


def scenario_getter(spec: ExperimentSpec):
    """scenario_of(name, design_point): the Scenario a run used, with its design point's values."""
    cache: dict[tuple[str, int], Scenario] = {}

    def scenario_of(name: str, point: int) -> Scenario:
        key = (name, int(point))
        if key not in cache:
            cache[key] = spec.scenarios[name].with_parameters(spec.design.points[int(point)], "design point")
        return cache[key]

    return scenario_of


def analyse(spec: ExperimentSpec, table: pd.DataFrame, settings: Settings | None = None) -> Analysis:
    """Every table of the comparison report from a finished experiment."""
    s = settings or decision.settings()
    code = {name: condition_code(p.id for p in sc.programs) for name, sc in spec.scenarios.items()}
    regime = regimes_of(spec)
    outcomes = [o for o in decision_outcomes() if o in table.columns]
    effects = decision.integrated_effects(table, spec.baseline, outcomes, s, s.windows(spec.scenarios))
    scores = _with_labels(decision.scores(effects, s), code, regime)
    families = [f for f in FAMILIES if f in scores.columns]
    summary = _with_labels(decision.score_summary(scores, [*families, "overall"]), code, regime)
    of = {c: n for n, c in code.items()}
    alone = [of[p] for p in PROGRAM_IDS if p in of]
    p_best = _with_regime(decision.p_best(scores, alone).reset_index(), regime)
    leads = _with_regime(decision.lead(scores, alone), regime)
    by_year = _by_year(table, spec, outcomes, alone, s, regime)
    modes = _modes(table, spec, outcomes, alone, s, regime)
    sensitivity = _sensitivity(table, spec, outcomes, effects, alone, s, regime)
    costs, lines, draws = _costs(spec, table, s, code, regime)
    frontier, ceac = _value_for_money(scores, costs, draws, code, regime, spec.baseline)
    frontier_alone, _ = _value_for_money(scores, costs, draws, code, regime, spec.baseline, only=alone)
    groups = _subgroups(spec, table, s, code, regime, alone) if any("__" in c for c in table.columns) else None
    return Analysis(
        spec=spec, settings=s, code=code, regime=regime, effects=_with_labels(effects, code, regime), scores=scores,
        summary=summary, p_best=p_best, leads=leads, by_year=by_year, modes=modes, sensitivity=sensitivity, lines=lines,
        costs=costs, frontier=frontier, frontier_alone=frontier_alone, acceptability=ceac, replicates=spec.replicates,
        n_communities=int(spec.scenarios[spec.baseline].parameters.n_communities), subgroups=groups,
    )  # fmt: skip


def _subgroups(spec: ExperimentSpec, table: pd.DataFrame, s: Settings, code, regime, alone: Sequence[str]) -> pd.DataFrame:
    """Per kind of community (`sim.subgroups`), regime and program alone: mean score (95% CI), P(best) with its Wilson
    interval, the leader's paired lead, discounted cost per community and per score point - from the same runs."""
    from statsmodels.stats.proportion import proportion_confint

    from sim.subgroups import PARTITIONS, split

    windows = s.windows(spec.scenarios)
    scenario_of = scenario_getter(spec)
    rows = []
    for partition, members in PARTITIONS.items():
        for group in members:
            part = split(table, group)
            outcomes = [o for o in decision_outcomes() if o in part.columns]
            sc = decision.scores(decision.integrated_effects(part, spec.baseline, outcomes, s, windows), s)
            shares = decision.p_best(sc, alone)
            leads = decision.lead(sc, alone).set_index(GROUP)
            quantities = decision.run_costs(part[part["scenario"].isin(alone)], scenario_of, s)
            lines = decision.cost_lines([scenario_of(n, 0) for n in alone])
            central = lines.set_index("key")["central"]
            keys = [k for k in central.index if k in quantities.columns]
            quantities["cost"] = quantities[keys].to_numpy() @ central[keys].to_numpy()
            cost = quantities.groupby(["scenario", GROUP])["cost"].mean()
            communities = float(part["communities"].iloc[0])
            for (point, name), block in sc[sc["scenario"].isin(alone)].groupby([GROUP, "scenario"]):
                mean, low, high = decision.mean_interval(block["overall"])
                n = len(block)
                wins = round(float(shares.loc[point, name]) * n)
                p_low, p_high = proportion_confint(wins, n, method="wilson")
                rows.append({"regime": regime[point], "partition": partition, "subgroup": group, "communities": communities,
                             "scenario": name, "condition": code[name], "score": mean, "score_low": low, "score_high": high,
                             "p_best": float(shares.loc[point, name]), "p_best_low": p_low, "p_best_high": p_high,
                             "replicates": n, "leader": code[leads.loc[point, "best"]],
                             "lead": float(leads.loc[point, "lead"]), "lead_low": float(leads.loc[point, "ci_low"]),
                             "lead_high": float(leads.loc[point, "ci_high"]), "cost": float(cost.loc[(name, point)]),
                             "cost_per_point": float(cost.loc[(name, point)]) / mean if mean > 0 else np.nan})  # fmt: skip
    return pd.DataFrame(rows)


def _with_regime(frame: pd.DataFrame, regime: Mapping[int, str]) -> pd.DataFrame:
    out = frame.copy()
    out.insert(0, "regime", out[GROUP].map(regime))
    return out


def _with_labels(frame: pd.DataFrame, code: Mapping[str, str], regime: Mapping[int, str]) -> pd.DataFrame:
    out = _with_regime(frame, regime)
    out.insert(1, "condition", out["scenario"].map(code))
    return out


def _by_year(table, spec: ExperimentSpec, outcomes, alone, s: Settings, regime) -> pd.DataFrame:
    """P(best) and the leader when a common calendar evaluation (from January 2024) ends at each year-end."""
    rows = []
    last = int(table["month"].max())
    for year in range(YEARS[0], year_of(last) + 1):
        horizon = replace(s, mode="calendar", end_month=month_index(year, 12))
        if horizon.end_month > last:
            break
        effects = decision.integrated_effects(table, spec.baseline, outcomes, horizon, horizon.windows(spec.scenarios))
        sc = decision.scores(effects, horizon)
        share = decision.p_best(sc, alone)
        means = sc[sc["scenario"].isin(alone)].groupby([GROUP, "scenario"])["overall"].mean().unstack()
        for point, row in share.iterrows():
            leader = means.loc[point].idxmax()
            for scenario, p in row.items():
                rows.append({"year": year, "regime": regime[point], GROUP: point, "scenario": scenario, "p_best": p,
                             "mean_score": means.loc[point, scenario], "leader": leader})  # fmt: skip
    return pd.DataFrame(rows)


def _modes(table, spec: ExperimentSpec, outcomes, alone, s: Settings, regime) -> pd.DataFrame:
    """Per evaluation mode (`decision.MODES`) and regime: the leader, its paired lead (95% CI) and each program's P(best).

    A mode whose windows the runs do not reach is left out.
    """
    rows = []
    for mode in decision.MODES:
        m = s.in_mode(mode)
        if m.last_month(spec.scenarios) > int(table["month"].max()):
            continue
        sc = decision.scores(decision.integrated_effects(table, spec.baseline, outcomes, m, m.windows(spec.scenarios)), m)
        shares = decision.p_best(sc, alone)
        for lead in decision.lead(sc, alone).itertuples():
            rows.append({"mode": mode, "regime": regime[lead.design_point], GROUP: lead.design_point, "best": lead.best,
                         "runner_up": lead.runner_up, "lead": lead.lead, "ci_low": lead.ci_low, "ci_high": lead.ci_high,
                         **{f"p_best_{name}": float(shares.loc[lead.design_point, name]) for name in alone}})  # fmt: skip
    return pd.DataFrame(rows)


def _leader(effects: pd.DataFrame, alone: Sequence[str], s: Settings) -> pd.Series:
    sc = decision.scores(effects, s)
    means = sc[sc["scenario"].isin(alone)].groupby([GROUP, "scenario"])["overall"].mean().unstack()
    return means.idxmax(axis=1)


def _sensitivity(table, spec: ExperimentSpec, outcomes, effects, alone: Sequence[str], s: Settings, regime) -> pd.DataFrame:
    """The leader (highest mean overall score) with each family alone, each family left out, and at the ends of the
    discount-rate range."""
    variants: dict[str, tuple[Settings, pd.DataFrame]] = {"as reported": (s, effects)}
    for family in FAMILIES:
        weights = {f: float(f == family) for f in FAMILIES}
        variants[f"{FAMILY_LABELS[family][0].lower()} only"] = (replace(s, family_weights=weights), effects)
    for family in FAMILIES:
        weights = {f: float(f != family) * s.family_weights[f] for f in FAMILIES}
        variants[f"without {FAMILY_LABELS[family][0].lower()}"] = (replace(s, family_weights=weights), effects)
    for rate in s.discount_range:
        if rate != s.discount_rate:
            other = replace(s, discount_rate=rate)
            other_effects = decision.integrated_effects(table, spec.baseline, outcomes, other, other.windows(spec.scenarios))
            variants[f"a {rate:.0%} discount rate"] = (other, other_effects)
    rows = []
    for name, (settings, eff) in variants.items():
        for point, leader in _leader(eff, alone, settings).items():
            rows.append({"variant": name, "regime": regime[point], GROUP: point, "leader": leader})
    return pd.DataFrame(rows)


def _costs(spec: ExperimentSpec, table: pd.DataFrame, s: Settings, code, regime):
    """Discounted cost per community of every condition and regime, with price uncertainty."""
    scenario_of = scenario_getter(spec)
    quantities = decision.run_costs(table, scenario_of, s)
    used = [scenario_of(name, point) for name, point in quantities[["scenario", GROUP]].drop_duplicates().itertuples(index=False)]
    lines = decision.cost_lines(used)
    prices = decision.price_draws(lines, s.cost_draws, s.cost_seed)
    per_run = decision.cost_matrix(quantities, prices)  # runs x draws
    keys = quantities[["scenario", GROUP, "replicate"]].reset_index(drop=True)
    rows = []
    draws: dict[tuple[str, int], np.ndarray] = {}
    for (name, point), index in keys.groupby(["scenario", GROUP]).groups.items():
        block = per_run[np.asarray(index)]  # replicates x draws
        draws[(name, point)] = block
        by_price = block.mean(axis=0)  # average over replicates, per price draw
        rows.append({"scenario": name, GROUP: point, "expected": block.mean(), "central": by_price[0],
                     "low": np.quantile(by_price, 0.025), "high": np.quantile(by_price, 0.975)})  # fmt: skip
    costs = _with_labels(pd.DataFrame(rows), code, regime)
    for column in ("expected", "central", "low", "high"):
        costs[f"national_{column}"] = costs[column] * s.national_communities
    return costs, lines, draws


def _value_for_money(scores, costs, draws, code, regime, baseline, only: Sequence[str] | None = None):
    """Per regime: the efficiency frontier and the acceptability curve over every condition (or the baseline and `only`)."""
    frontiers, curves = [], []
    for point, name in regime.items():
        sc = scores[scores[GROUP] == point]
        effect_by = sc.pivot_table(index="replicate", columns="scenario", values="overall", aggfunc="first")
        options = [n for n in code if n == baseline or (n in effect_by.columns and (only is None or n in only))]
        effect_by[baseline] = 0.0  # the baseline's effect against itself
        cost_of = costs[costs[GROUP] == point].set_index("scenario")["expected"].to_dict()
        cost_of[baseline] = 0.0
        table = pd.DataFrame({"option": options, "cost": [cost_of.get(o, 0.0) for o in options],
                              "effect": [effect_by[o].mean() for o in options]})  # fmt: skip
        frontier = decision.efficiency_frontier(table)
        frontiers.append(frontier.assign(regime=name, condition=frontier["option"].map(code)))
        n_draws = next(iter(draws.values())).shape[1]
        effects = np.stack([np.repeat(effect_by[o].to_numpy()[:, None], n_draws, axis=1).ravel() for o in options])
        cost_draws = np.stack([draws[(o, point)].ravel() if (o, point) in draws else np.zeros(effects.shape[1]) for o in options])
        values = _value_grid(frontier)
        curve = decision.acceptability(effects, cost_draws, options, values)
        curves.append(curve.assign(regime=name, condition=curve["option"].map(code)))
    return pd.concat(frontiers, ignore_index=True), pd.concat(curves, ignore_index=True)


def _value_grid(frontier: pd.DataFrame, n: int = 121) -> np.ndarray:
    """Values of one score point (yuan per community), log-spaced from well below the smallest frontier ICER
    to well above the largest, so that every switch between best buys shows."""
    icers = frontier["icer"].dropna()
    icers = icers[icers > 0]
    low, high = (float(icers.min()) / 10, float(icers.max()) * 10) if len(icers) else (1e3, 1e8)
    return np.geomspace(low, high, n)


# --- the first screen -----------------------------------------------------------------------
def yuan(value: float) -> str:
    """'1,234,567 yuan' style number (no decimals)."""
    return f"{value:,.0f}"


def signed(value: float, digits: int = 2) -> str:
    return f"{value:+.{digits}f}"


def first_screen(a: Analysis, robust: Mapping[str, pd.DataFrame] | None = None) -> str:
    """The report's opening: the answer in one sentence, then per regime which program leads, how sure, and its cost.

    `robust` holds the robustness report's tables (`robustness_tables`: leaders, breakdown,
    voi), if it has been run: P(best) over every deciding choice comes from there. In the report
    language (`sim.lang`).
    """
    from sim.report.tables import communities, national, national_unit

    s = a.settings
    robust = robust or {}
    lines = [
        t("## The answer", "## 结论"),
        "",
        bottom_line(a, robust),
        "",
        t(
            f"**Metric:** the *overall score* — each outcome's improvement over the status quo, {mode_text(s)}, discounted at "
            f"{s.discount_rate:.0%} a year, in units of the improvement the article reports for it, averaged within four "
            f"outcome families and then across families ({_weights_text(s)}). 1.0 would be the article's reported "
            "improvement in every outcome for the whole period. Each program runs alone in its own window.",
            f"**衡量指标:** *总体得分*——各项结果相对现状的改善,{mode_text(s)},按每年{s.discount_rate:.0%}折现,"
            f"以文章为该结果报告的改善幅度为单位,先在四类结果内平均,再在各类之间平均({_weights_text(s)})。"
            "1.0 表示在整个时期内每项结果都达到文章报告的改善幅度。每项工程在其自身实施期内单独运行。",
        ),
        "",
        *_answer_table(a, communities, national, national_unit),
        "",
        _modes_text(a),
        "",
        _intervals_text(a, bool(robust)),
        "",
        _value_text(a),
        "",
        *_robust_text(a, robust),
        *_voi_text(robust),
        *_depends(a),
    ]
    return "\n".join(lines)


def mode_text(s: Settings) -> str:
    """How the evaluation window is set, in words (report language)."""
    if s.mode == "equal_exposure":
        return t(f"averaged over the {s.exposure_years} years from January of each program's first year (equal exposure)",
                 f"在各工程开始年份1月起的{s.exposure_years}年内取平均(等长评估)")  # fmt: skip
    first, last = _year(s.start_month), _year(s.end_month if s.mode == "calendar" else s.horizon_end_month)
    return t(f"averaged over January {first} to December {last} for every program",
             f"对每项工程均在{first}年1月至{last}年12月期间取平均")  # fmt: skip


def _answer_table(a: Analysis, communities, national, national_unit) -> list[str]:
    s = a.settings
    other = [m for m in decision.MODES if m != s.mode and m in set(a.modes["mode"])]
    header_en = "".join(f" {lang.choice_name('mode', m)}: leads (P(best)) |" for m in other)
    header_zh = "".join(f" {lang.choice_name('mode', m)}:领先(P(最优))|" for m in other)
    lines = [
        t(
            f"| after a program's window (persistence) | fund (highest overall score, {lang.choice_name('mode', s.mode)}) "
            "| P(best), seeds only [95% CI] | lead over runner-up, 95% CI |" + header_en + " its discounted cost per "
            f"community (95% price range) | nationally ({communities(s.national_communities)}) | value for money: efficient "
            "path, yuan per community per score point |",
            f"| 实施期结束后(持续性) | 应资助(总体得分最高,{lang.choice_name('mode', s.mode)}) | P(最优),仅随机种子[95%置信区间] "
            "| 领先次优工程的幅度,95%置信区间 |" + header_zh + " 每社区折现成本(95%价格区间) | "
            f"全国({communities(s.national_communities)}) | 成本效果:有效路径,每社区每得分点所需元 |",
        ),
        "|---|---|---|---|" + "---|" * len(other) + "---|---|---|",
    ]
    for regime in a.regimes:
        point = a.point(regime)
        lead = lead_of(a, regime)
        share = a.p_best[a.p_best[GROUP] == point].iloc[0][lead["best"]]
        cost = a.costs[(a.costs[GROUP] == point) & (a.costs["scenario"] == lead["best"])].iloc[0]
        ci = f"[{signed(lead['ci_low'])}, {signed(lead['ci_high'])}]"
        runner_up = a.code[lead["runner_up"]]
        lead_text = t(f"{signed(lead['lead'])} over {runner_up} {ci}", f"领先 {runner_up} {signed(lead['lead'])} {ci}")
        by_mode = ""
        for m in other:
            row = a.modes[(a.modes["mode"] == m) & (a.modes[GROUP] == point)].iloc[0]
            by_mode += f" {a.code[row['best']]} ({_share(row[f'p_best_{row.best}'], a.replicates)}) |"
        fund = f"**{label(a.code[lead['best']])}**"
        if is_tie(lead):  # the replicates cannot tell the two apart: name both
            fund = t(f"{fund} or {runner_up}: not distinguishable", f"{fund} 或 {runner_up}:难分高下")
        row = (
            f"| **{lang.regime_with_default(regime)}** | {fund} | {_share(share, a.replicates)} "
            f"| {lead_text} |{by_mode} "
            f"{yuan(cost['expected'])} {t('yuan', '元')} ({yuan(cost['low'])}–{yuan(cost['high'])}) | "
            f"{national(cost['national_expected'])} {national_unit()} | {_path(a, point)} |"
        )
        lines.append(t(row, row))  # Chinese: full-width punctuation around the numbers too
    return lines


def bottom_line(a: Analysis, robust: Mapping[str, pd.DataFrame]) -> str:
    """One sentence: the answer as strong as its numbers - over every deciding choice when the robustness analysis is there."""
    regime = a.regimes[0]
    leaders = robust.get("leaders")
    breakdown = robust.get("breakdown")
    shares: dict[str, float] = {}
    if leaders is not None and breakdown is not None and regime in set(leaders["regime"]):
        row = leaders[leaders["regime"] == regime].iloc[0]
        shares = {p: float(row[f"p_best_{p}"]) for p in PROGRAM_IDS if pd.notna(row.get(f"p_best_{p}"))}
    if len(shares) >= 2:
        said = robustness.verdict(shares, robustness.deciding_choices(breakdown, regime))
        return t(f"**Bottom line** ({lang.regime(regime)}, every deciding choice uncertain): {said} {_at_settings(a, regime)}",
                 f"**一句话结论**({lang.regime(regime)},所有关键选择均不确定):{said}{_at_settings(a, regime)}")  # fmt: skip
    lead = lead_of(a, regime)
    return t(
        f"**Bottom line** ({lang.regime(regime)}): {a.code[lead['best']]} scores highest with this report's settings; how sure "
        "that is once the deciding choices are uncertain is not yet computed (`make report-robustness`).",
        f"**一句话结论**({lang.regime(regime)}):按本报告的设定 {a.code[lead['best']]} 得分最高;关键选择不确定时的把握程度"
        "尚未计算(`make report-robustness`)。",
    )


def lead_of(a: Analysis, regime: str) -> pd.Series:
    """The regime's row of `a.leads`: best, runner-up, lead and its 95% interval."""
    return a.leads[a.leads[GROUP] == a.point(regime)].iloc[0]


def is_tie(lead: Mapping[str, Any]) -> bool:
    """A lead whose 95% interval reaches zero: the replicates cannot tell the two programs apart."""
    return float(lead["ci_low"]) <= 0.0


def _at_settings(a: Analysis, regime: str) -> str:
    """The answer at this report's own settings (its window, the central assumptions), as sure as its replicates."""
    lead = lead_of(a, regime)
    best, runner_up = a.code[lead["best"]], a.code[lead["runner_up"]]
    share = _share(a.p_best[a.p_best[GROUP] == a.point(regime)].iloc[0][lead["best"]], a.replicates)
    mode = lang.choice_name("mode", a.settings.mode)
    ci = f"{signed(lead['lead'])} [{signed(lead['ci_low'])}, {signed(lead['ci_high'])}]"
    if is_tie(lead):
        costs = a.costs[a.costs[GROUP] == a.point(regime)].set_index("scenario")["expected"]
        cost_best, cost_runner_up = yuan(costs[lead["best"]]), yuan(costs[lead["runner_up"]])
        return t(f"At this report's own settings ({mode}, every assumption at its central value) **{best} and {runner_up} "
                 f"are not distinguishable**: {best} leads by {ci}, best in {share} of the replicates; {best} costs "
                 f"{cost_best} yuan per community, {runner_up} {cost_runner_up} (discounted).",
                 f"按本报告自身的设定({mode},各项假设取中心值),**{best} 与 {runner_up} 难分高下**:{best} 领先 {ci},"
                 f"在 {share} 的重复运行中最优;每社区折现成本 {best} 为 {cost_best} 元,"
                 f"{runner_up} 为 {cost_runner_up} 元。")  # fmt: skip
    return t(f"At this report's own settings ({mode}, every assumption at its central value) {best} leads {runner_up} by {ci}.",
             f"按本报告自身的设定({mode},各项假设取中心值),{best} 领先 {runner_up} {ci}。")  # fmt: skip


def _modes_text(a: Analysis) -> str:
    """Whether the evaluation window changes the leader (equal exposure, calendar 2024-2030, long horizon 2024-2040)."""
    if a.modes.empty:
        return ""
    parts_en, parts_zh, differ = [], [], []
    for regime in a.regimes:
        rows = a.modes[a.modes["regime"] == regime]
        by = {r.mode: a.code[r.best] for r in rows.itertuples()}
        if len(set(by.values())) > 1:
            differ.append(regime)
        listed_en = ", ".join(f"{lang.choice_name('mode', m)}: {c}" for m, c in by.items())
        listed_zh = "、".join(f"{lang.choice_name('mode', m)}：{c}" for m, c in by.items())
        parts_en.append(f"{regime} — {listed_en}")
        parts_zh.append(f"{lang.regime(regime)}——{listed_zh}")
    verdict_en = ("**The evaluation windows disagree** under " + ", ".join(differ)) if differ else "The evaluation windows agree"
    regimes_zh = "、".join(lang.regime(r) for r in differ)
    verdict_zh = f"在{regimes_zh}情形下**不同评估期的结论不一致**" if differ else "不同评估期的结论一致"
    return t(
        f"*When to evaluate* ([docs/decision.md](../../docs/decision.md)): {verdict_en}. Leader by window: "
        + "; ".join(parts_en) + ". Equal exposure gives each program the same seven years from its own start; a common "
        "calendar period gives the earliest program (P1, 2024) more years after its window than the latest (P3, 2026).",
        f"*何时评估*([docs/decision.md](../../docs/decision.md)):{verdict_zh}。各评估期的领先者:" + ";".join(parts_zh)
        + "。等长评估给每项工程自其开始起相同的七年;统一日历期则使最早开始的工程(P1，2024年)"
        "在实施期后的年数多于最晚的(P3,2026年)。",
    )


ROBUSTNESS_DIR = Path("reports") / "robustness"


def robustness_tables(folder: Path | str | None = None) -> dict[str, pd.DataFrame]:
    """The committed robustness report's tables the first screen uses (leaders, breakdown, voi); empty when not run."""
    from sim.resources import reports_dir

    root = Path(folder or reports_dir() / ROBUSTNESS_DIR.name)
    names = ("leaders", "breakdown", "voi")
    return {name: pd.read_csv(root / f"{name}.csv") for name in names if (root / f"{name}.csv").is_file()}


def _robust_text(a: Analysis, robust: Mapping[str, pd.DataFrame]) -> list[str]:
    """P(best) over every deciding choice, per regime, with the breakdown by choice right under it (robustness report)."""
    leaders, breakdown = robust.get("leaders"), robust.get("breakdown")
    if leaders is None:
        return [t("*With every deciding choice uncertain:* not yet computed (`make report-robustness`).",
                  "*所有关键选择均不确定时:* 尚未计算(`make report-robustness`)。"), ""]  # fmt: skip
    out = [t("**With every deciding choice uncertain** ([robustness report](../robustness/index.html)): every assumption "
             "parameter over its plausible range, the fitted parameters from their posterior, the capacity structure and "
             "the reading of F01/F02 each equally likely, and both evaluation windows:",
             "**所有关键选择均不确定时**([稳健性报告](../robustness_zh/index.html)):每个假设参数在其合理范围内抽样,"
             "拟合参数取自后验分布,治理能力结构与对F01/F02的解读各选项等可能,两种评估期各占一半:"), ""]  # fmt: skip
    said_any = False
    for r in leaders.itertuples():
        shares = {p: float(getattr(r, f"p_best_{p}")) for p in PROGRAM_IDS if pd.notna(getattr(r, f"p_best_{p}", np.nan))}
        if len(shares) < 2:  # a robustness report from before every deciding choice was sampled
            continue
        said_any = True
        said = robustness.verdict(shares, robustness.deciding_choices(breakdown, r.regime) if breakdown is not None else [])
        # The seeds-only share is this report's table above; the robustness report's own nominal seeds are not repeated here.
        pooled = robustness.share_with_interval(r.p_best_assumptions, r.p_best_assumptions_low, r.p_best_assumptions_high)
        out.append(t(f"- *{r.regime}:* {said} ({r.leader}: {pooled} of sampled futures.)",
                     f"- *{lang.regime(r.regime)}:* {said}({r.leader}:抽样情景中 {pooled}。)"))  # fmt: skip
    if not said_any:
        return [t("*With every deciding choice uncertain:* not yet computed — the robustness report predates it "
                  "(`make report-robustness`).", "*所有关键选择均不确定时:* 尚未计算——稳健性报告早于这一分析"
                  "(`make report-robustness`)。"), ""]  # fmt: skip
    if breakdown is not None and not breakdown.empty:
        out += ["", *breakdown_table(breakdown, a.regimes[0])]
    return [*out, ""]


def breakdown_table(breakdown: pd.DataFrame, regime: str) -> list[str]:
    """Markdown: for each deciding choice and level, which program is most often best and each program's P(best) (one regime)."""
    rows = breakdown[breakdown["regime"] == regime]
    out = [
        t(f"*By deciding choice* ({lang.regime(regime)}; P(best) of each program, 95% interval over the sampled futures):",
          f"*按关键选择*({lang.regime(regime)};各工程的P(最优),"
          "抽样情景上的95%区间):"),
        "",
        t("| choice | level | most often best | " + " | ".join(f"P(best) {p}" for p in PROGRAM_IDS) + " | futures |",
          "| 选择 | 选项 | 最常最优 | "
          + " | ".join(f"P(最优) {p}" for p in PROGRAM_IDS) + " | 情景数 |"),
        "|---|---|---|" + "---|" * len(PROGRAM_IDS) + "---|",
    ]
    for (choice, level), block in rows.groupby(["choice", "level"], sort=False):
        by = block.set_index("program")
        cells = " | ".join(robustness.share_with_interval(*(by.loc[p, c] for c in ("p_best", "p_best_low", "p_best_high")))
                           if p in by.index else "–" for p in PROGRAM_IDS)  # fmt: skip
        name = f"{lang.choice_label(choice)} | {lang.choice_name(choice, str(level))}"
        out.append(f"| {name} | {block['leader'].iloc[0]} | {cells} | {int(block['independent_draws'].iloc[0])} |")
    return out


def _voi_text(robust: Mapping[str, pd.DataFrame]) -> list[str]:
    """What to find out first: the group of inputs whose resolution is worth most (EVPPI at the stated value), one sentence."""
    voi = robust.get("voi")
    if voi is None or voi.empty:
        return []
    from sim.report.tables import national, national_unit

    regime = min(voi["regime"].unique(), key=robustness.REGIMES.index)  # the default regime when present
    at = voi[(voi["regime"] == regime) & voi["at_stated_value"].astype(bool)]
    groups = at[at["group"] != "all inputs"].sort_values("evppi", ascending=False)
    if groups.empty:
        return []
    top, total = groups.iloc[0], at[at["group"] == "all inputs"].iloc[0]
    spec = robustness.VOI_GROUPS.get(top["group"], {"label": (top["group"],) * 2, "measure": ("", "")})
    value = yuan(float(top["value"]))
    return [t(
        f"**What to find out first** ({regime}; value of information at {value} yuan per community per score point): "
        f"{spec['label'][0]} — knowing it before choosing is worth up to {yuan(top['evppi'])} yuan per community "
        f"({national(top['evppi_national'])} {national_unit()} nationally), of {yuan(total['evppi'])} for knowing everything. "
        f"To resolve it: {spec['measure'][0]}. (EVPPI by GAM regression; robustness report.)",
        f"**应首先弄清什么**({lang.regime(regime)};按每社区每得分点{value}元计的信息价值):{spec['label'][1]}——"
        f"在决策前弄清它最多值每社区{yuan(top['evppi'])}元(全国{national(top['evppi_national'])}{national_unit()}),"
        f"完全信息的价值为{yuan(total['evppi'])}元。弄清的办法:{spec['measure'][1]}。(部分完全信息期望值,广义可加模型回归;见稳健性报告。)",
    ), ""]  # fmt: skip


def _path(a: Analysis, point: int) -> str:
    """'status quo → P3 (607,283) → P1 (1,107,338)': the frontier of the programs alone with ICERs."""
    f = a.frontier_alone[(a.frontier_alone["regime"] == a.regime[point]) & (a.frontier_alone["status"] == "frontier")]
    steps = [lang.status_quo()] + [f"{row.condition} ({yuan(row.icer)})" for row in f.itertuples() if row.condition != "baseline"]
    return " → ".join(steps)


def _value_text(a: Analysis) -> str:
    packages = {}
    for regime in a.regimes:
        f = a.frontier[(a.frontier["regime"] == regime) & (a.frontier["status"] == "frontier")]
        path = " → ".join(
            [lang.status_quo(), *(f"{r.condition} ({yuan(r.icer)})" for r in f.itertuples() if r.condition != "baseline")]
        )
        packages.setdefault(path, []).append(lang.regime(regime))
    combined = t("; ", ";").join(f"{path} ({', '.join(regimes)})" for path, regimes in packages.items())
    return t(
        "*Value for money:* along the efficient path each number is the step's incremental cost-effectiveness ratio — "
        "the extra discounted yuan per community for each extra point of overall score over the previous step. Go as far "
        "along the path as one score point is worth to you; a program off the path costs more for what it gives. "
        f"*If programs can be combined,* the efficient path over all eight packages is {combined} "
        "([Value for money](#Value-for-money)).",
        "*成本效果:* 有效路径上每个数字是该步的增量成本效果比——相对上一步,每多得1分总体得分所需增加的每社区折现成本(元)。"
        "沿路径走到您认为1分所值之处即可;不在路径上的工程,相对其所得花费过多。"
        f"*若工程可以组合,* 全部八种组合的有效路径为 {combined}([成本效果](#成本效果))。",
    )


def _year(month: int) -> int:
    return 2023 + (5 + month) // 12


def _share(p: float, n: int) -> str:
    """'100% (30 of 30) [89–100%]': a share of paired replicates, with the count and its 95% interval.

    30 of 30 is not certainty: the interval (Wilson, as the robustness report's) says how far a
    share seen in n independent replicates pins down the share over all seeds.
    """
    from statsmodels.stats.proportion import proportion_confint

    wins = round(p * n)
    low, high = proportion_confint(wins, n, method="wilson")
    interval = f"[{100 * low:.0f}–{high:.0%}]"
    return t(f"{p:.0%} ({wins} of {n}) {interval}", f"{p:.0%}({n}次中{wins}次){interval}")


def _weights_text(s: Settings) -> str:
    w = s.family_weights
    if len(set(w.values())) == 1:
        return t("families weighted equally", "各类权重相同")
    total = sum(w.values())
    english = ", ".join(f"{FAMILY_LABELS[f][0].lower()} {v / total:.0%}" for f, v in w.items())
    chinese = "、".join(f"{FAMILY_LABELS[f][1]} {v / total:.0%}" for f, v in w.items())
    return t(f"weights {english}", f"权重:{chinese}")


def _depends(a: Analysis) -> list[str]:
    """Plain statements of what would change the answer, each computed."""
    from sim.report.tables import variant_text

    leaders = {r: lead_of(a, r)["best"] for r in a.regimes}
    names = {r: a.code[leaders[r]] for r in a.regimes}
    out = [t("**What the answer depends on.**", "**结论取决于什么。**"), ""]
    if len(set(names.values())) == 1:
        same = next(iter(names.values()))
        out.append(t(f"- *Persistence:* the same program leads under every regime ({same}).",
                     f"- *持续性:* 在每种情形下领先的都是同一项工程({same})。"))  # fmt: skip
    else:
        groups: dict[tuple[str, bool], list[str]] = {}  # (who, a tie?) -> regimes; a tie is not a lead
        for r, n in names.items():
            lead = lead_of(a, r)
            tie = is_tie(lead)
            groups.setdefault((f"{n} ≈ {a.code[lead['runner_up']]}" if tie else n, tie), []).append(lang.regime(r))
        out.append(t("- *Persistence:* " + "; ".join(
                         f"{n} (not distinguishable) under {', '.join(rs)}" if tie else f"{n} leads under {', '.join(rs)}"
                         for (n, tie), rs in groups.items()) + ".",
                     "- *持续性:* " + ";".join(
                         f"{'、'.join(rs)}下 {n}(难分高下)" if tie else f"{'、'.join(rs)}下 {n} 领先"
                         for (n, tie), rs in groups.items()) + "。"))  # fmt: skip
    for regime in a.regimes:
        point = a.point(regime)
        years = a.by_year[(a.by_year[GROUP] == point)].drop_duplicates("year")
        other = years[years["leader"] != leaders[regime]]
        sens = a.sensitivity[(a.sensitivity[GROUP] == point) & (a.sensitivity["leader"] != leaders[regime])]
        parts = []
        if not other.empty:
            spans = year_spans(other["year"], [a.code[lead] for lead in other["leader"]])
            listed_en = ", ".join(f"{first}–{last} ({code})" if first != last else f"{first} ({code})"
                                  for first, last, code in spans)  # fmt: skip
            listed_zh = "、".join(f"{first}—{last}年任一年({code} 领先)" if first != last else f"{first}年({code} 领先)"
                                  for first, last, code in spans)  # fmt: skip
            parts.append(t(f"if a calendar evaluation from 2024 ended in December of {listed_en}",
                           f"若自2024年起按统一日历期评估、截至{listed_zh}的12月"))  # fmt: skip
        for variant, lead in zip(sens["variant"], sens["leader"], strict=True):
            if variant.endswith(" only"):
                parts.append(t(f"if only the {variant.replace(' only', '')} family counted ({a.code[lead]} would)",
                               f"若只计{variant_text(variant).removeprefix('仅')}类结果(则 {a.code[lead]} 领先)"))  # fmt: skip
            elif variant.startswith("without "):
                parts.append(t(f"if the {variant.removeprefix('without ')} family were left out ({a.code[lead]} would)",
                               f"若不计{variant_text(variant).removeprefix('不计')}类结果(则 {a.code[lead]} 领先)"))  # fmt: skip
            else:
                parts.append(t(f"at {variant} ({a.code[lead]})", f"在{variant_text(variant)}下({a.code[lead]})"))
        name = lang.regime(regime)
        if parts:
            out.append(t(f"- *Under {regime}:* {names[regime]} would not lead " + "; ".join(parts) + ".",
                         f"- *{name}:* " + ";".join(parts) + f",{names[regime]} 将不再领先。"))  # fmt: skip
        else:
            out.append(t(
                f"- *Under {regime}:* {names[regime]} leads whatever year-end from 2024 ends the evaluation, "
                "with any one outcome family alone or left out and across the discount-rate range.",
                f"- *{name}:* 无论评估截至2024年起的哪一年年底、只计或不计任何一类结果、或在整个折现率范围内,"
                f"{names[regime]} 均领先。",
            ))  # fmt: skip
    return [*out, *_beyond_article(a, leaders), *_subgroup_text(a)]


def year_spans(years: Sequence[int], leaders: Sequence[str]) -> list[tuple[int, int, str]]:
    """Consecutive years with the same leader as (first, last, leader): 2024 ... 2040 all P1 -> [(2024, 2040, 'P1')]."""
    spans: list[tuple[int, int, str]] = []
    for year, leader in zip(years, leaders, strict=True):
        if spans and spans[-1][2] == leader and spans[-1][1] == year - 1:
            spans[-1] = (spans[-1][0], int(year), leader)
        else:
            spans.append((int(year), int(year), leader))
    return spans


def _subgroup_text(a: Analysis) -> list[str]:
    """Whether the answer differs by kind of community, with the intervals that say so (default regime)."""
    if a.subgroups is None or a.subgroups.empty:
        return []
    regime = a.regimes[0]
    rows = a.subgroups[a.subgroups["regime"] == regime].drop_duplicates("subgroup")
    overall = a.code[lead_of(a, regime)["best"]]
    other = rows[rows["leader"] != overall]
    if other.empty:
        return [t(f"- *Kinds of community* ({regime}): {overall} leads in every city tier, region and kind of community "
                  "([Which program for which communities](#Which-program-for-which-communities)).",
                  f"- *社区类型*({lang.regime(regime)}):在各城市等级、地区和社区类型中均是 {overall} 领先"
                  "([哪项工程适合哪些社区](#哪项工程适合哪些社区))。")]  # fmt: skip
    from sim.subgroups import SUBGROUPS

    def lead(r) -> str:
        clear = r.lead_low > 0
        sure_en = "" if clear else ", not distinguishable from a tie"
        sure_zh = "" if clear else ",与并列无法区分"
        group = SUBGROUPS[r.subgroup]
        ci = f"{signed(r.lead)} [{signed(r.lead_low)}, {signed(r.lead_high)}]"
        return t(f"{group.label}: {r.leader} by {ci}{sure_en}", f"{group.label_zh}:{r.leader} 领先 {ci}{sure_zh}")

    listed_en = "; ".join(lead(r) for r in other.itertuples())
    listed_zh = ";".join(lead(r) for r in other.itertuples())
    link_en = "[Which program for which communities](#Which-program-for-which-communities)"
    link_zh = "[哪项工程适合哪些社区](#哪项工程适合哪些社区)"
    if (other["lead_low"] > 0).any():
        return [t(f"- *Kinds of community* ({regime}): the answer differs — {listed_en} (elsewhere {overall} leads; "
                  f"{link_en}).", f"- *社区类型*({lang.regime(regime)}):结论有所不同——{listed_zh}"
                  f"(其他社区 {overall} 领先;{link_zh})。")]  # fmt: skip
    return [t(f"- *Kinds of community* ({regime}): {overall} leads or ties in every kind of community — where another program "
              f"is ahead, its lead is not distinguishable from a tie: {listed_en} ({link_en}).",
              f"- *社区类型*({lang.regime(regime)}):{overall} 在各类社区中领先或持平——其他工程领先之处,"
              f"其领先幅度与并列无法区分:{listed_zh}({link_zh})。")]  # fmt: skip


def _beyond_article(a: Analysis, leaders: Mapping[str, str]) -> list[str]:
    """Where the leader's family score exceeds 1: the model gives it more than the article reports for that family."""
    rows = a.summary[a.summary["score"].isin(FAMILIES)]
    found: dict[str, list[str]] = {}
    for regime in a.regimes:
        mine = rows[(rows["regime"] == regime) & (rows["condition"] == a.code[leaders[regime]])]
        for r in mine[mine["mean"] > 1].itertuples():
            found.setdefault(r.score, []).append(f"{r.mean:.2f} ({lang.regime(regime)})")
    if not found:
        return []
    leader = a.code[leaders[a.regimes[0]]]
    english = "; ".join(f"{FAMILY_LABELS[f][0].lower()} {', '.join(v)}" for f, v in found.items())
    chinese = ";".join(f"{FAMILY_LABELS[f][1]} {'、'.join(v)}" for f, v in found.items())
    return [t(
        f"- *Beyond the article's own figures:* {leader}'s family score exceeds 1 — the model gives it more improvement "
        f"than the article reports for those outcomes — in {english}. Where the answer leans on such a family, it leans "
        "on the model's mechanisms rather than on a figure the article states.",
        f"- *超出文章自身数据:* {leader} 的以下类别得分超过 1——模型给出的改善大于文章对这些结果报告的幅度:{chinese}。"
        "结论若依赖这类结果,依赖的是模型机制,而非文章给出的数字。",
    )]  # fmt: skip


def _intervals_text(a: Analysis, robust: bool = False) -> str:
    elsewhere = t("; the robustness lines below include the assumptions", ";下方稳健性各行已包含假设的不确定性")
    elsewhere = elsewhere if robust else ""
    return t(
        f"*The table's intervals and P(best) cover run-to-run randomness only* ({a.replicates} paired replicates of "
        f"{a.n_communities:,} communities on shared seeds), not the uncertainty of the model's assumptions or of the "
        f"article's figures{elsewhere}. Cost ranges cover the assumed prices (each cost line between its low and high value, "
        "`data/programs.yaml`). **Every input is one policy article's figure that cannot be verified**; results say what "
        "follows if those figures and this model's assumptions hold — scenario exploration, not a forecast.",
        f"*表中的区间和P(最优)只反映运行间的随机性*({a.replicates}组配对重复运行,每组{a.n_communities:,}个社区,共用随机种子),"
        f"不反映模型假设或文章数据的不确定性{elsewhere}。成本区间反映假定价格的范围(每条成本在其低值与高值之间,"
        "`data/programs.yaml`)。**所有输入都来自一篇无法核实的政策文章**;结果表示若这些数据和本模型的假设成立会怎样——"
        "是情景探索,而非预测。",
    )
