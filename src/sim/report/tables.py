"""Display tables of the program-comparison report, built from `sim.report.answer.Analysis`.

Each returns a pandas DataFrame ready to show: labelled rows and columns, numbers as text
with thousands separators, intervals as 'mean [low, high]', never a raw NaN. The tidy
numbers behind them are the Analysis tables (and the report's CSV files).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim import lang, stats
from sim.columns import FAMILY_LABELS, by_family, column
from sim.decision import GROUP, mean_interval
from sim.figures import label
from sim.lang import t
from sim.report.answer import Analysis

DASH = "–"


def number(value: float, digits: int = 2, sign: bool = False) -> str:
    """A number with thousands separators, or an en dash for a missing one."""
    if value is None or not np.isfinite(value):
        return DASH
    return f"{value:{'+' if sign else ''},.{digits}f}"


def at_least_zero(value: float, digits: int = 3) -> str:
    """A quantity whose zero means 'none' (a regret): a positive value too small to show reads '<0.001', not '0.000'."""
    if value is not None and np.isfinite(value) and 0 < value < 0.5 * 10**-digits:
        return f"<{10**-digits:.{digits}f}"
    return number(value, digits)


def interval(mean: float, low: float, high: float, digits: int = 2, sign: bool = True) -> str:
    """'+0.35 [+0.31, +0.39]'; the interval is left out when it is missing (one replicate)."""
    text = number(mean, digits, sign)
    if not (np.isfinite(low) and np.isfinite(high)):
        return text
    return f"{text} [{number(low, digits, sign)}, {number(high, digits, sign)}]"


def p_value(p: float) -> str:
    """'< 0.001' for tiny p-values, else three decimals."""
    if p is None or not np.isfinite(p):
        return DASH
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def family_title(family: str) -> str:
    if family == "overall":
        return t("overall", "总体")
    english, chinese = FAMILY_LABELS[family]
    return t(english, chinese)


def persistence(regime: str) -> str:
    """A column heading: 'persistence: sustain' / '持续性:持续'."""
    return t(f"persistence: {regime}", f"持续性:{lang.regime(regime)}")


def _better(better: str | None) -> str:
    return {"higher": t("higher", "越高越好"), "lower": t("lower", "越低越好")}.get(better or "", DASH)


def scale_table(a: Analysis) -> pd.DataFrame:
    """The decision outcomes: family, better direction and what one score point means."""
    rows = []
    for family, outcomes in by_family().items():
        for name in outcomes:
            c = column(name)
            one = c.score_scale * c.scale
            rows.append({
                t("family", "类别"): family_title(family),
                t("outcome", "结果"): f"{c.title} ({c.unit})",
                t("better", "方向"): _better(c.better),
                t("one score point", "1分相当于"): f"{number(one, 0 if one >= 10 else 1)} {c.difference_unit}",
                t("why", "依据"): c.score_source,
            })  # fmt: skip
    return pd.DataFrame(rows).set_index([t("family", "类别"), t("outcome", "结果")])


def score_table(a: Analysis, conditions: Sequence[str]) -> pd.DataFrame:
    """Family and overall scores, mean [95% CI] over replicates: rows regime x condition."""
    families = [f for f in (*by_family(), "overall") if f in set(a.summary["score"])]
    rows = {}
    for regime in a.regimes:
        for condition in conditions:
            chosen = a.summary[(a.summary["regime"] == regime) & (a.summary["condition"] == condition)].set_index("score")
            rows[(lang.regime(regime), label(condition))] = [
                interval(*chosen.loc[f, ["mean", "ci_low", "ci_high"]]) for f in families
            ]
    index = pd.MultiIndex.from_tuples(list(rows), names=[t("persistence", "持续性"), t("condition", "方案")])
    return pd.DataFrame(list(rows.values()), index=index, columns=[family_title(f) for f in families])


def leader_by_year(a: Analysis) -> pd.DataFrame:
    """Which program alone leads, and with what P(best), when the evaluation ends at each year-end."""
    frame = a.by_year.assign(condition=a.by_year["scenario"].map(a.code))
    cells = {}
    for (regime, year), rows in frame.groupby(["regime", "year"], sort=False):
        lead = rows[rows["scenario"] == rows["leader"].iloc[0]].iloc[0]
        cells.setdefault(regime, {})[year] = f"{lead['condition']} ({lead['p_best']:.0%})"
    table = pd.DataFrame(cells)[a.regimes]
    table.index.name = t("evaluation ends Dec", "评估截至12月")
    return table.rename(columns=persistence)


def sensitivity_table(a: Analysis) -> pd.DataFrame:
    """The leading program alone under each weighting and discount-rate variant, per regime."""
    s = a.sensitivity.assign(leader=a.sensitivity["leader"].map(a.code), variant=a.sensitivity["variant"].map(variant_text))
    table = s.pivot_table(index="variant", columns="regime", values="leader", aggfunc="first", sort=False)[a.regimes]
    return table.rename(columns=persistence).rename_axis(t("scoring", "评分方式"), axis=0).rename_axis(None, axis=1)


def variant_text(variant: str) -> str:
    """A scoring variant ('as reported', 'pipeline only', 'a 3% discount rate') in the report language."""
    if lang.current() != "zh":
        return variant
    if variant == "as reported":
        return "按报告设定"
    for english, chinese in FAMILY_LABELS.values():
        if variant == f"{english.lower()} only":
            return f"仅{chinese}"
        if variant == f"without {english.lower()}":
            return f"不计{chinese}"
    if variant.startswith("a ") and variant.endswith(" discount rate"):
        return f"折现率{variant[2:-14]}"
    return variant


def cost_line_table(a: Analysis) -> pd.DataFrame:
    """Every cost line: program, lever, when it is paid, basis, low/central/high and the reasoning."""
    from sim.programs import standard_programs

    kinds = {(p.id, lever): s.kind for p in standard_programs().values() for lever, s in p.settings.items()}
    lines = a.lines.copy()
    kind_text = {"investment": t("investment", "投资型"), "recurring": t("recurring", "经常性")}
    per_text = {
        "community_year": t("community year", "元/社区·年"),
        "cadre_year": t("cadre year", "元/后备干部·年"),
        "central_west_cadre_year": t("central/western cadre year", "元/中西部后备干部·年"),
    }
    out = pd.DataFrame({
        t("program", "工程"): lines["program"],
        t("lever", "政策杠杆"): lines["lever"],
        t("kind", "类型"): [kind_text.get(kinds.get(k, ""), DASH) for k in zip(lines["program"], lines["lever"], strict=True)],
        t("paid", "支付时间"): lines["phase"].map({"window": t("each year of the window", "实施期内每年"),
                                               "maintenance": t("each year after (sustain)", "实施期后每年(持续)")}),
        t("yuan per", "计费单位"): lines["per"].map(lambda p: per_text.get(p, p.replace("_", " "))),
        t("low", "低"): lines["low"].map(lambda v: number(v, 0)),
        t("central", "中"): lines["central"].map(lambda v: number(v, 0)),
        t("high", "高"): lines["high"].map(lambda v: number(v, 0)),
        t("reasoning", "理由(英文原文)"): lines["reason"],
    })  # fmt: skip
    return out.set_index([t("program", "工程"), t("lever", "政策杠杆")])


def national(value: float) -> str:
    """A national amount of yuan in the report's unit: billions in English ('45.2'), 亿 (1e8) in Chinese ('452')."""
    return t(f"{value / 1e9:,.1f}", f"{value / 1e8:,.0f}")


def national_unit() -> str:
    return t("billion yuan", "亿元")


def communities(n: int) -> str:
    """'110,000 communities' / '11万个社区'."""
    return t(f"{n:,} communities", f"{n / 1e4:g}万个社区")


def cost_totals(a: Analysis, conditions: Sequence[str]) -> pd.DataFrame:
    """Discounted cost per community (expected, 95% price range) and nationally, per regime and condition."""
    s = a.settings
    rows = {}
    for regime in a.regimes:
        for condition in conditions:
            row = a.costs[(a.costs["regime"] == regime) & (a.costs["condition"] == condition)].iloc[0]
            rows[(lang.regime(regime), label(condition))] = [
                f"{number(row['expected'], 0)} ({number(row['low'], 0)}–{number(row['high'], 0)})",
                f"{national(row['national_expected'])} ({national(row['national_low'])}–{national(row['national_high'])})",
            ]
    index = pd.MultiIndex.from_tuples(list(rows), names=[t("persistence", "持续性"), t("condition", "方案")])
    columns = [
        t("yuan per community (95% price range)", "元/社区(95%价格区间)"),
        t(
            f"billion yuan for {communities(s.national_communities)}",
            f"{communities(s.national_communities)}合计({national_unit()})",
        ),
    ]
    return pd.DataFrame(list(rows.values()), index=index, columns=columns)


def frontier_table(a: Analysis, frontier: pd.DataFrame) -> pd.DataFrame:
    """Efficiency frontier per regime: expected cost and score, status, ICER and what dominates."""
    status = {"frontier": t("frontier", "有效前沿"), "dominated": t("dominated", "被占优"),
              "extendedly dominated": t("extendedly dominated", "被扩展占优")}  # fmt: skip
    out = pd.DataFrame({
        t("persistence", "持续性"): frontier["regime"].map(lang.regime),
        t("condition", "方案"): frontier["condition"].map(lambda c: lang.status_quo() if c == "baseline" else c),
        t("discounted cost per community (yuan)", "每社区折现成本(元)"): frontier["cost"].map(lambda v: number(v, 0)),
        t("overall score", "总体得分"): frontier["effect"].map(lambda v: number(v, 3)),
        t("status", "状态"): frontier["status"].map(lambda s: status.get(s, s)),
        t("ICER (yuan per score point)", "增量成本效果比(元/分)"): frontier["icer"].map(lambda v: number(v, 0)),
        t("against", "对比"): frontier["compared_with"].map(lambda s: a.code.get(s, DASH) if isinstance(s, str) else DASH),
        t("dominated by", "被谁占优"): frontier["dominated_by"].map(lambda s: _codes(a, s)),
    })  # fmt: skip
    return out.set_index([t("persistence", "持续性"), t("condition", "方案")])


def _codes(a: Analysis, text: object) -> str:
    if not isinstance(text, str):
        return DASH
    names = (lang.status_quo() if part == "baseline" else a.code.get(part, part) for part in text.split(" and "))
    return t(" and ", " 和 ").join(names)


def synergy_table(a: Analysis, factors: Sequence[str] = ("P1", "P2", "P3")) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Factorial OLS of the overall score per regime: effects alone and synergies (display table, tidy table)."""
    members = {s: [] if c == "baseline" else c.split("+") for s, c in a.code.items()}
    tidy = []
    for regime in a.regimes:
        rows = a.scores[a.scores[GROUP] == a.point(regime)]
        base = rows.groupby("replicate").size().index  # the baseline scores 0 against itself
        baseline = pd.DataFrame({"scenario": a.spec.baseline, "replicate": base, "overall": 0.0})
        data = stats.add_indicators(pd.concat([rows[["scenario", "replicate", "overall"]], baseline]), members, factors)
        fit = stats.factorial_fit(data, "overall", factors)
        tidy.append(stats.factorial_effects(fit, factors).assign(regime=regime))
    tidy_frame = pd.concat(tidy, ignore_index=True)
    cells = {(r.regime, r.term): f"{interval(r.estimate, r.ci_low, r.ci_high, 3)}, p {p_value(r.p_value)}"
             for r in tidy_frame.itertuples()}  # fmt: skip
    terms = list(dict.fromkeys(tidy_frame["term"]))
    names = [t(f"{x} alone", f"{x} 单独") if "+" not in x else t(f"{x} interaction", f"{x} 交互作用").replace("+", " × ")
             for x in terms]  # fmt: skip
    display = pd.DataFrame({persistence(r): [cells[(r, x)] for x in terms] for r in a.regimes},
                           index=pd.Index(names, name=t("term (overall score)", "项(总体得分)")))  # fmt: skip
    return display, tidy_frame


def outcome_table(a: Analysis, regime: str, conditions: Sequence[str], value: str = "discounted") -> pd.DataFrame:
    """Per decision outcome: the integrated effect (discounted average difference over the period), mean [95% CI]."""
    rows = a.effects[a.effects["regime"] == regime]
    out = {}
    for outcome in dict.fromkeys(rows["outcome"]):
        c = column(outcome)
        cells = []
        for condition in conditions:
            x = rows[(rows["outcome"] == outcome) & (rows["condition"] == condition)][value] * c.scale
            cells.append(interval(*mean_interval(x)))
        cue = "↑" if c.direction > 0 else "↓"
        out[t(f"{c.label} ({c.difference_unit}; {cue} better)", f"{c.title}({c.difference_unit};{cue} 为好)")] = cells
    return pd.DataFrame(out, index=[label(c) for c in conditions]).T.rename_axis(t("outcome", "结果"))


def modes_table(a: Analysis) -> pd.DataFrame:
    """Per evaluation window and regime: the leading program alone, its paired lead (95% CI) and P(best)."""
    cells: dict[str, dict[str, str]] = {}
    for r in a.modes.itertuples():
        share = getattr(r, f"p_best_{r.best}")
        lead = f"{a.code[r.best]}: {signed(r.lead)} [{signed(r.ci_low)}, {signed(r.ci_high)}] " + t(
            f"over {a.code[r.runner_up]}, P(best) {share:.0%}", f"领先 {a.code[r.runner_up]},P(最优) {share:.0%}"
        )
        cells.setdefault(r.regime, {})[lang.choice_name("mode", r.mode)] = lead
    table = pd.DataFrame(cells)[a.regimes]
    table.index.name = t("evaluation window", "评估期")
    return table.rename(columns=persistence)


def subgroup_table(a: Analysis, regime: str) -> pd.DataFrame:
    """Per kind of community (one regime): communities, each program's score (95% CI), P(best) [95% CI], cost per point."""
    from sim.subgroups import SUBGROUPS

    rows = a.subgroups[a.subgroups["regime"] == regime]
    out = []
    for group, block in rows.groupby("subgroup", sort=False):
        row = {t("communities", "社区类型"): t(SUBGROUPS[group].label, SUBGROUPS[group].label_zh),
               t("communities per run", "每次运行社区数"): f"{block['communities'].iloc[0]:.0f}"}  # fmt: skip
        for r in block.itertuples():
            row[t(f"{r.condition} score", f"{r.condition} 得分")] = interval(r.score, r.score_low, r.score_high, sign=False)
            share = f"{r.p_best:.0%} [{100 * r.p_best_low:.0f}–{r.p_best_high:.0%}]"
            row[t(f"{r.condition} P(best)", f"{r.condition} P(最优)")] = share
            row[t(f"{r.condition} yuan per point", f"{r.condition} 每分元")] = (
                f"{r.cost_per_point:,.0f}" if r.cost_per_point == r.cost_per_point else DASH
            )
        lead = block.iloc[0]
        row[t("leader, lead [95% CI]", "领先者,领先幅度[95%置信区间]")] = (
            f"{lead['leader']} {signed(lead['lead'])} [{signed(lead['lead_low'])}, {signed(lead['lead_high'])}]"
        )
        out.append(row)
    return pd.DataFrame(out).set_index(t("communities", "社区类型"))


def signed(value: float) -> str:
    return f"{value:+.2f}"
