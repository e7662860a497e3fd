"""Many-objective search: platypus's NSGA-II, a whole generation evaluated in one call.

    from sim.search import search
    history = search(evaluate, n_variables=5, directions=["min", "min"], population=40, generations=50, seed=1)
    history[-1].front_f        # the non-dominated, feasible objective vectors after the last generation

`evaluate(X)` gets every new solution of a generation at once (rows of X in [0, 1]^n) and
returns their objectives (and constraint values, feasible when <= 0), so a simulator can run
a generation as one batch. The optimiser is platypus's (the library EMA Workbench's
`optimize` runs); only the batching evaluator and the bookkeeping are here.

Reproducible and resumable: platypus draws from Python's `random`, which is seeded here and
set aside while `evaluate` runs, so the same seed proposes the same solutions whatever the
evaluation does; an evaluation that finds its results stored (sim.design: one batch store per
generation) makes a resumed search replay the interrupted one exactly, evaluating only what was
not finished.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import platypus

Evaluate = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray | None]]


@dataclass
class Generation:
    """The state after one generation: what was evaluated in it, and the feasible non-dominated set so far."""

    number: int
    evaluated: int  # new solutions evaluated in this generation
    front_x: np.ndarray  # variables of the feasible non-dominated solutions of the population
    front_f: np.ndarray  # their objectives
    hypervolume: float  # of front_f within the search's bounds (0 to 1; larger is better)


class _Batch(platypus.Evaluator):
    """Evaluates a generation's solutions in one call of `evaluate`, with the optimiser's random state set aside."""

    def __init__(self, evaluate: Evaluate, constraints: int) -> None:
        super().__init__()
        self.evaluate, self.constraints = evaluate, constraints
        self.last = 0

    def evaluate_all(self, jobs, **kwargs):
        solutions = [job.solution for job in jobs]
        self.last = len(solutions)
        if not solutions:
            return jobs
        x = np.array([[float(v) for v in s.variables] for s in solutions])
        state = random.getstate()
        try:
            f, g = self.evaluate(x)
        finally:
            random.setstate(state)
        for i, s in enumerate(solutions):
            s.objectives[:] = [float(v) for v in f[i]]
            if self.constraints:
                s.constraints[:] = [float(v) for v in g[i]]
            s.constraint_violation = sum(abs(c(v)) for c, v in zip(s.problem.constraints, s.constraints, strict=True))
            s.feasible = s.constraint_violation == 0.0
            s.evaluated = True
        return jobs


def search(
    evaluate: Evaluate,
    n_variables: int,
    directions: Sequence[str],
    population: int,
    generations: int,
    seed: int,
    constraints: int = 0,
    bounds: tuple[Sequence[float], Sequence[float]] | None = None,
    on_generation: Callable[[Generation], None] | None = None,
) -> list[Generation]:
    """Run NSGA-II for `generations` generations after the initial population; one Generation per step.

    `directions`: 'min' or 'max' per objective. Constraints are feasible when <= 0. `bounds`
    (lowest and highest value of each objective) normalise the hypervolume; without them it is
    taken over the objectives seen in the first generation.
    """
    problem = platypus.Problem(n_variables, len(directions), constraints)
    problem.types[:] = platypus.Real(0.0, 1.0)
    problem.directions[:] = [platypus.Problem.MAXIMIZE if d == "max" else platypus.Problem.MINIMIZE for d in directions]
    if constraints:
        problem.constraints[:] = "<=0"
    state = random.getstate()
    random.seed(seed)
    evaluator = _Batch(evaluate, constraints)
    algorithm = platypus.NSGAII(problem, population_size=population, evaluator=evaluator)
    history: list[Generation] = []
    try:
        for number in range(generations + 1):  # generation 0 is the initial population
            algorithm.step()
            front = [s for s in platypus.nondominated(algorithm.population) if s.feasible]
            fx = np.array([[float(v) for v in s.variables] for s in front]).reshape(len(front), n_variables)
            ff = np.array([list(s.objectives) for s in front]).reshape(len(front), len(directions))
            if bounds is None:
                bounds = _bounds(algorithm.population, len(directions))
            hv = hypervolume(ff, directions, bounds)
            history.append(Generation(number, evaluator.last, fx, ff, hv))
            if on_generation is not None:
                on_generation(history[-1])
    finally:
        random.setstate(state)
    return history


def _bounds(solutions, n: int) -> tuple[list[float], list[float]]:
    f = np.array([list(s.objectives) for s in solutions]).reshape(-1, n)
    return list(f.min(axis=0)), list(f.max(axis=0))


def hypervolume(front: np.ndarray, directions: Sequence[str], bounds: tuple[Sequence[float], Sequence[float]]) -> float:
    """The share of the box `bounds` that `front` dominates (platypus's Hypervolume on objectives turned to minimise)."""
    if len(front) == 0:
        return 0.0
    sign = np.array([-1.0 if d == "max" else 1.0 for d in directions])
    low, high = np.asarray(bounds[0], dtype=float), np.asarray(bounds[1], dtype=float)
    lo, hi = np.minimum(low * sign, high * sign), np.maximum(low * sign, high * sign)
    problem = platypus.Problem(0, len(directions))
    points = []
    for row in np.clip(front * sign, lo, hi):
        s = platypus.Solution(problem)
        s.objectives[:] = list(row)
        s.evaluated = True
        points.append(s)
    return float(platypus.Hypervolume(minimum=list(lo), maximum=list(hi))(points))
