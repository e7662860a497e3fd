"""Display tables of the program-comparison report, built from `sim.report.answer.Analysis`.

Each returns a pandas DataFrame ready to show: labelled rows and columns, numbers as text
with thousands separators, intervals as 'mean [low, high]', never a raw NaN. The tidy
numbers behind them are the Analysis tables (and the report's CSV files).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim import stats
from sim.columns import FAMILY_LABELS, by_family, column
from sim.decision import GROUP, mean_interval
from sim.figures import label
from sim.report.answer import Analysis

DASH = "–"


def number(value: float, digits: int = 2, sign: bool = False) -> str:
    """A number with thousands separators, or an en dash for a missing one."""
    if value is None or not np.isfinite(value):
        return DASH
    return f"{value:{'+' if sign else ''},.{digits}f}"


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
    return "overall" if family == "overall" else FAMILY_LABELS[family][0]


def scale_table(a: Analysis) -> pd.DataFrame:
    """The decision outcomes: family, better direction and what one score point means."""
    rows = []
    for family, outcomes in by_family().items():
        for name in outcomes:
            c = column(name)
            one = c.score_scale * c.scale
            rows.append({
                "family": family_title(family),
                "outcome": f"{c.label} ({c.unit})",
                "better": c.better,
                "one score point": f"{number(one, 0 if one >= 10 else 1)} {c.difference_unit}",
                "why": c.score_source,
            })  # fmt: skip
    return pd.DataFrame(rows).set_index(["family", "outcome"])


def score_table(a: Analysis, conditions: Sequence[str]) -> pd.DataFrame:
    """Family and overall scores, mean [95% CI] over replicates: rows regime x condition."""
    families = [f for f in (*by_family(), "overall") if f in set(a.summary["score"])]
    rows = {}
    for regime in a.regimes:
        for condition in conditions:
            chosen = a.summary[(a.summary["regime"] == regime) & (a.summary["condition"] == condition)].set_index("score")
            rows[(regime, label(condition))] = [interval(*chosen.loc[f, ["mean", "ci_low", "ci_high"]]) for f in families]
    index = pd.MultiIndex.from_tuples(list(rows), names=["persistence", "condition"])
    return pd.DataFrame(list(rows.values()), index=index, columns=[family_title(f) for f in families])


def leader_by_year(a: Analysis) -> pd.DataFrame:
    """Which program alone leads, and with what P(best), when the evaluation ends at each year-end."""
    frame = a.by_year.assign(condition=a.by_year["scenario"].map(a.code))
    cells = {}
    for (regime, year), rows in frame.groupby(["regime", "year"], sort=False):
        lead = rows[rows["scenario"] == rows["leader"].iloc[0]].iloc[0]
        cells.setdefault(regime, {})[year] = f"{lead['condition']} ({lead['p_best']:.0%})"
    table = pd.DataFrame(cells)[a.regimes]
    table.index.name = "evaluation ends Dec"
    return table.rename(columns=lambda r: f"persistence: {r}")


def sensitivity_table(a: Analysis) -> pd.DataFrame:
    """The leading program alone under each weighting and discount-rate variant, per regime."""
    s = a.sensitivity.assign(leader=a.sensitivity["leader"].map(a.code))
    table = s.pivot_table(index="variant", columns="regime", values="leader", aggfunc="first", sort=False)[a.regimes]
    return table.rename(columns=lambda r: f"persistence: {r}").rename_axis("scoring", axis=0).rename_axis(None, axis=1)


def cost_line_table(a: Analysis) -> pd.DataFrame:
    """Every cost line: program, lever, when it is paid, basis, low/central/high and the reasoning."""
    from sim.programs import standard_programs

    kinds = {(p.id, lever): s.kind for p in standard_programs().values() for lever, s in p.settings.items()}
    lines = a.lines.copy()
    out = pd.DataFrame({
        "program": lines["program"],
        "lever": lines["lever"],
        "kind": [kinds.get((p, lev), DASH) for p, lev in zip(lines["program"], lines["lever"], strict=True)],
        "paid": lines["phase"].map({"window": "each year of the window", "maintenance": "each year after (sustain)"}),
        "yuan per": lines["per"].str.replace("_", " ").str.replace("central west", "central/western"),
        "low": lines["low"].map(lambda v: number(v, 0)),
        "central": lines["central"].map(lambda v: number(v, 0)),
        "high": lines["high"].map(lambda v: number(v, 0)),
        "reasoning": lines["reason"],
    })  # fmt: skip
    return out.set_index(["program", "lever"])


def cost_totals(a: Analysis, conditions: Sequence[str]) -> pd.DataFrame:
    """Discounted cost per community (expected, 95% price range) and nationally, per regime and condition."""
    s = a.settings
    rows = {}
    for regime in a.regimes:
        for condition in conditions:
            row = a.costs[(a.costs["regime"] == regime) & (a.costs["condition"] == condition)].iloc[0]
            rows[(regime, label(condition))] = [
                f"{number(row['expected'], 0)} ({number(row['low'], 0)}–{number(row['high'], 0)})",
                f"{row['national_expected'] / 1e9:,.1f} ({row['national_low'] / 1e9:,.1f}–{row['national_high'] / 1e9:,.1f})",
            ]
    index = pd.MultiIndex.from_tuples(list(rows), names=["persistence", "condition"])
    columns = ["yuan per community (95% price range)", f"billion yuan for {s.national_communities:,} communities"]
    return pd.DataFrame(list(rows.values()), index=index, columns=columns)


def frontier_table(a: Analysis, frontier: pd.DataFrame) -> pd.DataFrame:
    """Efficiency frontier per regime: expected cost and score, status, ICER and what dominates."""
    out = pd.DataFrame({
        "persistence": frontier["regime"],
        "condition": frontier["condition"].map(lambda c: "status quo" if c == "baseline" else c),
        "discounted cost per community (yuan)": frontier["cost"].map(lambda v: number(v, 0)),
        "overall score": frontier["effect"].map(lambda v: number(v, 3)),
        "status": frontier["status"],
        "ICER (yuan per score point)": frontier["icer"].map(lambda v: number(v, 0)),
        "against": frontier["compared_with"].map(lambda s: a.code.get(s, DASH) if isinstance(s, str) else DASH),
        "dominated by": frontier["dominated_by"].map(lambda s: _codes(a, s)),
    })  # fmt: skip
    return out.set_index(["persistence", "condition"])


def _codes(a: Analysis, text: object) -> str:
    if not isinstance(text, str):
        return DASH
    return " and ".join(a.code.get(part, part) for part in text.split(" and "))


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
    display = pd.DataFrame({f"persistence: {r}": [cells[(r, t)] for t in terms] for r in a.regimes},
                           index=pd.Index([f"{t} alone" if "+" not in t else f"{t.replace('+', ' × ')} synergy" for t in terms],
                                          name="term (overall score)"))  # fmt: skip
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
        out[f"{c.label} ({c.difference_unit}; {cue} better)"] = cells
    return pd.DataFrame(out, index=[label(c) for c in conditions]).T.rename_axis("outcome")
