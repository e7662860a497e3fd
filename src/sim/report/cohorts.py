"""Per-cadre histories from one run: who entered when, who left when and why, and snapshots.

The monthly table (`simulate`) holds aggregates only. Retention curves and age pyramids need
individual cadres, so `track_cadres` steps a model by hand and reads its cadre arrays
(`model.cadres`, see sim.state): each cadre is followed by its stable `key`; leaving the
reserve is a removal, recorded with the flow it counts in (promotions, exits_voluntary,
exits_appraisal, exits_retirement); cadres still in the reserve at the end are censored.

The initial stock joined before June 2023 (`entry_month` <= 0, minus its tenure): its
durations count from joining, with `entry` (months already served at month 0) marking the
left truncation, which `statsmodels.duration.survfunc.SurvfuncRight(..., entry=...)` handles.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.duration.survfunc import SurvfuncRight

from sim.model import START
from sim.scenario import Scenario
from sim.simulate import build_model
from sim.state import DOMAINS, EDUCATION, STAGES

INITIAL_COHORT = "joined before Jun 2023"
EXIT_FLOWS = ("exits_voluntary", "exits_appraisal", "exits_retirement")  # leaving; promotion is not turnover


@dataclass
class CadreHistory:
    """One run followed cadre by cadre."""

    spells: pd.DataFrame  # one row per cadre: key, entry_month, exit_month, reason, cohort, duration, entry, left
    snapshots: dict[int, pd.DataFrame]  # month -> one row per cadre in the reserve then
    months: int


def _snapshot(model: object) -> pd.DataFrame:
    t = model.cadres  # type: ignore[attr-defined]
    rows = t.rows()
    frame = pd.DataFrame(
        {
            "key": t.key[rows],
            "age": t.age[rows],
            "education": pd.Categorical.from_codes(t.education[rows], EDUCATION),
            "stage": [STAGES[s] for s in t.stage[rows]],
            "entry_month": t.entry_month[rows],
        }
    )
    for i, domain in enumerate(DOMAINS):
        frame[f"competence_{domain}"] = t.competence[rows, i]
    return frame


def track_cadres(scenario: Scenario, seed: int, snapshot_months: Iterable[int] = ()) -> CadreHistory:
    """Run `scenario` from `seed` month by month, following every cadre (same numbers as `simulate`).

    Snapshots are taken at month 0, the last month and any `snapshot_months`.
    """
    model = build_model(scenario, seed)
    months = int(scenario.parameters.months)
    wanted = {0, months, *snapshot_months}
    entries: dict[int, int] = {}
    exits: dict[int, tuple[int, str]] = {}
    remove = model._remove  # every removal goes through here, with the flow it counts in

    def recording_remove(rows: np.ndarray, flow: str) -> None:
        for key in model.cadres.key[rows].tolist():
            exits[key] = (model.month, flow)
        remove(rows, flow)

    model._remove = recording_remove  # type: ignore[method-assign]
    snapshots = {}
    for month in range(months + 1):
        if month > 0:
            model.step()
        t = model.cadres
        rows = t.rows()
        for key, entered in zip(t.key[rows].tolist(), t.entry_month[rows].tolist(), strict=True):
            entries.setdefault(key, entered)
        if month in wanted:
            snapshots[month] = _snapshot(model)
    spells = pd.DataFrame({"key": list(entries), "entry_month": list(entries.values())})
    spells["exit_month"] = spells["key"].map(lambda k: exits.get(k, (np.nan, ""))[0])
    spells["reason"] = spells["key"].map(lambda k: exits.get(k, (np.nan, ""))[1])
    spells["left"] = spells["exit_month"].notna()
    end = spells["exit_month"].fillna(months)
    spells["duration"] = end - spells["entry_month"]  # months in the reserve, from joining
    spells["entry"] = np.maximum(0, -spells["entry_month"])  # months already served when observation began
    spells["cohort"] = spells["entry_month"].map(cohort_of)
    return CadreHistory(spells, snapshots, months)


def cohort_of(entry_month: int) -> str:
    """The entry cohort: the calendar year of joining, or the initial stock."""
    return INITIAL_COHORT if entry_month <= 0 else str((START + int(entry_month)).year)


def survival_by_cohort(spells: pd.DataFrame, event: str = "any") -> dict[str, SurvfuncRight]:
    """Kaplan–Meier survival in the reserve per entry cohort (statsmodels SurvfuncRight).

    event='any': leaving the reserve for any reason (promotion included) is the event.
    event='exit': only exits (voluntary, appraisal, retirement) are events; promoted cadres are
    censored at promotion, so the curve is cause-specific (survival without exit, were nobody
    promoted), not the chance of still being in the reserve.
    Cadres who joined in the last month (no time observed) are dropped.
    """
    if event not in ("any", "exit"):
        raise ValueError(f"event = {event!r} must be 'any' or 'exit'")
    data = spells[spells["duration"] > spells["entry"]]
    status = data["left"] if event == "any" else data["reason"].isin(EXIT_FLOWS)
    curves = {}
    for cohort in sorted(data["cohort"].unique(), key=lambda c: (c != INITIAL_COHORT, c)):
        chosen = data["cohort"] == cohort
        curves[cohort] = SurvfuncRight(
            data.loc[chosen, "duration"].to_numpy(float),
            status[chosen].to_numpy(int),
            entry=data.loc[chosen, "entry"].to_numpy(float),
            title=cohort,
        )
    return curves


def survival_table(curves: dict[str, SurvfuncRight], at: Iterable[int] = (12, 24, 36)) -> pd.DataFrame:
    """Per cohort: cadres, events, survival probability at `at` months (with standard error) and the median."""
    rows = []
    for cohort, sf in curves.items():
        row: dict[str, object] = {"cohort": cohort, "cadres": len(sf.time)}
        row["events"] = int(np.sum(sf.status))
        for months in at:
            if months > sf.time.max():
                row[f"S({months})"], row[f"se({months})"] = np.nan, np.nan
                continue
            i = np.searchsorted(sf.surv_times, months, side="right") - 1
            row[f"S({months})"] = 1.0 if i < 0 else sf.surv_prob[i]
            row[f"se({months})"] = 0.0 if i < 0 else sf.surv_prob_se[i]
        median = sf.quantile(0.5)
        row["median_months"] = float(median) if np.isfinite(median) else np.nan
        rows.append(row)
    return pd.DataFrame(rows)
