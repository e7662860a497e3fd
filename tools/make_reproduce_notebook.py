"""Write notebooks/reproduce_article.ipynb (run once; the notebook is then edited as a notebook)."""

import nbformat as nbf

cells = []
md = lambda s: cells.append(nbf.v4.new_markdown_cell(s))  # noqa: E731
code = lambda s, tags=None: cells.append(nbf.v4.new_code_cell(s, metadata={"tags": tags} if tags else {}))  # noqa: E731

md("""# Reproducing the article: every figure against the calibrated model

One row per figure of the source article that the model can show (`data/seed_figures.csv`):
its value, the model's mean and 90% interval over seeds the calibration did not use, whether
it was fitted or held out of the calibration (`data/calibration.yaml`, `docs/ODD.md` section 8),
and whether the model is within tolerance — 5% relative for the June 2023 state (built to
match), 10% relative for fitted figures (for ratios, relative to the effect: +37% etc.).
Held-out figures are reported whatever their error.

> **The targets are one policy article's figures, which cannot be verified.** They are rounded,
> mostly single-site, and attributed to surveys not available here. Agreement shows the model is
> consistent with the article, not that either is right.""")

code("""# Parameters: papermill replaces these (sim report reproduce_article -p NAME VALUE).
seeds = 20  # seeds per figure, starting at first_seed (the calibration used seeds 0-7)
first_seed = 100
n_communities = 100  # communities per run (the calibration's size)
workers = 2  # processes
output_dir = None  # set by `sim report`: figures, tables and metrics.json are written here""", ["parameters"])

code("""import warnings

warnings.filterwarnings("ignore", message="IProgress not found")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import yaml

from sim import figures
from sim.article import reproduction_table
from sim.parameters import CALIBRATED, calibrated_values
from sim.provenance import provenance
from sim.report import notebook as nb

figures.use_style()
seed_list = list(range(first_seed, first_seed + seeds))
table = reproduction_table(seeds=seed_list, n_communities=n_communities, workers=workers)
figure_text = pd.read_csv(nb.project_path("data/seed_figures.csv")).set_index("id")["description"]
table.insert(1, "description", table["figure"].map(figure_text))""")

md("## Summary")

code("""fitted = table[table.kind == "fitted"]
held_out = table[table.kind == "held out"]
state = table[table.kind == "initial state"]
lines = [
    f"- June 2023 state: {state.within_tolerance.sum()} of {len(state)} figures within 5% "
    f"(largest error {state.relative_error.abs().max():.1%}).",
    f"- Fitted figures: {fitted.within_tolerance.sum()} of {len(fitted)} within 10% "
    f"(largest error {fitted.relative_error.abs().max():.1%}).",
]
for row in held_out.itertuples():
    verdict = "within" if row.within_tolerance else "outside"
    lines.append(f"- Held out {row.figure} ({row.measure}): article {row.article:g}, model {row.model_mean:.3f} "
                 f"[90%: {row.model_p05:.3f} to {row.model_p95:.3f}], error {row.relative_error:+.0%} ({verdict} 10%).")
lines.append(f"- {seeds} seeds from {first_seed}, {n_communities} communities; calibrated values from `data/calibrated.yaml`.")
print("\\n".join(lines))""", None)

md("## Every figure")

code("""# NBVAL_CHECK_OUTPUT
shown = table[["figure", "kind", "measure", "article", "model_mean", "model_p05", "model_p95", "relative_error", "within_tolerance"]]
print(shown.to_string(index=False, float_format=lambda x: f"{x:.3f}"))""")

md("""## Article against model

Each figure as the ratio of the model's value to the article's (1 = exact), with the model's 90%
interval over seeds; the shaded band is ±10%. (The tolerances in the table are 5% for the state
figures and, for effects, 10% of the effect itself — a stricter test than ±10% of the ratio.)""")

code("""fig, ax = plt.subplots(figsize=(9, 7))
order = table.iloc[::-1].reset_index(drop=True)
colours = {"initial state": figures.NEUTRAL_DARK, "fitted": figures.OKABE_ITO["blue"], "held out": figures.OKABE_ITO["vermillion"]}
for kind, colour in colours.items():
    rows = order[order.kind == kind]
    ratio = rows.model_mean / rows.article
    low, high = rows.model_p05 / rows.article, rows.model_p95 / rows.article
    lo, hi = np.minimum(low, high), np.maximum(low, high)
    xerr = np.clip([ratio - lo, hi - ratio], 0, None)  # rounding can make a zero-width interval slightly negative
    ax.errorbar(ratio, rows.index, xerr=xerr, fmt="o", color=colour, label=kind, capsize=3)
ax.axvline(1, color="black", lw=1)
ax.axvspan(0.9, 1.1, color=figures.NEUTRAL, alpha=0.3, label="±10%")
ax.set_yticks(order.index, [f"{r.figure} {r.measure}" for r in order.itertuples()])
ax.set_xlabel("model / article (1 = reproduced exactly); bars: 90% interval over seeds")
ax.legend(loc="lower right")
figures.finish(fig, "The article's figures against the calibrated model",
               "Ratios for effects are of the index ratios (e.g. 1.37 for +37%). Source figures are unverified.")
figures.save(fig, output_dir, "article_vs_model")
plt.show()""")

md("## Calibrated parameters")

code("""# NBVAL_CHECK_OUTPUT
record = yaml.safe_load(CALIBRATED.read_text(encoding="utf-8"))
params = pd.DataFrame({"calibrated": pd.Series(dict(calibrated_values())), "prior": pd.Series(record["priors"])})
params["range"] = [f"{low:g} to {high:g}" for low, high in (record["ranges"][n] for n in params.index)]
sens = pd.DataFrame(record["sensitivity"]).set_index("parameter")
params["objective +/- tenth of range"] = [
    f"{sens.loc[n, 'objective_minus_tenth']:+.4f} / {sens.loc[n, 'objective_plus_tenth']:+.4f}" for n in params.index
]
print(params.to_string(float_format=lambda x: f"{x:.4g}"))""")

md("## Provenance and outputs")

code("""metrics = {
    "notebook": "reproduce_article",
    "seeds": seed_list,
    "n_communities": n_communities,
    "figures": {r.figure: {"kind": r.kind, "article": r.article, "model_mean": r.model_mean, "model_p05": r.model_p05,
                           "model_p95": r.model_p95, "relative_error": r.relative_error, "within_tolerance": bool(r.within_tolerance)}
                for r in table.itertuples()},
    "calibrated": dict(calibrated_values()),
}
nb.write_metrics(output_dir, metrics)
nb.write_csv(table, output_dir, "figures")
record = provenance()
print(f"code {record['git_commit']}, cadre-sim {record['package_version']}, Mesa {record['mesa']}, Python {record['python']}")""")

nb = nbf.v4.new_notebook(cells=cells)
nb.metadata = {
    "kernelspec": {"display_name": "Python (cadre-sim)", "language": "python", "name": "cadre-sim"},
    "language_info": {"name": "python"},
}
nbf.write(nb, "notebooks/reproduce_article.ipynb")
