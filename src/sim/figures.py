"""Figure style and helpers for the notebooks and reports (matplotlib).

One look for every figure a policy audience sees: the Okabe–Ito colour-blind-safe palette,
one fixed colour per program combination (the same in every figure), outcome labels with
units, and the program windows (P1 2024–26, P2 2025–27, P3 2026–28, from data/programs.yaml)
shaded on time axes.

    from sim import figures
    figures.use_style()
    fig, ax = plt.subplots()
    figures.shade_programs(ax)
    figures.finish(fig, "Idle rate", note="Mean over 30 replicates.")
    figures.save(fig, output_dir, "headline_over_time")
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim import lang
from sim.columns import Column, column
from sim.lang import t
from sim.programs import Program, standard_programs

# Okabe & Ito (2008), "Color Universal Design": distinguishable with any common colour-vision deficiency.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
# Conditions are named by the programs they contain ('' = none); every figure uses these colours.
CONDITION_COLOURS = {
    "baseline": OKABE_ITO["black"],
    "P1": OKABE_ITO["orange"],
    "P2": OKABE_ITO["sky_blue"],
    "P3": OKABE_ITO["bluish_green"],
    "P1+P2": OKABE_ITO["blue"],
    "P1+P3": OKABE_ITO["reddish_purple"],
    "P2+P3": OKABE_ITO["yellow"],
    "P1+P2+P3": OKABE_ITO["vermillion"],
}
CONDITION_LABELS = {
    "baseline": "Baseline (status quo)",
    "P1": "P1 Talent Foundation",
    "P2": "P2 Digital Foundation",
    "P3": "P3 Innovation Leap",
    "P1+P2": "P1 + P2",
    "P1+P3": "P1 + P3",
    "P2+P3": "P2 + P3",
    "P1+P2+P3": "All three (P1 + P2 + P3)",
}
PROGRAM_IDS = ("P1", "P2", "P3")
# Categories that are not conditions (flows, education, levels, cohorts) use other colour-blind-safe
# palettes, so a program's colour always means that program.
NEUTRAL = "#BBBBBB"  # the June 2023 state in start/end comparisons
NEUTRAL_DARK = "#777777"
TOL_BRIGHT = ("#4477AA", "#66CCEE", "#228833", "#CCBB44", "#EE6677", "#AA3377", "#BBBBBB")  # Paul Tol, colour-blind safe
FLOW_COLOURS = {
    "recruits": TOL_BRIGHT[0],
    "promotions": TOL_BRIGHT[2],
    "exits_voluntary": TOL_BRIGHT[4],
    "exits_appraisal": TOL_BRIGHT[5],
    "exits_retirement": TOL_BRIGHT[6],
}
EDUCATION_COLOURS = ("#DDDDDD", "#9CC3E0", "#3A6EA5")  # below bachelor, bachelor, master's or higher
LEVEL_COLOURS = tuple(mpl.colors.to_hex(c) for c in mpl.colormaps["cividis"](np.linspace(0.05, 0.95, 5)))  # CGCMM 1-5


DOMAIN_LABELS = {
    "competence_policy_law": "Policy & law",
    "competence_emergency": "Emergency response",
    "competence_digital": "Digital skills",
    "competence_elderly_social": "Elderly & social work",
    "competence_mediation": "Mediation",
}
START = pd.Period("2023-06", freq="M")  # month 0, as in sim.model


def use_style() -> None:
    """Readable defaults: larger fonts, light grid, no top/right spines, Okabe–Ito colour cycle.

    In Chinese (`sim.lang.set_language("zh")` first) text is set in the project's own CJK font (`sim.fonts`).
    """
    from sim import fonts

    fonts.use_language(lang.current())
    mpl.rcParams.update(
        {
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "figure.constrained_layout.use": True,
            "font.size": 10,
            "axes.titlesize": 11,
            "axes.titleweight": "bold",
            "axes.labelsize": 10,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.color": "#dddddd",
            "grid.linewidth": 0.6,
            "legend.frameon": False,
            "axes.axisbelow": True,
            "axes.prop_cycle": mpl.cycler(color=[*list(OKABE_ITO.values())[1:], OKABE_ITO["black"]]),
        }
    )


def condition_code(programs: Iterable[str]) -> str:
    """'P1+P3' for programs {P3, P1}; 'baseline' for none."""
    ids = sorted(set(programs))
    return "+".join(ids) if ids else "baseline"


def colour(condition: str) -> str:
    """The fixed colour of a condition code ('baseline', 'P1', 'P1+P2', ...)."""
    return CONDITION_COLOURS.get(condition, OKABE_ITO["black"])


def label(condition: str) -> str:
    """A condition in words, in the report language ('P1 Talent Foundation', 'P1 强基工程'; sim.lang)."""
    if condition in CONDITION_LABELS:
        return lang.condition(condition)
    return condition


def outcome_label(outcome: str) -> Column:
    """How an output column is shown: label, unit, display scale, better direction (data/outputs.yaml)."""
    return column(outcome)


def month_dates(months: Iterable[int] | np.ndarray | pd.Series) -> pd.DatetimeIndex:
    """Model months (0 = June 2023) as month-end dates, for time axes."""
    return pd.DatetimeIndex([(START + int(m)).to_timestamp(how="end").normalize() for m in months])


def programs(ids: Iterable[str] | None = None) -> list[Program]:
    """The standard programs (data/programs.yaml), optionally only those with the given IDs."""
    chosen = list(standard_programs().values())
    return [p for p in chosen if ids is None or p.id in set(ids)]


def sequential(n: int) -> list[str]:
    """`n` ordered colours (viridis, perceptually uniform and colour-blind safe), e.g. for cohorts."""
    return [mpl.colors.to_hex(c) for c in mpl.colormaps["viridis"](np.linspace(0.0, 0.9, n))]


def shade_programs(ax: Axes, windows: Sequence[Program] | None = None, labels: bool = True) -> None:
    """Shade each program's window (January of its first year to December of its last) on a date axis.

    A faint full-height band in the program's colour, plus a solid strip with its ID along the
    top of the axes, so overlapping windows stay readable.
    """
    windows = programs() if windows is None else windows
    order = {pid: i for i, pid in enumerate(PROGRAM_IDS)}
    for program in windows:
        start, end = pd.Timestamp(f"{program.start}-01-01"), pd.Timestamp(f"{program.end}-12-31")
        c = colour(program.id)
        ax.axvspan(start, end, color=c, alpha=0.07, lw=0, zorder=0)
        i = order.get(program.id, 0)
        top = 1 - 0.035 * i
        ax.axvspan(start, end, ymin=top - 0.03, ymax=top, color=c, alpha=0.85, lw=0, zorder=1)
        if labels:
            ax.text(start, top - 0.015, f" {program.id}", transform=ax.get_xaxis_transform(), va="center", ha="left",
                    fontsize=7, color="black", zorder=2)  # fmt: skip


def band(ax: Axes, dates: Sequence, centre: Sequence[float], low: Sequence[float], high: Sequence[float],
         condition: str, line_label: str | None = None, alpha: float = 0.2, color: str | None = None) -> None:  # fmt: skip
    """A line with a shaded interval, in the condition's colour (or `color`)."""
    c = color or colour(condition)
    ax.fill_between(dates, low, high, color=c, alpha=alpha, lw=0)
    ax.plot(dates, centre, color=c, lw=1.6, label=line_label if line_label is not None else label(condition))


def grid(n: int, ncols: int = 3, size: tuple[float, float] = (4.2, 2.9), **kwargs: object) -> tuple[Figure, np.ndarray]:
    """A figure with `n` panels in rows of `ncols` (unused panels removed); axes flattened."""
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False, **kwargs)
    flat = axes.ravel()
    for ax in flat[n:]:
        ax.remove()
    return fig, flat[:n]


NOTE = "Inputs: one policy article's unverified figures; scenario exploration, not a forecast."
NOTE_ZH = "输入:一篇政策文章中无法核实的数据;结果为情景探索,而非预测。"


def source_note() -> str:
    """The source note every figure carries, in the report language."""
    return t(NOTE, NOTE_ZH)


def finish(fig: Figure, title: str, note: str = "", legend: bool = False, handles: Sequence | None = None) -> None:
    """Title the figure, add a legend under the title (`legend`), and a source note at the bottom.

    The legend shows the first panel's entries (the conditions), or `handles` when given.
    All three are placed by constrained layout, so they never overlap the panels or each other:
    with a legend, the title is the legend's title (a suptitle and an "outside" legend would
    share the top edge); the note is the figure's x label.
    """
    if legend or handles:
        if handles:
            labels = [h.get_label() for h in handles]
        else:
            handles, labels = fig.axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside upper center", ncols=min(len(labels), 5), title=title,
                   title_fontproperties={"size": 12})  # fmt: skip
    elif title:
        fig.suptitle(title, fontsize=12)
    fig.supxlabel((note + " " if note else "") + source_note(), x=0.0, ha="left", fontsize=7.5, color="#555555")


def save(fig: Figure, output_dir: Path | str | None, name: str) -> Path | None:
    """Save `fig` as output_dir/name.png (nothing when output_dir is None, e.g. when run by nbval)."""
    if output_dir is None:
        return None
    path = Path(output_dir) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight", facecolor="white")
    return path


def over_time(
    frame: pd.DataFrame,
    outcomes: Sequence[str],
    conditions: Sequence[str],
    centre: str = "median",
    low: str = "p10",
    high: str = "p90",
    windows: Sequence[Program] | None = None,
    zero_line: bool = False,
    difference: bool = False,
    ncols: int = 3,
    colours: Mapping[str, str] | None = None,
) -> Figure:
    """One panel per outcome: a line and a shaded band over time per condition, program windows shaded.

    Add the title, the conditions' legend and the source note with `finish(fig, ..., legend=True)`.

    `frame` is long: condition (code), month, outcome and the `centre`, `low`, `high` columns,
    in the outcome's own units (scaled here for display). With `difference`, units are those
    of a difference (percentage points for shares). `colours` gives conditions that are not
    condition codes (e.g. scenario names) their colours.
    """
    fig, axes = grid(len(outcomes), ncols)
    for ax, outcome in zip(axes, outcomes, strict=True):
        spec = outcome_label(outcome)
        shade_programs(ax, windows)
        for condition in conditions:
            rows = frame[(frame["condition"] == condition) & (frame["outcome"] == outcome)].sort_values("month")
            if rows.empty:
                continue
            dates = month_dates(rows["month"])
            band(ax, dates, rows[centre] * spec.scale, rows[low] * spec.scale, rows[high] * spec.scale, condition,
                 color=(colours or {}).get(condition))  # fmt: skip
        if zero_line:
            ax.axhline(0, color="#555555", lw=0.8, zorder=1)
        low_y, high_y = ax.get_ylim()
        ax.set_ylim(low_y, high_y + 0.12 * (high_y - low_y))  # headroom for the program strips
        ax.set_title(spec.title)
        ax.set_ylabel(spec.difference_unit if difference else spec.unit)
        ax.set_xlabel(t("year", "年份"))
        ax.margins(x=0)
    return fig


def forest(
    effects: pd.DataFrame,
    outcomes: Sequence[str],
    conditions: Sequence[str],
    ncols: int = 3,
    xlabel: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """Paired differences from the reference with 95% intervals: one panel per outcome, one row per condition.

    `effects` has columns condition, outcome, difference, ci_low, ci_high (outcome units);
    `labels` names the rows (default: the condition labels). The x label ends with an arrow
    to the better side of zero for that outcome.
    """
    fig, axes = grid(len(outcomes), ncols, size=(4.2, 0.35 * len(conditions) + 1.2))
    xlabel = xlabel or t("difference from baseline ({unit})", "与基线之差({unit})")
    for ax, outcome in zip(axes, outcomes, strict=True):
        spec = outcome_label(outcome)
        rows = effects[effects["outcome"] == outcome].set_index("condition").reindex(list(conditions))
        y = np.arange(len(conditions))[::-1]
        for yi, (condition, row) in zip(y, rows.iterrows(), strict=True):
            c = colour(condition)
            centre = row["difference"] * spec.scale
            xerr = [[centre - row["ci_low"] * spec.scale], [row["ci_high"] * spec.scale - centre]]
            ax.errorbar(centre, yi, xerr=xerr, fmt="o", color=c, ecolor=c, capsize=3, ms=5)
        ax.axvline(0, color="#555555", lw=0.8)
        arrow = {1: t("better →", "更好 →"), -1: t("← better", "← 更好")}.get(spec.direction, "")
        ax.set_yticks(y, [(labels or {}).get(c, label(c)) for c in conditions], fontsize=8)
        ax.set_ylim(-0.6, len(conditions) - 0.4)
        ax.set_title(spec.title)
        ax.set_xlabel(f"{xlabel.format(unit=spec.difference_unit)}   {arrow}", fontsize=8)
        ax.grid(axis="y", visible=False)
    return fig


def heatmap(
    ax: Axes, matrix: pd.DataFrame, fmt: str = "{:.2f}", cmap: str = "cividis", vmin: float | None = None,
    vmax: float | None = None, xlabel: str = "", ylabel: str = "",
) -> mpl.image.AxesImage:  # fmt: skip
    """An annotated heat map of a small table (rows top to bottom as in the table)."""
    values = matrix.to_numpy(dtype=float)
    image = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    for (i, j), value in np.ndenumerate(values):
        if np.isfinite(value):
            red, green, blue, _ = image.cmap(image.norm(value))
            dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5  # perceived brightness of the cell
            ax.text(j, i, fmt.format(value), ha="center", va="center", fontsize=8, color="white" if dark else "black")
    ax.set_xticks(range(values.shape[1]), [str(c) for c in matrix.columns], fontsize=8)
    ax.set_yticks(range(values.shape[0]), [str(r) for r in matrix.index], fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(False)
    return image


def dodged(
    effects: pd.DataFrame, outcomes: Sequence[str], conditions: Sequence[str], x: str, order: Sequence[str], ncols: int = 3
) -> Figure:
    """Differences with 95% intervals at a few points (`x` column, in `order`), conditions side by side.

    Add the title, the conditions' legend and the source note with `finish(fig, ..., legend=True)`.

    `effects` has columns condition, outcome, `x`, difference, ci_low, ci_high (outcome units).
    """
    fig, axes = grid(len(outcomes), ncols, size=(4.2, 3.0))
    width = 0.8 / len(conditions)
    for ax, outcome in zip(axes, outcomes, strict=True):
        spec = outcome_label(outcome)
        for k, condition in enumerate(conditions):
            chosen = (effects["outcome"] == outcome) & (effects["condition"] == condition)
            rows = effects[chosen].set_index(x).reindex(list(order))
            xs = np.arange(len(order)) - 0.4 + width * (k + 0.5)
            centre = rows["difference"].to_numpy() * spec.scale
            xerr = [centre - rows["ci_low"].to_numpy() * spec.scale, rows["ci_high"].to_numpy() * spec.scale - centre]
            ax.errorbar(xs, centre, yerr=xerr, fmt="o", ms=4, capsize=2, color=colour(condition), label=label(condition))
        ax.axhline(0, color="#555555", lw=0.8)
        ax.set_xticks(range(len(order)), [str(o).split(" (")[0] for o in order], fontsize=8)
        ax.set_title(spec.title)
        ax.set_ylabel(t(f"difference ({spec.difference_unit})", f"差值({spec.difference_unit})"), fontsize=8)
        ax.grid(axis="x", visible=False)
    return fig


REGIME_MARKERS = {"sustain": "o", "decay": "s", "revert": "^"}  # persistence regimes (sim.policy)


SCORE_AXIS = "overall score (1 = the article's reported improvement, all outcomes, whole period)"
SCORE_AXIS_ZH = "总体得分(1 = 文章报告的改善幅度,覆盖全部结果与整个时期)"


def persistence_title(regime: str) -> str:
    """'persistence: sustain' / '持续性:持续'."""
    return t(f"persistence: {regime}", f"持续性:{lang.regime(regime)}")


def score_panels(summary: pd.DataFrame, conditions: Sequence[str], regimes: Sequence[str], score: str = "overall",
                 xlabel: str | None = None) -> Figure:  # fmt: skip
    """Mean score and 95% interval of each condition, one panel per persistence regime (shared x axis).

    `summary` has columns regime, condition, score, mean, ci_low, ci_high (sim.report.answer).
    """
    fig, axes = plt.subplots(1, len(regimes), figsize=(4.4 * len(regimes), 0.42 * len(conditions) + 1.3), sharex=True,
                             squeeze=False)  # fmt: skip
    rows = summary[summary["score"] == score]
    y = np.arange(len(conditions))[::-1]
    for ax, regime in zip(axes[0], regimes, strict=True):
        chosen = rows[rows["regime"] == regime].set_index("condition").reindex(list(conditions))
        for yi, (condition, row) in zip(y, chosen.iterrows(), strict=True):
            c = colour(condition)
            ax.errorbar(row["mean"], yi, xerr=[[row["mean"] - row["ci_low"]], [row["ci_high"] - row["mean"]]], fmt="o",
                        color=c, ecolor=c, capsize=3, ms=6)  # fmt: skip
        ax.axvline(0, color="#555555", lw=0.8)
        ax.set_yticks(y, [label(c) for c in conditions], fontsize=8.5)
        ax.set_ylim(-0.6, len(conditions) - 0.4)
        ax.set_title(persistence_title(regime))
        ax.grid(axis="y", visible=False)
    fig.supxlabel(xlabel or t(SCORE_AXIS, SCORE_AXIS_ZH), fontsize=9)
    return fig


def family_panels(summary: pd.DataFrame, conditions: Sequence[str], regimes: Sequence[str], families: Sequence[str],
                  titles: Mapping[str, str]) -> Figure:  # fmt: skip
    """Family scores (mean, 95% interval): one panel per family, conditions as rows, a marker per regime.

    Add the title, the regimes' legend and the note with `finish(fig, ..., handles=regime_handles(regimes))`.
    """
    # One x scale for every family, so that a family far above the others (and above the article's 1) is seen as such.
    fig, axes = grid(len(families), len(families), size=(3.4, 0.5 * len(conditions) + 1.4), sharex=True)
    offsets = np.linspace(-0.22, 0.22, len(regimes))
    y = np.arange(len(conditions))[::-1]
    for ax, family in zip(axes, families, strict=True):
        rows = summary[summary["score"] == family]
        for offset, regime in zip(offsets, regimes, strict=True):
            chosen = rows[rows["regime"] == regime].set_index("condition").reindex(list(conditions))
            for yi, (condition, row) in zip(y, chosen.iterrows(), strict=True):
                c = colour(condition)
                ax.errorbar(row["mean"], yi + offset, xerr=[[row["mean"] - row["ci_low"]], [row["ci_high"] - row["mean"]]],
                            fmt=REGIME_MARKERS.get(regime, "o"), color=c, ecolor=c, capsize=2, ms=4.5,
                            label=lang.regime(regime) if condition == conditions[0] else None)  # fmt: skip
        ax.axvline(0, color="#555555", lw=0.8)
        ax.axvline(1, color="#999999", lw=0.8, ls=":")  # the article's reported improvement
        ax.set_yticks(y, [c if c != "baseline" else lang.status_quo() for c in conditions], fontsize=8.5)
        ax.set_ylim(-0.6, len(conditions) - 0.4)
        ax.set_title(titles.get(family, family))
        ax.grid(axis="y", visible=False)
    return fig


def regime_handles(regimes: Sequence[str]) -> list:
    """Legend entries for the persistence regimes' markers."""
    return [
        mpl.lines.Line2D([], [], marker=REGIME_MARKERS.get(r, "o"), color="#444444", ls="", label=lang.regime(r)) for r in regimes
    ]


def regime_panels(regimes: Sequence[str], height: float, width: float = 4.4) -> tuple[Figure, np.ndarray]:
    """One panel per persistence regime, side by side, sharing the y axis."""
    fig, axes = plt.subplots(1, len(regimes), figsize=(width * len(regimes), height), sharey=True, squeeze=False)
    return fig, axes[0]


def p_best_by_year(by_year: pd.DataFrame, conditions: Sequence[str], regimes: Sequence[str]) -> Figure:
    """P(best) of each condition against the year-end at which the evaluation stops, one panel per regime."""
    fig, axes = regime_panels(regimes, 3.0)
    for ax, regime in zip(axes, regimes, strict=True):
        rows = by_year[by_year["regime"] == regime]
        for condition in conditions:
            line = rows[rows["condition"] == condition].sort_values("year")
            ax.plot(line["year"], 100 * line["p_best"], marker="o", ms=4, color=colour(condition), label=label(condition))
        ax.set_ylim(-3, 103)
        ax.set_xticks(sorted(rows["year"].unique()), [f"{y}" for y in sorted(rows["year"].unique())], fontsize=8)
        ax.set_title(persistence_title(regime))
        ax.set_xlabel(t("evaluation ends in December of", "评估截至该年12月"))
    axes[0].set_ylabel(t("P(best), % of replicates", "P(最优),占重复运行%"))
    return fig


def ce_plane(frontier: pd.DataFrame, regimes: Sequence[str]) -> Figure:
    """Cost-effectiveness plane: expected cost against expected overall score, frontier joined, one panel per regime."""
    fig, axes = regime_panels(regimes, 3.6)
    for ax, regime in zip(axes, regimes, strict=True):
        rows = frontier[frontier["regime"] == regime]
        on = rows[rows["status"] == "frontier"].sort_values("cost")
        ax.plot(on["effect"], on["cost"] / 1e3, color="#555555", lw=1, zorder=1)
        for row in rows.itertuples():
            hollow = row.status != "frontier"
            ax.scatter(row.effect, row.cost / 1e3, s=40, zorder=2, color="white" if hollow else colour(row.condition),
                       edgecolors=colour(row.condition), linewidths=1.5)  # fmt: skip
            name = lang.status_quo() if row.condition == "baseline" else row.condition
            ax.annotate(name, (row.effect, row.cost / 1e3), xytext=(4, -3), textcoords="offset points", fontsize=7.5)
        ax.set_title(persistence_title(regime))
        ax.set_xlabel(t("overall score (discounted)", "总体得分(折现)"))
    axes[0].set_ylabel(t("discounted cost per community (thousand yuan)", "每社区折现成本(千元)"))
    return fig


def acceptability_curves(curves: pd.DataFrame, conditions: Sequence[str], regimes: Sequence[str]) -> Figure:
    """P(best buy) of each condition against the value of one score point, one panel per regime."""
    fig, axes = regime_panels(regimes, 3.2)
    for ax, regime in zip(axes, regimes, strict=True):
        rows = curves[curves["regime"] == regime]
        for condition in conditions:
            line = rows[rows["condition"] == condition].sort_values("value")
            if line.empty or line["probability"].max() < 0.01:
                continue
            ax.plot(line["value"], 100 * line["probability"], color=colour(condition), lw=1.6, label=label(condition))
        ax.set_ylim(-3, 103)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(mpl.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))  # yuan, as the ICER tables
        ax.set_title(persistence_title(regime))
        ax.set_xlabel(t("value of one score point\n(yuan per community, log scale)", "每1分得分的价值\n(元/社区,对数刻度)"))
    axes[0].set_ylabel(t("P(best buy), % of draws", "P(最划算),占抽样%"))
    return fig


PROGRAM_ALONE = ("P1", "P2", "P3")


def p_best_bars(p_best: pd.DataFrame, regimes: Sequence[str]) -> Figure:
    """P(best) of each program alone per regime: seeds only (hatched) against parameters and seeds (solid).

    Whiskers: the 95% interval of each share (`robustness.p_best_table`), where the table has one.
    """
    fig, axes = regime_panels(regimes, 3.0, width=4.0)
    kinds = ("seeds only", "parameters and seeds")
    for ax, regime in zip(axes, regimes, strict=True):
        rows = p_best[p_best["regime"] == regime].set_index(["uncertainty", "program"])
        x = np.arange(len(PROGRAM_ALONE))
        for k, kind in enumerate(kinds):
            at, values = x + (k - 0.5) * 0.38, _percent(rows, "p_best", kind)
            low, high = _percent(rows, "p_best_low", kind), _percent(rows, "p_best_high", kind)
            ax.bar(at, values, width=0.36, color=[colour(p) for p in PROGRAM_ALONE],
                   hatch="///" if kind == "seeds only" else None, edgecolor="#333333", linewidth=0.6,
                   label=t(kind, {"seeds only": "仅随机种子", "parameters and seeds": "参数与随机种子"}[kind]))  # fmt: skip
            whiskers = np.isfinite(low) & np.isfinite(high)
            if whiskers.any():
                ax.errorbar(at[whiskers], values[whiskers], yerr=[(values - low)[whiskers], (high - values)[whiskers]],
                            fmt="none", ecolor="#333333", elinewidth=0.8, capsize=2)  # fmt: skip
            for xi, v, top in zip(at, values, np.where(whiskers, high, values), strict=True):
                if np.isfinite(v):
                    ax.text(xi, top + 1.5, f"{v:.0f}", ha="center", va="bottom", fontsize=7.5)
        ax.set_xticks(x, PROGRAM_ALONE)
        ax.set_ylim(0, 112)
        ax.set_title(persistence_title(regime))
        ax.grid(axis="x", visible=False)
    axes[0].set_ylabel(t("P(best), %", "P(最优),%"))
    return fig


def _percent(rows: pd.DataFrame, column: str, kind: str) -> np.ndarray:
    """100 x `column` of each program alone for one kind of uncertainty (NaN where the table has none)."""
    found = rows[column] if column in rows else pd.Series(dtype=float)
    return np.array([100 * found.get((kind, p), np.nan) for p in PROGRAM_ALONE])


def uncertainty_handles() -> list:
    """Legend entries: hatched = seeds only, solid = parameters and seeds."""
    grey = {"facecolor": "#cccccc", "edgecolor": "#333333"}
    return [
        mpl.patches.Patch(**grey, hatch="///", label=t("run-to-run randomness only", "仅运行间随机性")),
        mpl.patches.Patch(**grey, label=t("assumptions and run-to-run randomness", "假设与运行间随机性")),
    ]


def morris_plane(morris: pd.DataFrame, regime: str, contrasts: Sequence[str], label_top: int = 5) -> Figure:
    """Morris mu* against sigma for each contrast (one panel each); the top parameters labelled."""
    fig, axes = plt.subplots(1, len(contrasts), figsize=(4.6 * len(contrasts), 3.8), squeeze=False)
    for ax, contrast in zip(axes[0], contrasts, strict=True):
        rows = morris[(morris["regime"] == regime) & (morris["contrast"] == contrast)].sort_values("mu_star", ascending=False)
        ax.scatter(rows["mu_star"], rows["sigma"], s=14, color=NEUTRAL_DARK, zorder=2)
        top = rows.head(label_top)
        ax.scatter(top["mu_star"], top["sigma"], s=22, color=OKABE_ITO["vermillion"], zorder=3)
        for r in top.itertuples():
            ax.annotate(r.parameter, (r.mu_star, r.sigma), xytext=(3, 3), textcoords="offset points", fontsize=7)
        ax.axline((0, 0), slope=1, color="#999999", lw=0.8, ls="--")
        ax.set_title(f"{contrast}, {persistence_title(regime)}")
        ax.set_xlabel(t("mu* (mean |elementary effect|, score points)", "mu*(基本效应绝对值均值,得分点)"))
        ax.set_ylabel(t("sigma (spread: interactions, non-linearity)", "sigma(离散度:交互作用、非线性)"))
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
    return fig


def sobol_bars(sobol: pd.DataFrame, regime: str, contrasts: Sequence[str]) -> Figure:
    """First-order (S1) and total (ST) Sobol indices with bootstrap 95% intervals, one panel per contrast."""
    fig, axes = plt.subplots(1, len(contrasts), figsize=(4.6 * len(contrasts), 0.32 * sobol["parameter"].nunique() + 1.6),
                             sharey=True, squeeze=False)  # fmt: skip
    order = sobol[sobol["regime"] == regime].groupby("parameter")["ST"].max().sort_values().index.tolist()
    y = np.arange(len(order))
    for ax, contrast in zip(axes[0], contrasts, strict=True):
        rows = sobol[(sobol["regime"] == regime) & (sobol["contrast"] == contrast)].set_index("parameter").reindex(order)
        ax.barh(y + 0.2, rows["ST"], height=0.38, xerr=rows["ST_conf"], color=OKABE_ITO["blue"],
                label=t("total (ST)", "总效应(ST)"), error_kw={"lw": 0.8})  # fmt: skip
        ax.barh(y - 0.2, rows["S1"], height=0.38, xerr=rows["S1_conf"], color=OKABE_ITO["sky_blue"],
                label=t("first order (S1)", "一阶(S1)"), error_kw={"lw": 0.8})  # fmt: skip
        ax.set_yticks(y, order, fontsize=8)
        ax.axvline(0, color="#555555", lw=0.8)
        ax.set_title(f"{contrast}, {persistence_title(regime)}")
        ax.set_xlabel(t("share of the contrast's variance", "占对比方差的比例"))
        ax.grid(axis="y", visible=False)
    return fig


def prim_pair(futures: pd.DataFrame, x: str, y: str, limits: Mapping[str, tuple[float, float]], title: str,
              winner: str) -> Figure:  # fmt: skip
    """The sampled futures in the two decisive parameters, coloured by who wins, the PRIM box drawn."""
    fig, ax = plt.subplots(figsize=(5.6, 4.2))
    wins = futures["challenger_wins"].to_numpy(dtype=bool)
    ax.scatter(
        futures.loc[~wins, x],
        futures.loc[~wins, y],
        s=16,
        color="#bbbbbb",
        label=t("leader stays best", "领先者仍最优"),
        zorder=2,
    )
    wins_label = t(f"{winner} wins", f"{winner} 胜出")
    ax.scatter(futures.loc[wins, x], futures.loc[wins, y], s=20, color=colour(winner), label=wins_label, zorder=3)
    (x0, x1), (y0, y1) = limits.get(x, ax.get_xlim()), limits.get(y, ax.get_ylim())
    ax.add_patch(mpl.patches.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=1.6, ls="--", color="#333333", zorder=4))
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title, fontsize=10)
    ax.legend(loc="best", fontsize=8)
    return fig


def subgroup_scores(subgroups: pd.DataFrame, regime: str, labels: Mapping[str, str]) -> Figure:
    """Overall score of each program alone in each kind of community (one regime): mean and 95% interval.

    One panel per partition (city tier, region, kind); within a panel one row per subgroup,
    the programs side by side.
    """
    from sim.subgroups import PARTITIONS

    rows = subgroups[subgroups["regime"] == regime]
    fig, axes = plt.subplots(1, len(PARTITIONS), figsize=(4.2 * len(PARTITIONS), 3.2), sharex=True, squeeze=False)
    titles = {"tier": t("city tier", "城市等级"), "region": t("region", "地区"), "kind": t("kind of community", "社区类型")}
    offsets = dict(zip(PROGRAM_ALONE, (-0.2, 0.0, 0.2), strict=True))
    for ax, (partition, members) in zip(axes[0], PARTITIONS.items(), strict=True):
        y = {g: i for i, g in enumerate(reversed(members))}
        for r in rows[rows["partition"] == partition].itertuples():
            c = colour(r.condition)
            yi = y[r.subgroup] + offsets.get(r.condition, 0.0)
            first = partition == "tier" and r.subgroup == members[0]  # one legend entry per program
            ax.errorbar(r.score, yi, xerr=[[r.score - r.score_low], [r.score_high - r.score]], fmt="o", color=c, ecolor=c,
                        capsize=2, ms=4, label=label(r.condition) if first else None)  # fmt: skip
        ax.axvline(0, color="#555555", lw=0.8)
        ax.set_yticks(list(y.values()), [labels.get(g, g) for g in y], fontsize=8)
        ax.set_title(titles[partition])
        ax.set_xlabel(t("overall score", "总体得分"), fontsize=8)
        ax.grid(axis="y", visible=False)
    return fig


def voi_curves(voi: pd.DataFrame, regime: str, labels: Mapping[str, str], stated: float) -> Figure:
    """EVPI and each group's EVPPI (yuan per community) against the value of one score point (one regime, log x)."""
    rows = voi[voi["regime"] == regime]
    fig, ax = plt.subplots(figsize=(7.2, 4.0))
    groups = [g for g in rows["group"].unique() if g != "all inputs"]
    palette = dict(zip(groups, TOL_BRIGHT, strict=False))
    for group in ["all inputs", *groups]:
        line = rows[rows["group"] == group].sort_values("value")
        style = {"color": "#222222", "lw": 2.2} if group == "all inputs" else {"color": palette.get(group, NEUTRAL), "lw": 1.4}
        ax.plot(line["value"], line["evppi"], label=labels.get(group, group), **style)
    ax.axvline(stated, color="#777777", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.set_xlabel(t("value of one score point, yuan per community", "每得分点的价值,元/社区"))
    ax.set_ylabel(t("value of information, yuan per community", "信息价值,元/社区"))
    ax.legend(fontsize=7.5, frameon=False)
    return fig


def design_front(evaluated: pd.DataFrame, front: pd.DataFrame, references: pd.DataFrame, budget: float,
                 picks: Mapping[str, str]) -> Figure:  # fmt: skip
    """The design search: every package (grey), the front (coloured by robustness), P1-P3 and their combinations
    (their colours, labelled), the chosen packages (labelled) and the budget (a vertical line); cost per community."""
    fig, ax = plt.subplots(figsize=(9, 5.6))
    ax.scatter(evaluated["cost"] / 1e4, evaluated["score"], s=10, color=NEUTRAL, label=t("package evaluated", "已评估方案"))
    shown = ax.scatter(front["cost"] / 1e4, front["score"], s=30, c=front["robustness"], cmap="cividis", edgecolor="black",
                       linewidth=0.4, label=t("on the front (within the budget)", "前沿上的方案(预算内)"))  # fmt: skip
    robustness = t("robustness: 10th percentile of the score over futures", "稳健性:各情景得分的第10百分位数")
    fig.colorbar(shown, ax=ax, label=robustness)
    for code, row in references.iterrows():
        ax.scatter(row["cost"] / 1e4, row["score"], s=70, marker="D", color=colour(str(code)), edgecolor="black", zorder=3)
        ax.annotate(str(code), (row["cost"] / 1e4, row["score"]), xytext=(5, 4), textcoords="offset points", fontsize=8)
    for key, why in picks.items():
        row = front.set_index("package").loc[key]
        label = t(f"{key}\n({why})", f"{key}\n（{why}）")
        ax.annotate(label, (row["cost"] / 1e4, row["score"]), xytext=(8, -18), textcoords="offset points",
                    fontsize=7.5, arrowprops={"arrowstyle": "-", "color": "#555555", "linewidth": 0.6})  # fmt: skip
    ax.axvline(budget / 1e4, color=NEUTRAL_DARK, linestyle="--", linewidth=0.8)
    ax.annotate(t("budget", "预算"), (budget / 1e4, ax.get_ylim()[0]), xytext=(3, 3), textcoords="offset points", fontsize=8)
    ax.set_xlabel(t("discounted cost per community (10,000 yuan)", "每个社区的折现成本(万元)"))
    ax.set_ylabel(t("overall score (0 = status quo)", "总体得分(0 = 现状)"))
    ax.legend(loc="lower right", fontsize=8)
    return fig


def convergence(history: pd.DataFrame) -> Figure:
    """Hypervolume of the front by generation (share of the objective box it dominates), and new evaluations."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.plot(history["generation"], history["hypervolume"], marker="o", markersize=3, color=OKABE_ITO["blue"])
    ax.set_xlabel(t("generation", "进化代数"))
    ax.set_ylabel(t("hypervolume of the front", "前沿的超体积"))
    ax.set_ylim(0, max(0.05, float(history["hypervolume"].max()) * 1.1))
    return fig
