"""Design a better program: search the levers P1-P3 move for packages that beat them on score, cost and robustness.

    from sim import design
    config = design.load_config().scaled("tiny")
    result = design.run(config, root="results")        # resumable: one batch store per generation
    result.front                                       # the Pareto-efficient packages found, within the budget
    checks = design.recheck(config, design.chosen(result), root="results")

A *package* sets any of the levers the article's programs move, each between the status quo
and its program's target (the article's evidence is about those targets, so the search never
goes beyond them), for one window of 1 to `max_years` years inside 2024-2030. It is a program
like P1-P3 (`sim.programs.defined_program`), so `simulate` runs it as it runs them. A lever set
a fraction f of the way from the status quo to the target costs f times its program's fixed cost
lines (an assumption: cost in proportion to reach; increments, such as a raised budget, cost
what they add), and switches and the selection method cost their program's lines in full. An
investment costs its program's total to build whatever the window (built in one year, it costs
three years' worth that year), so a short window is not a cheap way to the same facilities.

Objectives (experiments/design.yaml): the overall score at the central parameters, the
discounted cost per community, and the score's 10th percentile over a fixed set of futures from
the robustness analysis; the national total must stay within the budget. The optimiser is
platypus's NSGA-II (sim.search); each generation runs as one batch experiment into
`<root>/model-<fingerprint>/design_<scale>/gen-NNN/`, so an interrupted search resumes where it
stopped and replays the same proposals.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import decision
from sim.checks import finite_number, mapping, one_of, unknown_fields, whole_number
from sim.checks import seed as check_seed
from sim.columns import FAMILIES, decision_outcomes
from sim.costs import QUANTITY_COLUMNS
from sim.errors import InputError
from sim.files import read_yaml
from sim.parameters import catalogue, default_values
from sim.policy import month_index
from sim.programs import standard_programs
from sim.resources import folder, resolve

CONFIG_FILE = folder("experiments") / "design.yaml"
FIRST_YEAR, LAST_YEAR = 2024, 2030  # program windows lie inside these years (data/programs.yaml)
LEVELS = 20  # a numeric lever moves in twentieths of the way from the status quo to its target
COMBINATIONS = {  # the article's programs and their combinations, placed on the front
    "P1": ("talent_foundation",), "P2": ("digital_foundation",), "P3": ("innovation_leap",),
    "P1+P2": ("talent_foundation", "digital_foundation"), "P1+P3": ("talent_foundation", "innovation_leap"),
    "P2+P3": ("digital_foundation", "innovation_leap"),
    "P1+P2+P3": ("talent_foundation", "digital_foundation", "innovation_leap"),
}  # fmt: skip
OBJECTIVES = ("score", "cost", "robustness")
DIRECTIONS = ("max", "min", "max")


# --- configuration ------------------------------------------------------------------------
@dataclass(frozen=True)
class Config:
    """The search's sizes and settings (experiments/design.yaml)."""

    name: str = "design"
    scale: str = "default"
    seed: int = 20250601
    n_communities: int = 50
    regime: str = "sustain"
    replicates: int = 2
    futures: int = 6
    population: int = 24
    generations: int = 100
    max_years: int = 3
    budget_yuan: float = 45e9
    check_seeds: int = 30
    check_futures: int = 96
    scales: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def scaled(self, scale: str) -> Config:
        """The configuration at a named scale ('default' or one of the file's `scales`)."""
        if scale == "default":
            return self
        if scale not in self.scales:
            raise InputError(f"scale = {scale!r}: choose 'default' or one of {', '.join(self.scales) or 'none'}")
        return _apply(replace(self, scale=scale), self.scales[scale], f"{CONFIG_FILE.name}: scales.{scale}")


WHOLE = {"n_communities": 10, "replicates": 1, "futures": 2, "population": 4, "generations": 0, "max_years": 1,
         "check_seeds": 2, "check_futures": 2}  # fmt: skip


def load_config(path: Path | str = CONFIG_FILE) -> Config:
    """Read and check a design configuration (experiments/design.yaml or a user's own)."""
    raw = dict(mapping(read_yaml(resolve(path)), str(path), "", empty=False))
    scales = mapping(raw.pop("scales", None), str(path), "scales")
    config = replace(_apply(Config(), raw, str(path)), scales=scales)
    for scale in scales:
        config.scaled(scale)  # a bad scale is refused now, not when it is asked for
    return config


def _apply(config: Config, raw: Mapping[str, Any], where: str) -> Config:
    unknown_fields(raw, [*WHOLE, "seed", "name", "regime", "budget_yuan"], where)
    changes: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "seed":
            changes[key] = check_seed(value, where)
        elif key in WHOLE:
            changes[key] = whole_number(value, where, key, WHOLE[key], 100_000)
        elif key == "budget_yuan":
            changes[key] = finite_number(value, where, key, 1.0, 1e13, "yuan")
        elif key == "regime":
            changes[key] = one_of(value, catalogue()["persistence"].choices, where, key)
        else:
            changes[key] = str(value)
    out = replace(config, **changes)
    if out.max_years > LAST_YEAR - FIRST_YEAR + 1:
        raise InputError(f"{where}: max_years = {out.max_years} must fit in {FIRST_YEAR}-{LAST_YEAR}")
    return out


# --- the packages -------------------------------------------------------------------------
@dataclass(frozen=True)
class Lever:
    """A lever a program moves: the package may set it anywhere from the status quo to `target`."""

    name: str
    kind: str  # 'numeric', 'switch' (on/off) or 'choice' (the status quo or the program's choice)
    status_quo: Any
    target: Any
    program: str  # the program whose setting (kind, cost lines) the package borrows


# Plain names of the levers in both languages, for the report's tables (the catalogue, data/parameters.yaml, has
# descriptions in English only).
LEVER_NAMES = {
    "selection_method": ("selection method", "选拔方式"),
    "staged_training_coverage": ("four-stage training, share of cadres", "四阶培养覆盖率"),
    "mentor_trained_share": ("mentors professionally trained", "导师受训比例"),
    "training_base_coverage": ("communities with a training base", "有实训基地的社区比例"),
    "growth_file_coverage": ("communities keeping growth files", "建立成长档案的社区比例"),
    "promotion_standard_coverage": ("communities with a promotion standard", "有晋升标准的社区比例"),
    "cross_street_rotation": ("cross-street rotation", "跨街道轮岗"),
    "rotation_coverage": ("post rotation, share of cadres", "轮岗覆盖率"),
    "dual_track_study": ("dual-track study", "双轨研学"),
    "digital_training_intensity": ("digital training intensity", "数字化培训强度"),
    "training_budget_central_west": ("training budget, central and west (yuan per cadre-year)", "中西部培训经费(元/人·年)"),
    "funding_share": ("community fund share", "社区基金比例"),
    "honour_fund_coverage": ("communities with an honour fund", "设立表彰基金的社区比例"),
    "governance_partner": ("governance partner scheme", "治理合伙人制度"),
    "capability_bank": ("capability bank", "能力银行"),
    "incubator": ("incubator", "孵化器"),
}
VALUE_NAMES = {True: ("on", "开"), False: ("off", "关"), "traditional": ("as now", "现行方式"),
               "capability_portrait": ("capability portrait", "能力画像")}  # fmt: skip


def lever_name(name: str) -> str:
    """A lever's plain name in the report language (the code name if it has none)."""
    from sim.lang import t

    return t(*LEVER_NAMES[name]) if name in LEVER_NAMES else name


def value_name(value: Any) -> str:
    """A lever value as a reader sees it: on/off, the selection method's name, or the number."""
    from sim.lang import t

    if isinstance(value, bool | str) and value in VALUE_NAMES:
        return t(*VALUE_NAMES[value])
    return f"{value:g}" if isinstance(value, float) else str(value)


def levers() -> list[Lever]:
    """Every lever P1-P3 move, in the programs' order."""
    quo = default_values()
    out = []
    for key, program in standard_programs().items():
        for name, setting in program.settings.items():
            kind = {"bool": "switch", "choice": "choice"}.get(catalogue()[name].type, "numeric")
            out.append(Lever(name, kind, quo[name], setting.value, key))
    return out


@dataclass(frozen=True)
class Package:
    """What a package does: the levers it moves (name -> value) and its window."""

    values: Mapping[str, Any]
    start: int
    end: int

    @property
    def key(self) -> str:
        """A short name that identifies the package's content (equal packages, equal keys)."""
        text = json.dumps({"values": dict(self.values), "start": self.start, "end": self.end}, sort_keys=True)
        return "D" + hashlib.sha256(text.encode()).hexdigest()[:8]

    def reach(self, lever: Lever) -> float:
        """How far the package takes `lever` from the status quo towards the target (0 to 1)."""
        if lever.name not in self.values:
            return 0.0
        if lever.kind != "numeric":
            return 1.0
        return (float(self.values[lever.name]) - float(lever.status_quo)) / (float(lever.target) - float(lever.status_quo))

    def definition(self) -> dict[str, Any]:
        """The package as a program definition (the fields of a data/programs.yaml entry)."""
        programs = standard_programs()
        moved = {}
        for lever in levers():
            if lever.name not in self.values:
                continue
            source = programs[lever.program]
            setting = source.settings[lever.name]
            share = self.reach(lever)
            # An investment costs what its program pays to build it, whatever the window it is built in: its yearly
            # cost over a shorter window is higher (a recurring lever's yearly cost is yearly, whatever the window).
            build = (source.end - source.start + 1) / (self.end - self.start + 1) if setting.investment else 1.0
            moved[lever.name] = {
                "value": self.values[lever.name],
                "kind": setting.kind,
                "cost": [_line(line, share * build) for line in setting.cost],
                **({"maintenance": [_line(line, share) for line in setting.maintenance]} if setting.maintenance else {}),
            }
        return {"id": self.key, "name": f"Package {self.key}", "name_zh": f"方案{self.key}", "start": self.start,
                "end": self.end, "levers": moved}  # fmt: skip

    def program_entry(self) -> dict[str, Any]:
        """The package as an entry of a scenario's `programs` list."""
        return {"key": self.key.lower(), "define": self.definition()}


def _line(line: Any, share: float) -> dict[str, Any]:
    entry = {"per": line.per, "reason": line.reason}
    if line.amount == "increment":  # costs what the lever adds, so it follows the package's value by itself
        return {**entry, "amount": "increment", **({"times": line.times} if line.times else {})}
    return {**entry, "low": line.low * share, "central": line.central * share, "high": line.high * share}


def decode(x: Sequence[float], config: Config) -> Package:
    """The package a point of [0, 1]^n stands for: one coordinate per lever, then the start year and the length."""
    values: dict[str, Any] = {}
    all_levers = levers()
    for lever, u in zip(all_levers, x[: len(all_levers)], strict=True):
        if lever.kind == "numeric":
            steps = round(float(u) * LEVELS)
            if steps:
                value = float(lever.status_quo) + steps / LEVELS * (float(lever.target) - float(lever.status_quo))
                values[lever.name] = catalogue()[lever.name].check(round(value, 6))
        elif u >= 0.5:
            values[lever.name] = lever.target
    start = FIRST_YEAR + min(int(x[-2] * (LAST_YEAR - FIRST_YEAR + 1)), LAST_YEAR - FIRST_YEAR)
    length = 1 + min(int(x[-1] * config.max_years), config.max_years - 1)
    return Package(values, start, min(start + length - 1, LAST_YEAR))


def dimensions() -> int:
    """Coordinates of a package: one per lever, the start year and the length."""
    return len(levers()) + 2


# --- evaluation ---------------------------------------------------------------------------
def horizon(settings: decision.Settings) -> int:
    """The last month any package's (or program's) window of equal exposure can reach."""
    return month_index(LAST_YEAR, 1) + 12 * settings.exposure_years - 1


def points(config: Config, futures: int) -> list[dict[str, Any]]:
    """The central parameters, then the first `futures` futures of the robustness analysis's Latin hypercube."""
    from sim import robustness

    robust = robustness.load_config()
    sampled = robustness.lhs_points(robust, robustness.assumptions(robust))[:futures]
    if len(sampled) < futures:
        raise InputError(f"futures = {futures}: the robustness analysis samples only {len(sampled)}")
    quo = default_values()
    return [{name: quo[name] for name in sampled[0]}, *sampled]


def experiment(config: Config, name: str, conditions: Mapping[str, list[Any]], futures: list[dict[str, Any]],
               replicates: int, seed: int, n_communities: int) -> Any:  # fmt: skip
    """A batch experiment: the status quo and each condition (a list of programs) at every point."""
    from sim.batch.spec import spec_from_dict

    s = decision.settings()
    variants = {"baseline": {"programs": [], "parameters": {"persistence": config.regime}}}
    regime = {"persistence": config.regime}
    variants |= {label: {"programs": entries, "parameters": regime} for label, entries in conditions.items()}
    raw = {
        "name": name, "description": "design search (experiments/design.yaml)", "base": "baseline", "variants": variants,
        "baseline": "baseline", "parameters": {"n_communities": n_communities, "months": horizon(s)},
        "replicates": replicates, "seed": seed, "design": {"kind": "list", "points": futures},
        "outputs": {"months": "all", "columns": [*decision_outcomes(), *QUANTITY_COLUMNS.values()]},
    }  # fmt: skip
    return spec_from_dict(raw, f"design {name}", folder("experiments"))


def objectives(spec: Any, table: pd.DataFrame, budget: float) -> pd.DataFrame:
    """Per condition: score (central point), robustness (10th percentile over futures), cost and national cost."""
    s = decision.settings()
    outcomes = [o for o in decision_outcomes() if o in table.columns]
    effects = decision.integrated_effects(table, spec.baseline, outcomes, s, s.windows(spec.scenarios))
    scored = decision.scores(effects, s)
    central = scored[scored["design_point"] == 0].groupby("scenario")["overall"].mean()
    by_future = scored[scored["design_point"] > 0].groupby(["scenario", "design_point"])["overall"].mean()
    robust = by_future.groupby("scenario").quantile(0.1) if len(by_future) else central
    cost = central_costs(spec, table[table["design_point"] == 0], s)
    out = pd.DataFrame({"score": central, "robustness": robust, "cost": cost})
    out["national"] = out["cost"] * s.national_communities
    out["within_budget"] = out["national"] <= budget
    return out


def central_costs(spec: Any, table: pd.DataFrame, s: decision.Settings) -> pd.Series:
    """Discounted cost per community at central prices, mean over runs, per condition (the status quo left out)."""
    runs = table[table["scenario"] != spec.baseline]
    quantities = decision.run_costs(runs, lambda name, point: spec.scenarios[name], s)
    lines = decision.cost_lines([spec.scenarios[n] for n in quantities["scenario"].unique()])
    prices = decision.price_draws(lines, 1, s.cost_seed)  # draw 0: every line at its central value
    quantities = quantities.assign(cost=decision.cost_matrix(quantities, prices)[:, 0])
    return quantities.groupby("scenario")["cost"].mean()


@dataclass
class _Evaluator:
    """Evaluates a generation of packages as one batch (resumed if its store exists), remembering every result."""

    config: Config
    root: Path
    futures: list[dict[str, Any]]
    run_batch: Callable[..., Any]
    log: Callable[[str], None]
    archive: dict[str, dict[str, Any]] = field(default_factory=dict)  # package key -> objectives and package
    generation: int = 0

    def __call__(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        packages = [decode(row, self.config) for row in x]
        new = {p.key: p for p in packages if p.key not in self.archive}
        if new:
            name = f"gen_{self.generation:03d}"
            spec = experiment(self.config, f"{self.config.name}_{name}", {k: [p.program_entry()] for k, p in new.items()},
                              self.futures, self.config.replicates, self.config.seed, self.config.n_communities)  # fmt: skip
            table = self.run_batch(spec, self.root / name)
            found = objectives(spec, table, self.config.budget_yuan)
            for key, package in new.items():
                self.archive[key] = {**found.loc[key].to_dict(), "package": package, "generation": self.generation}
        self.log(f"generation {self.generation}: {len(packages)} packages, {len(new)} new, {len(self.archive)} evaluated")
        self.generation += 1
        rows = [self.archive[p.key] for p in packages]
        f = np.array([[r["score"], r["cost"], r["robustness"]] for r in rows])
        g = np.array([[r["national"] - self.config.budget_yuan] for r in rows])
        return f, g


@dataclass
class Result:
    """A finished search: every package evaluated, the front, the references, convergence and time."""

    config: Config
    evaluated: pd.DataFrame  # one row per package: objectives, within_budget, generation, its levers and window
    references: pd.DataFrame  # P1, P2, P3 and their combinations, evaluated the same way
    history: pd.DataFrame  # per generation: new evaluations, front size, hypervolume
    seconds: float  # this session's time
    store: Path
    runs: dict[str, int] = field(default_factory=dict)  # 'run' now and 'read' back from the stores, this session

    @property
    def front(self) -> pd.DataFrame:
        """The packages within the budget that no other such package beats on every objective."""
        feasible = self.evaluated[self.evaluated["within_budget"]]
        return feasible[non_dominated(feasible[list(OBJECTIVES)].to_numpy())].sort_values("cost")


def non_dominated(f: np.ndarray) -> np.ndarray:
    """Which rows of (score, cost, robustness) no other row beats or equals on all three and beats on one."""
    sign = np.array([-1.0 if d == "max" else 1.0 for d in DIRECTIONS])
    m = f * sign
    better_or_equal = (m[:, None, :] <= m[None, :, :]).all(axis=2)
    strictly = (m[:, None, :] < m[None, :, :]).any(axis=2)
    dominated = (better_or_equal & strictly).any(axis=0)
    return ~dominated


def store_folder(config: Config, root: Path | str) -> Path:
    """`root`/model-<fingerprint>/design_<scale>/: a changed model never reuses old evaluations."""
    from sim.robustness import store_root

    return store_root(root) / f"{config.name}_{config.scale}"


def run(config: Config, root: Path | str = "results", workers: int | None = None, log: Callable[[str], None] = print,
        quiet: bool = True, **executor: Any) -> Result:  # fmt: skip
    """Run (or resume) the search, then evaluate the article's programs and their combinations the same way."""
    from sim.batch import load_results, run_experiment
    from sim.search import search

    started = time.perf_counter()
    store = store_folder(config, root)
    runs = {"run": 0, "read": 0}

    def run_batch(spec: Any, out: Path) -> pd.DataFrame:
        report = run_experiment(spec, workers=workers, out=out, resume=True, quiet=quiet, **executor)
        runs["run"] += report.finished
        runs["read"] += report.already_done
        if report.failed:
            first = next(iter(report.failed.items()))
            raise InputError(f"{out}: {len(report.failed)} runs failed (first: {first[0]}: {first[1]})")
        return load_results(out)

    futures = points(config, config.futures)
    evaluator = _Evaluator(config, store, futures, run_batch, log)
    history = search(evaluator, dimensions(), DIRECTIONS, config.population, config.generations, config.seed, constraints=1)
    evaluated = _table(evaluator.archive)
    references = reference_objectives(config, futures, store / "references", run_batch)
    bounds = _bounds(evaluated, references)
    hv = [{"generation": h.number, "new": h.evaluated, "front": len(h.front_f),
           "hypervolume": _hypervolume(h.front_f, bounds)} for h in history]  # fmt: skip
    return Result(config, evaluated, references, pd.DataFrame(hv), time.perf_counter() - started, store, runs)


def reference_objectives(config: Config, futures: list[dict[str, Any]], out: Path, run_batch: Callable) -> pd.DataFrame:
    """P1, P2, P3 and their combinations at the search's points and seeds."""
    conditions = {_variant(label): list(keys) for label, keys in COMBINATIONS.items()}
    spec = experiment(config, f"{config.name}_references", conditions, futures, config.replicates, config.seed,
                      config.n_communities)  # fmt: skip
    found = objectives(spec, run_batch(spec, out), config.budget_yuan)
    return found.rename(index={_variant(label): label for label in COMBINATIONS}).loc[list(COMBINATIONS)]


def _variant(label: str) -> str:
    """A condition label as a scenario name (run ids take letters, digits, '_' and '.'): 'P1+P2' -> 'P1.P2'."""
    return label.replace("+", ".")


def _table(archive: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    rows = []
    for key, row in archive.items():
        package = row["package"]
        rows.append({"package": key, **{k: row[k] for k in ("score", "cost", "robustness", "national", "within_budget",
                     "generation")}, "start": package.start, "end": package.end,
                     **{lever.name: package.values.get(lever.name, lever.status_quo) for lever in levers()}})  # fmt: skip
    return pd.DataFrame(rows)


def _bounds(evaluated: pd.DataFrame, references: pd.DataFrame) -> tuple[list[float], list[float]]:
    both = pd.concat([evaluated[list(OBJECTIVES)], references[list(OBJECTIVES)]])
    return list(both.min()), list(both.max())


def _hypervolume(front: np.ndarray, bounds: tuple[list[float], list[float]]) -> float:
    from sim.search import hypervolume

    return hypervolume(front, DIRECTIONS, bounds)


def package_of(row: Mapping[str, Any]) -> Package:
    """The package a row of `Result.evaluated` describes."""
    plain = {"numeric": float, "switch": bool, "choice": str}
    values = {lv.name: plain[lv.kind](row[lv.name]) for lv in levers() if row[lv.name] != lv.status_quo}
    return Package(values, int(row["start"]), int(row["end"]))


# --- choosing and checking ----------------------------------------------------------------
def chosen(result: Result) -> dict[str, Package]:
    """Up to three packages worth a closer look: the best score within the budget; the cheapest scoring at least as
    well as the best proposed program; the most robust. Each once (a package may be more than one of these)."""
    front = result.front
    if front.empty:
        return {}
    best_program = result.references.loc[["P1", "P2", "P3"], "score"].max()
    picks = {"best score": front["score"].idxmax(), "most robust": front["robustness"].idxmax()}
    as_good = front[front["score"] >= best_program]
    if not as_good.empty:
        picks["cheapest as good as the best program"] = as_good["cost"].idxmin()
    out: dict[str, Package] = {}
    for why, index in picks.items():
        package = package_of(front.loc[index])
        if package.key not in {p.key for p in out.values()}:
            out[why] = package
    return out


def recheck(config: Config, packages: Mapping[str, Package], root: Path | str = "results", workers: int | None = None,
            quiet: bool = True, **executor: Any) -> dict[str, pd.DataFrame]:  # fmt: skip
    """The chosen packages against P1, P2 and P3 on fresh seeds (100 communities) and on the robustness futures.

    Returns 'seeds' (per condition: score, its family scores and cost, mean and 95% interval, on `check_seeds` fresh
    seeds; a family above 1 is more than the article reports for those outcomes) and
    'futures' (per package: the share of futures in which it beats the best of P1-P3, with a Wilson interval).
    """
    from statsmodels.stats.proportion import proportion_confint

    from sim.batch import load_results, run_experiment

    store = store_folder(config, root)
    checked = hashlib.sha256(" ".join(sorted(p.key for p in packages.values())).encode()).hexdigest()[:8]
    conditions = {p: list(COMBINATIONS[p]) for p in ("P1", "P2", "P3")}
    conditions |= {p.key: [p.program_entry()] for p in packages.values()}
    out = {}
    for part, futures, replicates in (("seeds", points(config, 1)[:1], config.check_seeds),
                                      ("futures", points(config, config.check_futures)[1:], 1)):  # fmt: skip
        spec = experiment(config, f"{config.name}_check_{part}", conditions, futures, replicates, config.seed + 1, 100)
        out_folder = store / f"check_{part}_{checked}"
        report = run_experiment(spec, workers=workers, out=out_folder, resume=True, quiet=quiet, **executor)
        table = load_results(report.store)
        s = decision.settings()
        outcomes = [o for o in decision_outcomes() if o in table.columns]
        scored = decision.scores(decision.integrated_effects(table, "baseline", outcomes, s, s.windows(spec.scenarios)), s)
        wide = scored.pivot_table(index=["design_point", "replicate"], columns="scenario", values="overall")
        if part == "seeds":
            cost = central_costs(spec, table, s)
            rows = []
            for name in conditions:
                mean, low, high = decision.mean_interval(wide[name])
                lead = wide[name] - wide[["P1", "P2", "P3"]].max(axis=1)
                lead_mean, lead_low, lead_high = decision.mean_interval(lead)
                families = scored[scored["scenario"] == name][[f for f in FAMILIES if f in scored]].mean()
                rows.append({"condition": name, "score": mean, "score_low": low, "score_high": high, "cost": cost[name],
                             "lead": lead_mean, "lead_low": lead_low, "lead_high": lead_high,
                             **{f"family_{f}": v for f, v in families.items()}})  # fmt: skip
            out["seeds"] = pd.DataFrame(rows)
        else:
            rows = []
            best = wide[["P1", "P2", "P3"]].max(axis=1)
            for why, package in packages.items():
                wins = int((wide[package.key] > best).sum())
                n = len(wide)
                low, high = proportion_confint(wins, n, method="wilson")
                rows.append({"package": package.key, "why": why, "wins": wins, "futures": n, "share": wins / n,
                             "low": low, "high": high})  # fmt: skip
            out["futures"] = pd.DataFrame(rows, columns=["package", "why", "wins", "futures", "share", "low", "high"])
    return out


def dominates(a: Mapping[str, float], b: Mapping[str, float]) -> bool:
    """Whether `a` is at least as good as `b` on every objective and better on one."""
    sign = {"score": 1, "cost": -1, "robustness": 1}
    at_least = all(sign[k] * a[k] >= sign[k] * b[k] for k in OBJECTIVES)
    return at_least and any(sign[k] * a[k] > sign[k] * b[k] for k in OBJECTIVES)


# --- what the search found, in words ------------------------------------------------------
def money(yuan: float, national: bool = False) -> str:
    """'202,117 yuan' / '20.2万元' per community; '45.3 bn yuan' / '453亿元' nationally."""
    from sim.lang import t

    if national:
        return t(f"{yuan / 1e9:,.1f} bn yuan", f"{yuan / 1e8:.0f}亿元")
    return t(f"{yuan:,.0f} yuan", f"{yuan / 1e4:,.1f}万元")


def dominated_programs(result: Result) -> dict[str, list[str]]:
    """Per proposed program (P1, P2, P3): the front's packages that beat it on every objective in the search."""
    front = result.front
    return {
        program: [row["package"] for _, row in front.iterrows() if dominates(row, result.references.loc[program])]
        for program in ("P1", "P2", "P3")
    }


def summary(result: Result, picks: Mapping[str, Package], checks: Mapping[str, pd.DataFrame]) -> str:
    """The search's answer in a few sentences, with the re-evaluations' intervals (in the report language)."""
    from sim.lang import t

    c = result.config
    refs = result.references
    lines = [
        t(f"{len(result.evaluated)} packages evaluated in {len(result.history) - 1} generations of {c.population}; "
          f"{len(result.front)} on the front within the budget of {money(c.budget_yuan, True)} (national, discounted). "
          f"This session ran {result.runs.get('run', 0):,} runs and read {result.runs.get('read', 0):,} back from the "
          f"stores in {result.seconds / 60:.1f} min.",
          f"共评估{len(result.evaluated)}个方案({len(result.history) - 1}代,每代{c.population}个),其中{len(result.front)}"
          f"个位于预算(全国折现总额{money(c.budget_yuan, True)})内的帕累托前沿上。本次运行新算{result.runs.get('run', 0):,}次、"
          f"从已存结果读回{result.runs.get('read', 0):,}次,用时{result.seconds / 60:.1f}分钟。"),
        t("Proposed programs in the same runs: " + "; ".join(
            f"{p} score {refs.loc[p, 'score']:.2f}, cost {money(refs.loc[p, 'cost'])}" for p in ("P1", "P2", "P3")) + ".",
          "同一批运行中的文章所提工程:" + ";".join(
            f"{p}得分{refs.loc[p, 'score']:.2f}、成本{money(refs.loc[p, 'cost'])}" for p in ("P1", "P2", "P3")) + "。"),
    ]  # fmt: skip
    beaten = {p: keys for p, keys in dominated_programs(result).items() if keys}
    if beaten:
        lines.append(t(
            "In the search's own runs (" + f"{c.replicates} seeds, {c.n_communities} communities), packages on the front beat "
            + ", ".join(f"{p} ({len(k)} packages)" for p, k in beaten.items())
            + " on score, cost and robustness at once; the checks below say whether that survives fresh seeds.",
            f"在搜索自身的运行中({c.replicates}个种子、{c.n_communities}个社区),前沿上在得分、成本和稳健性上同时优于"
            + "、".join(f"{p}的有{len(k)}个方案" for p, k in beaten.items())
            + ";下文复核将检验换用新种子后这一结论是否仍然成立。"))  # fmt: skip
    else:
        lines.append(t("No package on the front beats any proposed program on score, cost and robustness at once.",
                       "前沿上没有任何方案在得分、成本和稳健性上同时优于某项文章所提工程。"))  # fmt: skip
    seeds, futures = checks.get("seeds"), checks.get("futures")
    for why, package in picks.items():
        row = seeds.set_index("condition").loc[package.key] if seeds is not None else None
        share = futures.set_index("package").loc[package.key] if futures is not None else None
        lead = "" if row is None else t(
            f" On {c.check_seeds} fresh seeds at 100 communities its score is {row['score']:.2f} "
            f"[{row['score_low']:.2f}, {row['score_high']:.2f}] at {money(row['cost'])}, "
            f"{row['lead']:+.2f} [{row['lead_low']:+.2f}, {row['lead_high']:+.2f}] against the best of P1-P3 in each replicate.",
            f"在100个社区、{c.check_seeds}个新种子上,得分{row['score']:.2f}[{row['score_low']:.2f},{row['score_high']:.2f}],"
            f"成本{money(row['cost'])},与每次重复运行中P1–P3最高分之差为{row['lead']:+.2f}"
            f"[{row['lead_low']:+.2f},{row['lead_high']:+.2f}]。")  # fmt: skip
        robust = "" if share is None else t(
            f" It beats the best of P1-P3 in {share['share']:.0%} [{share['low']:.0%}-{share['high']:.0%}] of "
            f"{int(share['futures'])} robustness futures.",
            f"在{int(share['futures'])}个稳健性情景中,该方案优于P1–P3最佳者的情景占{share['share']:.0%}"
            f"[{share['low']:.0%}–{share['high']:.0%}]。")  # fmt: skip
        lines.append(t(f"Package {package.key} ({why}):", f"方案{package.key}({WHY_ZH.get(why, why)}):") + lead + robust
                     + ("" if row is None else _families_text(row)))
    return "\n".join(lines)


def _families_text(row: pd.Series) -> str:
    """Whether any family score passes 1: more than the article reports for those outcomes (docs/decision.md)."""
    from sim.lang import t

    above = {k.removeprefix("family_"): v for k, v in row.items() if str(k).startswith("family_") and v > 1}
    if not above:
        return t(" No family score exceeds 1: it stays within the improvements the article reports.",
                 "各类得分均不超过1:未超出文章报告的改善幅度。")  # fmt: skip
    from sim.columns import FAMILY_LABELS

    listed = t(", ".join(f"{k} {v:.2f}" for k, v in above.items()),
               "、".join(f"{FAMILY_LABELS[k][1]}{v:.2f}" for k, v in above.items()))  # fmt: skip
    return t(f" Family scores above 1 (more than the article reports for those outcomes): {listed}.",
             f"以下各类得分超过1(超出文章对这些结果报告的改善幅度):{listed}。")  # fmt: skip


WHY_ZH = {
    "best score": "得分最高",
    "most robust": "最稳健",
    "cheapest as good as the best program": "达到最佳工程得分的最低成本方案",
}


def what_it_does(package: Package) -> str:
    """Which levers the package leaves at the status quo and which it takes to (near) their targets, in words."""
    from sim.lang import t

    dropped = [lever_name(lv.name) for lv in levers() if package.reach(lv) == 0]
    full = [lever_name(lv.name) for lv in levers() if package.reach(lv) >= 0.9]
    sep = t(", ", "、")
    return t(f"it leaves {sep.join(dropped) or 'nothing'} at the status quo and takes {sep.join(full) or 'nothing'} to 90% "
             f"or more of the way to their targets ({package.start}–{package.end})",
             f"其中{sep.join(dropped) or '无'}保持现状,{sep.join(full) or '无'}达到目标值的90%以上"
             f"(实施期{package.start}–{package.end}年)")  # fmt: skip


def bottom_line(result: Result, picks: Mapping[str, Package], checks: Mapping[str, pd.DataFrame]) -> str:
    """One or two sentences: does a package beat the best proposed program beyond noise on fresh seeds, at what cost,
    in how many futures, and what that rests on."""
    from sim.lang import t

    seeds = checks["seeds"].set_index("condition")
    futures = checks["futures"].set_index("package")
    keys = [p.key for p in picks.values()]
    beating = [k for k in keys if seeds.loc[k, "lead_low"] > 0]
    caveat = t(
        " The gain rests on how the model splits each program's effect among its levers (assumption parameters "
        "with plausible ranges, sampled in the futures), which the article does not measure: it is a package to "
        "pilot, not a finding.",
        "这一优势取决于模型如何把各工程的效果分配到其各个政策抓手上(有合理范围的假设参数,已在各情景中抽样),"
        "而文章并未测量这种分配:它是值得试点的方案,不是已证实的结论。")  # fmt: skip
    if not beating:
        return t("**Bottom line:** no package of the same levers beats the best proposed program beyond run-to-run noise "
                 "on fresh seeds.",
                 "**结论**:在新种子上,没有任何同类抓手组成的方案能在运行间随机性之外优于最佳的文章所提工程。")  # fmt: skip
    best = max(beating, key=lambda k: seeds.loc[k, "lead"])
    package = next(p for p in picks.values() if p.key == best)
    row, share = seeds.loc[best], futures.loc[best]
    p1, p3 = seeds.loc["P1", "cost"], seeds.loc["P3", "cost"]
    return t(
        f"**Bottom line:** in this model the same levers, set differently, buy more. Package {best} scores "
        f"{row['lead']:+.2f} [{row['lead_low']:+.2f}, {row['lead_high']:+.2f}] above the best of P1–P3 on "
        f"{result.config.check_seeds} fresh seeds, at {money(row['cost'])} per community (P1 {money(p1)}, P3 {money(p3)}), "
        "and beats it in "
        f"{share['share']:.0%} [{share['low']:.0%}–{share['high']:.0%}] of {int(share['futures'])} robustness futures; "
        f"{what_it_does(package)}.",
        f"**结论**:在本模型中,同样的政策抓手换一种力度与组合,能办更多的事。方案{best}在{result.config.check_seeds}个新种子上"
        f"比P1–P3中的最高分高{row['lead']:+.2f}[{row['lead_low']:+.2f},{row['lead_high']:+.2f}],每个社区成本"
        f"{money(row['cost'])}(P1为{money(p1)},P3为{money(p3)});在{int(share['futures'])}个稳健性情景中,该方案优于"
        f"P1–P3最佳者的情景占{share['share']:.0%}[{share['low']:.0%}–{share['high']:.0%}];{what_it_does(package)}。",
    ) + _families_text(row) + caveat
