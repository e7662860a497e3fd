"""The explorer: a Mesa SolaraViz page to move the levers and watch the pipeline respond.

    make explore                     # or: sim explore [--port 8765]
    # then open http://127.0.0.1:8765/ (make explore PORT=... for another port)

In the sidebar: size (communities), seed, the persistence regime, each program with its
window (P1-P3, from data/programs.yaml), and a slider or switch for every policy lever of
data/parameters.yaml. *Reset* builds the model with those settings at June 2023; *Step*
advances one month, *Play* runs on to December 2030. The charts: the headline outcomes of
each family (data/outputs.yaml, labels in English and Chinese), the age pyramid (June 2023
against now) and the monthly flows. A note says which sliders an active program (or a
program's lasting investment after its window) overrides this month.

Slider spans: the catalogue's hard limits (`allowed`), the top cut to twice the larger of
the plausible range's top and any program's value (a training budget of 0 to 100,000 yuan
would make the plausible values unreachable by hand).
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.checks import finite_number, shown, whole_number
from sim.columns import FAMILY_LABELS, by_family, column
from sim.errors import InputError
from sim.model import FLOWS, CadreModel
from sim.parameters import ParamSpec, catalogue, default_values
from sim.policy import NUMERIC_LEVERS, SWITCH_LEVERS
from sim.programs import standard_programs

DEFAULT_SIZE = 100
DEFAULT_SEED = 1
FIRST_YEAR, LAST_YEAR = 2024, 2030
AGE_BANDS = np.arange(20, 65, 5)


def lever_span(spec: ParamSpec) -> tuple[float, float]:
    """The slider's span for a numeric lever (module docstring)."""
    low, high = spec.allowed or spec.range
    program_values = [
        setting.value
        for prog in standard_programs().values()
        for name, setting in prog.settings.items()
        if name == spec.name and not isinstance(setting.value, bool)
    ]
    top = min(high, 2 * max([spec.range[1], *program_values]))
    return low, top


def lever_label(spec: ParamSpec) -> str:
    """The lever's name: the sidebar is narrow; `sim params --levers` gives each lever's meaning, unit and range."""
    return spec.name


def lever_inputs() -> dict[str, dict[str, Any]]:
    """A SolaraViz input for every policy lever: sliders for numbers, switches and choices for the rest."""
    defaults = default_values()
    inputs: dict[str, dict[str, Any]] = {}
    for name, spec in catalogue().items():
        if not spec.lever:
            continue
        if spec.type == "bool":
            inputs[name] = {"type": "Checkbox", "value": defaults[name], "label": name}
        elif spec.type == "choice":
            inputs[name] = {"type": "Select", "value": defaults[name], "values": list(spec.choices), "label": name}
        else:
            low, high = lever_span(spec)
            integer = spec.type == "int"
            step = 1 if integer else _step(high - low)
            inputs[name] = {
                "type": "SliderInt" if integer else "SliderFloat",
                "value": defaults[name],
                "min": low,
                "max": high,
                "step": step,
                "label": lever_label(spec),
            }
    return inputs


def _step(span: float) -> float:
    """A round step giving 1,000 to 10,000 positions (0.001 for shares, 10 for budgets): every default is on the grid."""
    return float(10 ** np.floor(np.log10(span / 1000))) if span > 0 else 1.0


def program_inputs() -> dict[str, dict[str, Any]]:
    """Per program: a switch (off by default) and the first and last year of its window."""
    inputs: dict[str, dict[str, Any]] = {}
    for key, prog in standard_programs().items():
        inputs[key] = {"type": "Checkbox", "value": False, "label": f"{prog.id} {prog.name} · {prog.name_zh}"}
        for end, year in (("start", prog.start), ("end", prog.end)):
            inputs[f"{key}_{end}"] = {
                "type": "SliderInt",
                "value": year,
                "min": FIRST_YEAR,
                "max": LAST_YEAR,
                "step": 1,
                "label": f"{prog.id} window {end} (year)",
            }
    return inputs


def model_params() -> dict[str, Any]:
    """Everything the sidebar shows, in order: size, seed, persistence, programs, levers."""
    persistence = catalogue()["persistence"]
    return {
        "n_communities": {
            "type": "SliderInt",
            "value": DEFAULT_SIZE,
            "min": 10,
            "max": 500,
            "step": 10,
            "label": "communities (size)",
        },
        "seed": {"type": "SliderInt", "value": DEFAULT_SEED, "min": 0, "max": 99, "step": 1, "label": "seed"},
        "persistence": {
            "type": "Select",
            "value": default_values()["persistence"],
            "values": list(persistence.choices),
            "label": "after a program's window (persistence)",
        },
        **program_inputs(),
        **lever_inputs(),
    }


def check_settings(settings: dict[str, Any]) -> None:
    """Every value within its widget's limits, checked on the server: the browser sends values, and a crafted message
    could otherwise ask for 200,000 communities or a window in the year 9999. Other names are left to CadreModel."""
    widgets = _widgets()
    for name, value in settings.items():
        widget = widgets.get(name)
        if widget is None:  # not on the page (e.g. `months` from Python): the catalogue's checks apply
            continue
        field = f"{widget['label']} ({name})"
        kind = widget["type"]
        if kind == "SliderInt":
            whole_number(value, "explorer", field, widget["min"], widget["max"])
        elif kind == "SliderFloat":
            finite_number(value, "explorer", field, widget["min"], widget["max"])
        elif kind == "Checkbox" and not isinstance(value, bool):
            raise InputError(f"explorer: {field} = {shown(value)} must be true or false")
        elif kind == "Select" and value is not None and value not in widget["values"]:
            raise InputError(f"explorer: {field} = {shown(value)} must be one of {', '.join(map(str, widget['values']))}")


@functools.cache
def _widgets() -> dict[str, Any]:
    return model_params()


class ExplorerModel(CadreModel):
    """The model as the explorer builds it: programs switched on one by one, each with its window."""

    def __init__(
        self, seed: int = DEFAULT_SEED, n_communities: int = DEFAULT_SIZE, persistence: str | None = None, **settings: Any
    ) -> None:
        for name, value in settings.items():  # a slider's 0.41300000000000003 is the 0.413 it shows
            if isinstance(value, float):
                settings[name] = round(value, 9)
        check_settings({"seed": seed, "n_communities": n_communities, "persistence": persistence, **settings})
        programs = []
        for key in standard_programs():
            start, end = settings.pop(f"{key}_start", None), settings.pop(f"{key}_end", None)
            if settings.pop(key, False):
                window = sorted(y for y in (start, end) if y is not None)
                programs.append({"name": key, "start": window[0], "end": window[-1]} if window else key)
        super().__init__(
            "baseline", int(seed), n_communities=int(n_communities), persistence=persistence, programs=programs, **settings
        )
        self.initial_ages = self.cadres.age[self.rows].copy()  # the pyramid's June 2023 side


# --- what the page shows --------------------------------------------------------------------
def overridden(model: CadreModel) -> list[str]:
    """One line per lever whose value in force this month is not the slider's (a program's doing)."""
    status_quo = model.policy_scenario.parameters
    policy = model.policy
    lines = []
    for name in NUMERIC_LEVERS:
        now, slider = getattr(policy.levers, name), status_quo[name]
        if now != slider:
            lines.append(f"{name}: {now:g} in force, slider {slider:g}")
    for name in SWITCH_LEVERS:
        values = policy.by_community(name)
        differs = values != status_quo[name]
        if differs.any():
            held = pd.Series(values[differs]).mode().iloc[0]
            lines.append(f"{name}: {held} in {differs.mean():.0%} of communities, slider {status_quo[name]}")
    return lines


def changed_levers(model: CadreModel) -> list[str]:
    """The levers whose slider is not at the status quo (the catalogue's default)."""
    defaults = default_values()
    values = model.policy_scenario.parameters
    return [
        f"{name} {_shown(values[name])} (status quo {_shown(defaults[name])})"
        for name in (*NUMERIC_LEVERS, *SWITCH_LEVERS)
        if values[name] != defaults[name]
    ]


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def status_text(model: CadreModel) -> tuple[str, list[str]]:
    """The month line and the override lines."""
    programs = model.policy_scenario.programs
    active = [p.id for p in model.policy.active_programs]
    windows = ", ".join(f"{p.id} {p.start}–{p.end}" for p in programs) or "none (status quo)"
    line = (
        f"Month {model.month} · {model.period.strftime('%B %Y')} · programs: {windows} · "
        f"active now: {', '.join(active) or 'none'} · {model.p.n_communities} communities, seed {model.seed}, "
        f"persistence {model.p.persistence}"
    )
    return line, overridden(model)


# Charts are Vega-Lite (Altair), drawn by the browser. Each chart's specification is built once
# per horizon with named data sources, and each month only the data are sent (`chart_spec`): an
# Altair chart rebuilt with its data every month cost ten times the model's step.
def _time_axis(months: int):
    import altair as alt

    from sim import figures

    first, last = figures.month_dates([0, months])
    return alt.X("date:T", title=None, scale=alt.Scale(domain=[first.isoformat(), last.isoformat()]))


def _windows():
    """The program windows as faint bands in each program's colour (as in the reports' figures)."""
    import altair as alt

    from sim import figures

    ids = [p.id for p in standard_programs().values()]
    return (
        alt.Chart(alt.Data(name="windows"))
        .mark_rect(opacity=0.12)
        .encode(
            x="start:T",
            x2="end:T",
            color=alt.Color("program:N", scale=alt.Scale(domain=ids, range=[figures.colour(i) for i in ids]), legend=None),
            tooltip="program:N",
        )
    )


def _outcome_name(outcome: str) -> str:
    c = column(outcome)
    return f"{c.label} · {c.label_zh} ({c.unit}) {'↑' if c.direction > 0 else '↓'}"


def _flow_name(flow: str) -> str:
    return f"{column(flow).label} · {column(flow).label_zh}"


def _family_template(family: str, months: int):
    import altair as alt

    names = [_outcome_name(o) for o in by_family()[family]]
    lines = (
        alt.Chart(alt.Data(name="outcomes"))
        .mark_line()
        .encode(
            x=_time_axis(months),
            y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
            color=alt.Color(
                "outcome:N",
                scale=alt.Scale(domain=names),
                legend=alt.Legend(orient="bottom", direction="vertical", title=None, labelLimit=480),
            ),
            tooltip=["outcome:N", "date:T", alt.Tooltip("value:Q", format=".2f")],
        )
    )
    english, chinese = FAMILY_LABELS[family]
    layer = alt.layer(_windows(), lines).resolve_scale(color="independent")
    return layer.properties(title=f"{english} · {chinese} (↑/↓: which way is better)", width=440, height=150)


def _pyramid_template(months: int):
    import altair as alt

    from sim import figures

    return (
        alt.Chart(alt.Data(name="pyramid"))
        .mark_bar()
        .encode(
            y=alt.Y("age:N", sort="descending", title="age · 年龄"),
            x=alt.X("share:Q", title="% of cadres (left: June 2023) · 占后备干部%", axis=alt.Axis(labelExpr="abs(datum.value)")),
            color=alt.Color(
                "when:N",
                sort=alt.EncodingSortField("order"),
                scale=alt.Scale(range=[figures.NEUTRAL, figures.OKABE_ITO["blue"]]),
                legend=alt.Legend(orient="bottom", title=None),
            ),
            tooltip=["when:N", "age:N", alt.Tooltip("share:Q", format=".1f")],
        )
        .properties(title="Age pyramid · 年龄结构", width=300, height=200)
    )


def _flows_template(months: int):
    import altair as alt

    from sim import figures

    names = [_flow_name(f) for f in FLOWS]
    lines = (
        alt.Chart(alt.Data(name="flows"))
        .mark_line()
        .encode(
            x=_time_axis(months),
            y=alt.Y("cadres:Q", title="cadres per month · 人/月"),
            color=alt.Color(
                "flow:N",
                scale=alt.Scale(domain=names, range=[figures.FLOW_COLOURS[f] for f in FLOWS]),
                legend=alt.Legend(orient="bottom", direction="vertical", title=None, labelLimit=480),
            ),
            tooltip=["flow:N", "date:T", "cadres:Q"],
        )
    )
    layer = alt.layer(_windows(), lines).resolve_scale(color="independent")
    return layer.properties(title="Monthly flows · 月度流动", width=300, height=200)


TEMPLATES = {
    **{family: functools.partial(_family_template, family) for family in FAMILY_LABELS},
    "pyramid": _pyramid_template,
    "flows": _flows_template,
}
VEGA_LITE_5 = "https://vega.github.io/schema/vega-lite/v5.json"  # what Solara's widget runs (Altair writes v6)


@functools.cache
def template(kind: str, months: int) -> dict[str, Any]:
    """The Vega-Lite specification of a chart, without its data."""
    return {**TEMPLATES[kind](months).to_dict(), "$schema": VEGA_LITE_5}


def _dates(months: np.ndarray) -> list[str]:
    from sim import figures

    return [d.date().isoformat() for d in figures.month_dates(months)]


def chart_data(kind: str, model: CadreModel) -> dict[str, list[dict[str, Any]]]:
    """The named data sets a chart reads, from the months recorded so far."""
    windows = [{"start": f"{p.start}-01-01", "end": f"{p.end}-12-31", "program": p.id} for p in model.policy_scenario.programs]
    records = model.records
    if kind in FAMILY_LABELS:
        dates = _dates(np.array([r["month"] for r in records]))
        rows = [
            {"date": d, "value": r[o] * column(o).scale, "outcome": _outcome_name(o)}
            for o in by_family()[kind]
            for d, r in zip(dates, records, strict=True)
        ]
        return {"windows": windows, "outcomes": rows}
    if kind == "flows":
        later = records[1:]
        dates = _dates(np.array([r["month"] for r in later], dtype=int))
        rows = [{"date": d, "cadres": r[f], "flow": _flow_name(f)} for f in FLOWS for d, r in zip(dates, later, strict=True)]
        return {"windows": windows, "flows": rows}
    if kind == "pyramid":
        labels = [f"{a}–{a + 4}" for a in AGE_BANDS[:-1]]
        now = model.cadres.age[model.rows]
        then_share = np.histogram(model.initial_ages, bins=AGE_BANDS)[0] / len(model.initial_ages) * 100
        now_share = np.histogram(now, bins=AGE_BANDS)[0] / max(len(now), 1) * 100
        when = f"{model.period.strftime('%b %Y')} · 当前"
        rows = [
            {"age": a, "share": -float(v), "when": "June 2023 · 2023年6月", "order": 0}
            for a, v in zip(labels, then_share, strict=True)
        ]
        rows += [{"age": a, "share": float(v), "when": when, "order": 1} for a, v in zip(labels, now_share, strict=True)]
        return {"pyramid": rows}
    raise ValueError(kind)


def chart_spec(kind: str, model: CadreModel) -> dict[str, Any]:
    """A chart's full Vega-Lite specification this month: the cached template and this month's data."""
    return {**template(kind, model.p.months), "datasets": chart_data(kind, model)}


# --- serving it ---------------------------------------------------------------------------------
def assets_folder() -> Path:
    """Where Solara's CDN proxy looks for the page's browser files (filled by tools/explorer-assets.sh)."""
    return Path(sys.prefix) / "share" / "solara" / "cdn"


def assets_note() -> str:
    """A line to show when the browser files are missing ('' when they are there)."""
    if (assets_folder() / ".cadre-sim-assets").is_file():
        return ""
    return (
        f"note: the explorer's browser files are not in {assets_folder()}; the page will try to fetch them from "
        "cdn.jsdelivr.net. Run 'make explorer-assets' (needs npm) to install them."
    )


def server_environment() -> dict[str, str]:
    """The environment for `solara run`: Solara's usage telemetry off (it would call a server abroad)."""
    return {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}


# --- the page ---------------------------------------------------------------------------------
def components() -> list:
    import solara
    from mesa.visualization.utils import update_counter

    @solara.component
    def Status(model: CadreModel) -> None:
        update_counter.get()  # redrawn after every step (SolaraViz counts them)
        line, overrides = status_text(model)
        with solara.Column():
            solara.Text(line, style={"font-weight": "bold"})
            changed = changed_levers(model)
            solara.Text("Sliders moved from the status quo: " + ("; ".join(changed) if changed else "none"))
            if overrides:
                solara.Warning(
                    "An active program (or a program's lasting investment) overrides these sliders this month: "
                    + "; ".join(overrides),
                    dense=True,
                )
            else:
                solara.Info("Every lever is at its slider's value this month.", dense=True)

    def chart(kind: str):
        @solara.component
        def Chart(model: CadreModel) -> None:
            update_counter.get()
            solara.widgets.VegaLite.element(spec=chart_spec(kind, model))

        Chart.__name__ = kind.capitalize()
        return Chart

    return [(Status, 0)] + [(chart(kind), 0) for kind in TEMPLATES]


def new_model(**overrides: Any) -> ExplorerModel:
    """The explorer's model at its default settings (and `overrides`)."""
    defaults = {k: v["value"] for k, v in model_params().items()}
    return ExplorerModel(**{**defaults, **overrides})


@functools.cache
def _page_component():
    """The page: a SolaraViz with a model of its own for each browser session."""
    import solara
    from mesa.visualization import SolaraViz

    shown = components()
    params = model_params()

    @solara.component
    def Page() -> None:
        model = solara.use_memo(new_model, [])
        SolaraViz(
            model, components=shown, model_params=params, name="cadre-sim explorer · 社区后备干部政策模拟", play_interval=50
        )

    return Page


def __getattr__(name: str) -> Any:  # `solara run sim.explore` looks up `Page`; built (with solara imported) only then
    if name == "Page":
        return _page_component()
    raise AttributeError(f"module 'sim.explore' has no attribute {name!r}")
