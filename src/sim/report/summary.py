"""The plain-language summary at the top of the program-comparison report, written from the results.

Nothing here is hard-coded about which program wins: every sentence is assembled from the
ranking, the paired effects, the factorial synergies and the costs that the notebook computed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from sim.figures import label, outcome_label
from sim.stats import direction

CAVEAT = (
    "**Read with care.** Every input is a figure reported by one policy article that cannot be "
    "verified here (several come from single-site pilots), program costs are this project's "
    "assumptions, and the model adds its own assumptions. The results say what follows *if* "
    "those figures and assumptions hold: scenario exploration, not a forecast. The intervals "
    "cover run-to-run randomness only, not uncertainty in the inputs. Response speed is the one "
    "outcome whose article figure the calibrated model does not reproduce (held out of the "
    "calibration, F45: the model's rise is far larger than the article's +35%; see "
    "reports/reproduce_article/), so its effects here are likely overstated."
)


def unit_word(outcome: str) -> str:
    """How a difference in `outcome` is spoken of: percentage points, points or index points."""
    spec = outcome_label(outcome)
    return "percentage points" if spec.scale == 100 else ("points" if "points" in spec.unit else "index points")


def describe_effect(outcome: str, difference: float, low: float, high: float, digits: int = 1) -> str:
    """'idle rate -5.1 percentage points [-6.0, -4.2]' in display units."""
    spec = outcome_label(outcome)
    s, f = spec.scale, f"+.{digits}f"
    return f"{spec.title.lower()} {difference * s:{f}} {unit_word(outcome)} [{low * s:{f}}, {high * s:{f}}]"


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def ranking_text(ranking: pd.DataFrame, replicates: int, outcomes: int) -> str:
    """The programs in order of mean rank, with the share of replicates in which each ranks first."""
    parts = []
    for position, (condition, row) in enumerate(ranking.iterrows(), start=1):
        parts.append(
            f"{position}. **{label(str(condition))}** (mean rank {row['mean_rank']:.2f} of {len(ranking)}; "
            f"best overall in {row['p_first']:.0%} of replicates)"
        )
    text = (
        f"Ranking the programs run alone on all {outcomes} headline outcomes at the end of 2030 (each weighted "
        f"equally), replicate by replicate ({replicates} paired replicates): " + "; ".join(parts) + ". "
    )
    best = ranking["p_first"].idxmax()
    share = ranking["p_first"].max()
    if share >= 0.9:
        text += f"The ranking is clear: {label(str(best))} is best overall in {share:.0%} of replicates."
    elif share >= 0.7:
        text += f"The ranking is likely but not certain: {label(str(best))} is best overall in {share:.0%} of replicates."
    else:
        text += (
            f"The ranking is uncertain: no program is best overall in more than {share:.0%} of replicates, "
            "so which one comes first depends on the run's luck."
        )
    return text


def effects_text(effects_end: pd.DataFrame, condition: str, scenario: str) -> str:
    """How many outcomes a condition improves, worsens or leaves unclear, and its two largest improvements."""
    rows = effects_end[effects_end["scenario"] == scenario]
    counts = rows["verdict"].value_counts()
    better = rows[rows["verdict"] == "better"].copy()
    text = (
        f"**{label(condition)}** against the status quo: better on {_count(int(counts.get('better', 0)), 'outcome')}, "
        f"worse on {int(counts.get('worse', 0))}, unclear on {int(counts.get('unclear', 0))} (95% intervals)"
    )
    if not better.empty:
        better["size"] = (better["difference"] * better["outcome"].map(direction)).abs() * better["outcome"].map(
            lambda o: outcome_label(o).scale
        )
        top = better.sort_values("size", ascending=False).head(2)
        text += "; largest: " + "; ".join(describe_effect(r.outcome, r.difference, r.ci_low, r.ci_high) for r in top.itertuples())
    worse = rows[rows["verdict"] == "worse"]
    if not worse.empty:
        text += "; worse: " + "; ".join(describe_effect(r.outcome, r.difference, r.ci_low, r.ci_high) for r in worse.itertuples())
    return text + "."


def window_text(effects: pd.DataFrame, singles: Sequence[str], codes: Mapping[str, str], checkpoints: Mapping[str, str]) -> str:
    """For each program alone: how many outcomes it improves at the end of its own window, and by the end of the run."""
    end = list(dict.fromkeys(effects["checkpoint"]))[-1]
    parts = []
    for scenario in singles:
        at = checkpoints[codes[scenario]]
        own = effects[(effects["scenario"] == scenario) & (effects["checkpoint"] == at)]
        last = effects[(effects["scenario"] == scenario) & (effects["checkpoint"] == end)]
        parts.append(
            f"{codes[scenario]} {(own['verdict'] == 'better').sum()} of {len(own)} outcomes at {at.split(' (')[0]} "
            f"and {(last['verdict'] == 'better').sum()} at {end.split(' (')[0]}"
        )
    lead = "**Persistence:** run alone, each program improves (95% intervals), at the end of its window and of the run, "
    return lead + "; ".join(parts) + "."


def synergy_text(factorial: pd.DataFrame) -> str:
    """Which interaction terms (synergies) have intervals that exclude zero, grouped by program combination."""
    synergies = factorial[factorial["kind"] == "synergy"]
    clear = synergies[(synergies["ci_low"] > 0) | (synergies["ci_high"] < 0)]
    total = len(synergies)
    if clear.empty:
        return (
            f"**Synergy:** none of the {total} interaction terms (program pairs and the triple, on every outcome) "
            "is distinguishable from zero: on this evidence the programs' effects add up."
        )
    groups = []
    for term, rows in clear.groupby("term", sort=False):
        reinforce = rows[rows["estimate"] * rows["outcome"].map(direction) > 0]
        overlap = rows.drop(reinforce.index)
        for kind, chosen in (("reinforce each other", reinforce), ("overlap (together less than the sum)", overlap)):
            if not chosen.empty:
                items = "; ".join(describe_effect(r.outcome, r.estimate, r.ci_low, r.ci_high) for r in chosen.itertuples())
                groups.append(f"{term.replace('+', ' and ')} {kind} on {items}")
    verb = "is" if len(clear) == 1 else "are"
    return f"**Synergy:** {len(clear)} of {total} interaction terms {verb} distinguishable from zero. " + ". ".join(groups) + "."


def cost_text(costs_per_community: Mapping[str, float], effectiveness: pd.DataFrame, codes: Mapping[str, str],
              singles: Sequence[str], outcome: str = "mean_competence") -> str:  # fmt: skip
    """Program costs to 2030 per community and which single program buys the most of `outcome` per 10,000 yuan."""
    spent = ", ".join(f"{codes[s]} {costs_per_community[s]:,.0f}" for s in singles)
    rows = effectiveness[(effectiveness["outcome"] == outcome) & effectiveness["scenario"].isin(singles)]
    text = f"**Cost:** to the end of 2030 the programs cost, per community, {spent} yuan (assumed costs, data/programs.yaml)."
    column = next(c for c in rows.columns if c.startswith("improvement_per_"))
    if not rows.empty:
        best = rows.sort_values(column, ascending=False).iloc[0]
        spec = outcome_label(outcome)
        change = best[column] * direction(outcome) * spec.scale
        text += (
            f" Per 10,000 yuan spent per community, {codes[best['scenario']]} buys the most {spec.title.lower()}: "
            f"{change:+.3f} {unit_word(outcome)}."
        )
    return text


def plain_summary(
    ranking: pd.DataFrame,
    effects: pd.DataFrame,
    factorial: pd.DataFrame,
    costs_per_community: Mapping[str, float],
    effectiveness: pd.DataFrame,
    codes: Mapping[str, str],
    singles: Sequence[str],
    everything: str,
    checkpoints: Mapping[str, str],
    replicates: int,
    n_communities: int,
    outcomes: int,
) -> str:
    """The report's opening summary, as Markdown.

    `effects` holds the paired effects at every checkpoint (column `checkpoint`, the last one the
    end of the run); `checkpoints` maps each program's code to the checkpoint ending its window.
    """
    end = list(dict.fromkeys(effects["checkpoint"]))[-1]
    effects_end = effects[effects["checkpoint"] == end]
    lines = [
        "## Summary",
        "",
        f"*{replicates} paired replicates per condition, {n_communities} communities, June 2023 to December 2030; "
        f"differences are each condition minus the status quo in the same replicate (common random numbers).*",
        "",
        ranking_text(ranking, replicates, outcomes),
        "",
    ]
    for scenario in [*singles, everything]:
        lines += [f"- {effects_text(effects_end, codes[scenario], scenario)}"]
    lines += ["", window_text(effects, singles, codes, checkpoints), "", synergy_text(factorial)]
    lines += ["", cost_text(costs_per_community, effectiveness, codes, singles), "", CAVEAT]
    return "\n".join(lines)
