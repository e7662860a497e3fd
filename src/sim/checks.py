"""The input checks every loader shares, each ending in one InputError line.

Experiment files, scenario files, the parameter catalogue, programs, the calibration
config, report parameters and command-line options all go through these helpers, so the
same mistake reads the same way everywhere:

    error: experiments/x.yaml: unknown field 'replicate' (did you mean 'replicates'?); allowed: ...
    error: experiments/x.yaml: replicates = 0 must be a whole number of at least 1
    error: data/calibration.yaml: tolerance = nan must be a finite number from 0 to 1

Values are echoed through `shown`, which is bounded in time and length, so a hostile
value (a YAML alias bomb that expands to millions of items) cannot flood the terminal.
"""

from __future__ import annotations

import math
import numbers
import reprlib
from collections.abc import Iterable, Mapping
from typing import Any

from sim.errors import InputError, closest

MESSAGE_LIMIT = 400  # characters of one error line; longer messages are cut (a value can be huge)
_REPR = reprlib.Repr(maxlevel=3, maxtuple=6, maxlist=6, maxdict=6, maxset=6, maxstring=80, maxother=80, maxlong=40)

# Limits on any data read from YAML or given as report parameters (far above any real input).
MAX_DEPTH = 50  # nesting of lists and mappings
MAX_ITEMS = 100_000  # scalars and containers, counting each alias expansion
MAX_SEED = 2**63 - 1  # seeds are stored in int64 columns


def shown(value: Any) -> str:
    """repr(value), cut short for long strings and big or deep containers (never expands it whole)."""
    return _REPR.repr(value)


def clip(message: str, limit: int = MESSAGE_LIMIT) -> str:
    """The first line of `message`, at most `limit` characters."""
    line = " ".join(str(message).split("\n"))
    return line if len(line) <= limit else line[: limit - 3] + "..."


def at(where: str, field: str) -> str:
    """'file: field' (or just one of them when the other is empty)."""
    return f"{where}: {field}" if where and field else where or field


def unknown_fields(raw: Mapping[Any, Any], allowed: Iterable[str], where: str, prefix: str = "", kind: str = "") -> None:
    """Refuse keys not in `allowed`: "unknown field 'x' (did you mean 'y'?); allowed: a, b"."""
    allowed = set(allowed)
    for key in raw:
        if key not in allowed:
            name = shown(key) if not isinstance(key, str) else key
            suffix = f" for {kind}" if kind else ""
            hint = closest(str(key), allowed)
            raise InputError(f"{where}: unknown field '{prefix}{name}'{suffix}{hint}; allowed: {', '.join(sorted(allowed))}")


def mapping(value: Any, where: str, field: str, what: str = "a mapping of name: value", empty: bool = True) -> dict[str, Any]:
    """`value` if it is a mapping (None counts as empty when `empty`), else an InputError."""
    if value is None and empty:
        return {}
    if not isinstance(value, dict) or (not empty and not value):
        raise InputError(f"{at(where, field)} = {shown(value)} must be {what}")
    return value


def whole_number(value: Any, where: str, field: str, minimum: int = 0, maximum: int | None = None) -> int:
    """An int (a numpy integer too; not a bool) in [minimum, maximum], as an int:
    "replicates = 0 must be a whole number of at least 1"."""
    if not _is_integer(value) or value < minimum or (maximum is not None and value > maximum):
        if maximum is not None:
            allowed = f"a whole number from {minimum:,} to {maximum:,}"
        else:
            allowed = "a non-negative whole number" if minimum == 0 else f"a whole number of at least {minimum}"
        raise InputError(f"{at(where, field)} = {shown(value)} must be {allowed}")
    return int(value)


def seed(value: Any, where: str, field: str = "seed") -> int:
    """A random seed: a whole number from 0 to MAX_SEED (numpy integers accepted)."""
    return whole_number(value, where, field, 0, MAX_SEED)


def _is_integer(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """An int or float (numpy's too), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def finite_number(value: Any, where: str, field: str, low: float = -math.inf, high: float = math.inf, unit: str = "") -> float:
    """A finite int or float in [low, high], as a float: "cost.low = -1 must be a non-negative number of yuan"."""
    if not is_number(value) or not math.isfinite(value) or not low <= value <= high:
        if low == 0 and math.isinf(high):
            allowed = f"a non-negative number{' of ' + unit if unit else ''}"
        else:
            allowed = f"a finite number{_range_text(low, high)}{' ' + unit if unit else ''}"
        raise InputError(f"{at(where, field)} = {shown(value)} must be {allowed}")
    return float(value)


def _range_text(low: float, high: float) -> str:
    if math.isinf(low) and math.isinf(high):
        return ""
    if math.isinf(high):
        return f" of at least {low:g}"
    if math.isinf(low):
        return f" of at most {high:g}"
    return f" from {low:g} to {high:g}"


def one_of(value: Any, choices: Iterable[str], where: str, field: str, what: str = "") -> str:
    """One of the given names (`what` says what they are), with a suggestion when it is close to one."""
    choices = list(choices)
    if not isinstance(value, str) or value not in choices:
        hint = closest(str(value), set(choices))
        label = f" {what}" if what else ""
        raise InputError(f"{at(where, field)} = {shown(value)} must be one of{label}: {', '.join(choices)}{hint}")
    return value


def text(value: Any, where: str, field: str) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value:
        raise InputError(f"{at(where, field)} = {shown(value)} must be text")
    return value


PLAIN_SCALARS = (str, int, float, bool, type(None))


def plain_data(value: Any, where: str, field: str = "value", finite: bool = True) -> Any:
    """Check that `value` is plain data: text, finite numbers, booleans, null, and lists or
    string-keyed mappings of them, at most MAX_DEPTH deep and MAX_ITEMS in all.

    Anything else (bytes from `!!binary`, dates, sets, objects) is refused: such values are
    not data a report or an experiment can take, and some would be written out as code.
    `finite=False` lets NaN and infinities through, for callers whose own checks name them better.
    Iterative and counting each alias expansion, so neither depth nor an alias bomb can
    exhaust the stack or memory.
    """
    stack: list[tuple[Any, str, int]] = [(value, field, 0)]
    seen = 0
    while stack:
        item, path, depth = stack.pop()
        seen += 1
        if seen > MAX_ITEMS:
            whole = at(where, field) or "the data"
            raise InputError(f"{whole} holds more than {MAX_ITEMS:,} values (YAML aliases expanding?); refused")
        if depth > MAX_DEPTH:
            raise InputError(f"{at(where, path) or 'the data'} is nested more than {MAX_DEPTH} levels deep; refused")
        if isinstance(item, dict):
            for key, sub in item.items():
                if not isinstance(key, str):
                    raise InputError(f"{at(where, path)} has the key {shown(key)}; keys must be text")
                stack.append((sub, f"{path}.{key}" if path else key, depth + 1))
        elif isinstance(item, list):
            stack.extend((sub, f"{path}[{i}]", depth + 1) for i, sub in enumerate(item))
        elif isinstance(item, float) and finite and not math.isfinite(item):
            raise InputError(f"{at(where, path)} = {shown(item)} must be a finite number")
        elif not isinstance(item, PLAIN_SCALARS):
            raise InputError(
                f"{at(where, path)} = {shown(item)} is of type {type(item).__name__}; only text, numbers, true/false, null "
                "and lists or mappings of them are allowed (quote dates and other values as text)"
            )
    return value
