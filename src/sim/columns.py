"""The output catalogue (`data/outputs.yaml`): what every column of the monthly table means.

One entry per column: its English and Chinese label, unit, how reports display it, and,
for the outcomes a funding decision rests on, which direction is better, the outcome
family and the change that counts as one score point (`sim.decision`). Report labels,
better-direction cues, headline lists and `docs/outputs.md` all come from here.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import yaml

from sim.errors import InputError
from sim.lang import current
from sim.resources import data_file

OUTPUTS_FILE = data_file("outputs.yaml")
FAMILIES = ("pipeline", "capability", "governance", "participation")
FAMILY_LABELS = {
    "pipeline": ("Pipeline", "人才链条"),
    "capability": ("Capability", "能力"),
    "governance": ("Governance", "治理效能"),
    "participation": ("Participation", "参与"),
}
FIELDS = {
    "label",
    "label_zh",
    "unit",
    "unit_zh",
    "display",
    "better",
    "family",
    "score_scale",
    "score_source",
    "definition",
    "compared_with",
}


@dataclass(frozen=True)
class Column:
    """One output column: labels, units and, for decision outcomes, direction, family and score scale."""

    name: str
    label: str
    label_zh: str
    stored_unit: str  # as stored in the table (shares are fractions)
    definition: str
    compared_with: str = "—"
    scale: float = 1.0  # display multiplier: 100 shows a fraction as %
    display_unit: str = ""
    display_unit_zh: str = ""
    better: str | None = None  # 'higher' | 'lower' | None
    family: str | None = None
    score_scale: float | None = None
    score_source: str = ""
    stored_unit_zh: str = ""

    @property
    def direction(self) -> int:
        """+1 if higher is better, -1 if lower is better, 0 if the column is not an outcome."""
        return {"higher": 1, "lower": -1}.get(self.better or "", 0)

    # The properties below follow the report language (sim.lang: English unless set to Chinese).
    @property
    def title(self) -> str:
        return self.text(current())

    @property
    def unit(self) -> str:
        """The unit as reports show it (after `scale`), in the report language."""
        if current() == "zh":
            return self.display_unit_zh or self.stored_unit_zh or self.stored_unit
        return self.display_unit or self.stored_unit

    @property
    def axis(self) -> str:
        return f"{self.title} ({self.unit})"

    @property
    def difference_unit(self) -> str:
        """Unit of a difference: percentage points for fractions shown in %."""
        if self.scale == 100:
            if current() == "zh":
                return self.unit.replace("%", "个百分点", 1)
            return self.unit.replace("% of", "percentage points of").replace("% per", "percentage points per")
        return self.unit

    @property
    def better_cue(self) -> str:
        """'higher is better' / 'lower is better' / '' (越高越好 / 越低越好 in Chinese)."""
        if not self.better:
            return ""
        if current() == "zh":
            return "越高越好" if self.better == "higher" else "越低越好"
        return f"{self.better} is better"

    def text(self, lang: str = "en") -> str:
        """The label in `lang` ('en' or 'zh')."""
        from sim.lang import typeset_zh

        return typeset_zh(self.label_zh) if lang == "zh" else self.label


@functools.cache
def columns() -> Mapping[str, Column]:
    """Every output column by name, in the table's order."""
    raw = yaml.safe_load(OUTPUTS_FILE.read_text(encoding="utf-8"))
    return MappingProxyType({name: _column(name, entry) for name, entry in raw.items()})


def _column(name: str, entry: Mapping[str, Any]) -> Column:
    where = f"{OUTPUTS_FILE} [{name}]"
    unknown = set(entry) - FIELDS
    if unknown:
        raise InputError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    display = entry.get("display") or {}
    family = entry.get("family")
    if family is not None and family not in FAMILIES:
        raise InputError(f"{where}: family = {family!r} must be one of {', '.join(FAMILIES)}")
    if family is not None and (entry.get("better") not in ("higher", "lower") or not entry.get("score_scale")):
        raise InputError(f"{where}: a decision outcome needs better (higher/lower) and a positive score_scale")
    return Column(
        name=name,
        label=str(entry["label"]),
        label_zh=str(entry["label_zh"]),
        stored_unit=str(entry["unit"]),
        stored_unit_zh=str(entry.get("unit_zh", "")),
        definition=str(entry["definition"]),
        compared_with=str(entry.get("compared_with", "—")),
        scale=float(display.get("scale", 1)),
        display_unit=str(display.get("unit", "")),
        display_unit_zh=str(display.get("unit_zh", "")),
        better=entry.get("better"),
        family=family,
        score_scale=float(entry["score_scale"]) if entry.get("score_scale") else None,
        score_source=str(entry.get("score_source", "")),
    )


def column(name: str) -> Column:
    """The catalogue entry of `name`; unknown names get a plain fallback (e.g. a user's derived column)."""
    return columns().get(name) or Column(name, name.replace("_", " ").capitalize(), name, "model units", "")


def decision_outcomes() -> list[str]:
    """The outcomes a funding decision is scored on (those with a family), in catalogue order."""
    return [name for name, c in columns().items() if c.family]


def by_family() -> dict[str, list[str]]:
    """Decision outcomes grouped by family, families in FAMILIES order."""
    return {family: [n for n in decision_outcomes() if columns()[n].family == family] for family in FAMILIES}


def direction(name: str) -> int:
    """+1 if higher values of `name` are better, -1 if lower are (0 for columns that are not outcomes)."""
    return column(name).direction


def markdown_table() -> str:
    """The column table of docs/outputs.md, generated from the catalogue."""
    lines = ["| column | meaning and how it is computed | unit | better | family | compared with |", "|---|---|---|---|---|---|"]
    for c in columns().values():
        lines.append(
            f"| `{c.name}` | {c.definition} | {c.stored_unit} | {c.better or '—'} | {c.family or '—'} | {c.compared_with} |"
        )
    return "\n".join(lines)
