"""Property-based fuzzing (Hypothesis) of every loader and of the command line.

Whatever a file or an option holds — any type, NaN and infinities, huge numbers, any text
or bytes, deep nesting, YAML alias bombs — a loader either returns checked values or raises
one InputError line; the CLI exits 0 or 2 with at most one 'error:' line and never a
traceback. Accepted values are checked again here (finite, inside their limits).

Deterministic (derandomize) and bounded (a few dozen examples each) so the file takes
seconds; the strategies lean on the edges where the bugs were.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import invoke_cli, scenario_path
from sim.batch import limits
from sim.batch.design import KINDS
from sim.batch.spec import SPEC_FIELDS, load_spec
from sim.calibration import load_config
from sim.checks import MAX_DEPTH, MAX_ITEMS, MESSAGE_LIMIT
from sim.errors import InputError
from sim.files import read_yaml
from sim.parameters import Parameters, catalogue
from sim.programs import load_programs
from sim.report.run import gather_parameters, parse_value
from sim.scenario import load_scenario

FUZZ = settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
NAMES = sorted(catalogue())
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([0, -1, 1, 2**31, 2**63, 1e308, -0.0, 0.5, "", "#", " #x", "!!binary eA==", "..", "nan", ".inf"])
    | st.text(max_size=20)
)
plain = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12
)
programs = st.lists(
    st.sampled_from(["talent_foundation", "innovation_leap", "nope"])
    | st.fixed_dictionaries(
        {"name": st.sampled_from(["digital_foundation", "x"])}, optional={"start": scalars, "end": scalars, "when": scalars}
    ),
    max_size=3,
)
parameter_maps = st.dictionaries(st.sampled_from(NAMES) | st.text(max_size=8), plain, max_size=3)


def write(folder: Path, name: str, data: object) -> Path:
    path = folder / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def one_line(error: InputError) -> str:
    message = str(error)
    assert "\n" not in message, message
    return message


def assert_checked(parameters: Parameters) -> None:
    """Every value the checks let through is finite and inside its hard limits."""
    for name, value in parameters.items():
        spec = catalogue()[name]
        if spec.type in ("float", "int"):
            low, high = spec.allowed or spec.range or (-math.inf, math.inf)
            assert math.isfinite(value) and low <= value <= high, (name, value)
        elif spec.type == "list":
            low, high = spec.allowed or (-math.inf, math.inf)
            assert all(math.isfinite(v) and low <= v <= high for v in value), (name, value)


@FUZZ
@given(name=st.sampled_from(NAMES), value=plain)
def test_any_value_for_any_parameter(name: str, value: object) -> None:
    try:
        parameters = Parameters({name: value}, "fuzz")
    except InputError as error:
        assert name in one_line(error)
        return
    assert_checked(parameters)


@FUZZ
@given(
    fields=st.fixed_dictionaries(
        {}, optional={"name": scalars, "description": plain, "programs": programs | plain, "parameters": parameter_maps | plain}
    ),
    extra=st.dictionaries(st.text(max_size=6), plain, max_size=1),
)
def test_scenario_files(fields: dict, extra: dict) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder), "s.yaml", {**fields, **extra})
        try:
            scenario = load_scenario(path)
        except InputError as error:
            assert str(path) in one_line(error)
            return
    assert_checked(scenario.parameters)
    for program in scenario.programs:
        assert 2000 <= program.start <= program.end <= 2100


BASE_SPEC = {"name": "fuzz", "scenarios": ["baseline"], "parameters": {"n_communities": 20, "months": 2}, "replicates": 2}
designs = st.fixed_dictionaries(
    {"kind": st.sampled_from([*KINDS, "grd"])},
    optional={
        "parameters": st.dictionaries(
            st.sampled_from(["funding_share", "mentor_trained_share", "selection_method", "nope"]), plain, max_size=2
        )
        | st.lists(st.sampled_from(["funding_share", "county_share"]), max_size=2),
        "samples": st.integers(-2, 64) | st.sampled_from([2**40, 10**15]),
        "levels": st.integers(-2, 6) | st.sampled_from([10**7]),
        "trajectories": st.integers(-2, 8) | st.sampled_from([10**12]),
        "points": st.lists(parameter_maps, max_size=3),
        "seed": scalars,
    },
)


@FUZZ
@given(field=st.sampled_from([*sorted(SPEC_FIELDS), "extra"]), value=plain | designs)
def test_experiment_files(field: str, value: object) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder), "e.yaml", {**BASE_SPEC, field: value})
        try:
            spec = load_spec(path)
        except InputError as error:
            assert str(path) in one_line(error)
            return
    assert spec.replicates >= 1 and spec.seed >= 0 and len(spec.design.points) <= 1_000_000
    for scenario in spec.scenarios.values():
        assert_checked(scenario.parameters)


@FUZZ
@given(replicates=st.integers(1, 10**15), levels=st.integers(2, 10**6), communities=st.integers(1, 200_000))
def test_sizes_are_decided_before_planning(replicates: int, levels: int, communities: int) -> None:
    spec = {
        **BASE_SPEC,
        "replicates": replicates,
        "parameters": {"n_communities": communities},
        "design": {"kind": "grid", "parameters": {"funding_share": {"levels": min(levels, 1000)}}},
    }
    with tempfile.TemporaryDirectory() as folder:
        loaded = load_spec(write(Path(folder), "e.yaml", spec))
    try:
        found = limits.check_size(loaded, 2)
    except InputError as error:
        assert "runs" in one_line(error)
        return
    assert found.runs <= limits.MAX_RUNS and found.hours <= limits.MAX_HOURS


@FUZZ
@given(data=st.binary(max_size=300) | st.text(max_size=100).map(lambda t: t.encode("utf-16")))
def test_any_bytes_as_an_input_file(data: bytes) -> None:
    loaders = (load_scenario, load_spec, load_programs, load_config, gather_parameters)
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder), "f.yaml", data)
        for loader in loaders:
            try:
                loader(path)
            except InputError as error:
                assert str(path) in one_line(error)


@FUZZ
@given(depth=st.integers(1, 120) | st.sampled_from([2000]), kind=st.sampled_from("[{"))
def test_nesting(depth: int, kind: str) -> None:
    nested = "[" * depth + "1" + "]" * depth if kind == "[" else "{b: " * depth + "1" + "}" * depth
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "deep.yaml"
        path.write_text(f"x: {nested}", encoding="utf-8")
        try:
            read_yaml(path)
            refused = False
        except InputError as error:
            refused = "nested" in one_line(error)
    assert refused == (depth + 1 > MAX_DEPTH)  # the mapping holding x is level 0


@FUZZ
@given(width=st.integers(2, 12), levels=st.integers(1, 10))
def test_alias_bombs_are_counted_not_expanded(width: int, levels: int) -> None:
    lines, size, total = ["a0: &a0 [x]"], 2, 1 + 2  # the top mapping, a0's list and its item
    for level in range(1, levels + 1):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * width)}]")
        size = 1 + width * size
        total += size
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bomb.yaml"
        path.write_text("\n".join(lines), encoding="utf-8")
        try:
            read_yaml(path)
            refused = False
        except InputError as error:
            refused = "more than" in one_line(error) and len(str(error)) < 200
    assert refused == (total > MAX_ITEMS)


@FUZZ
@given(
    text=st.text(max_size=40)
    | st.sampled_from(["!!binary eA==", "x\" + __import__('os').getcwd() + \"", "30 # c", "[1]", ".nan"])
)
def test_report_values_are_plain_data_or_refused(text: str) -> None:
    try:
        value = parse_value(text, "v")
    except InputError as error:
        assert "finite" in one_line(error)
        return
    assert value is None or isinstance(value, bool | int | float | str)
    if isinstance(value, str):
        assert value == text  # text is never changed: no tag, comment or flow syntax takes effect


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(NAMES) | st.text(max_size=12), value=st.text(max_size=30) | scalars.map(str))
def test_cli_run_with_any_set(name: str, value: str) -> None:
    result = invoke_cli(
        ["run", scenario_path("baseline"), "--set", f"{name}={value}", "--set", "n_communities=10", "--set", "months=1"]
    )
    assert result.returncode in (0, 2), result.stderr
    assert "Traceback" not in result.stderr
    if result.returncode == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and len(lines[0]) <= MESSAGE_LIMIT + 10, result.stderr
