"""The explorer's model, inputs and charts, without a browser (tests/test_explorer_browser.py drives the page)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("altair", reason="the explorer needs cadre-sim[viz]")

from sim import explore, simulate
from sim.parameters import catalogue, default_values
from sim.programs import standard_programs

SHORT = {"n_communities": 20, "months": 12}


def test_every_lever_has_an_input_whose_span_holds_its_default_and_every_program_value():
    inputs = explore.model_params()
    levers = [n for n, s in catalogue().items() if s.lever]
    assert set(levers) <= set(inputs)
    program_values = {(lever, s.value) for p in standard_programs().values() for lever, s in p.settings.items()}
    for name in levers:
        entry, spec = inputs[name], catalogue()[name]
        assert entry["value"] == default_values()[name]
        if entry["type"].startswith("Slider"):
            low, high = spec.allowed or spec.range
            assert low <= entry["min"] <= entry["value"] <= entry["max"] <= high, name
            assert spec.range[1] <= entry["max"], name
            on_grid = (entry["value"] - entry["min"]) / entry["step"]
            assert abs(on_grid - round(on_grid)) < 1e-6, f"{name}: default off the slider's grid"
            for lever, value in program_values:
                if lever == name:
                    assert entry["min"] <= value <= entry["max"], (name, value)
        elif entry["type"] == "Select":
            assert list(spec.choices) == entry["values"]
    for key in standard_programs():
        assert {key, f"{key}_start", f"{key}_end"} <= set(inputs)


def test_explorer_model_at_its_defaults_is_the_baseline():
    model = explore.new_model(**SHORT)
    model.run_for(12)
    expected = simulate("baseline", seed=explore.DEFAULT_SEED, overrides=SHORT)
    assert model.results().equals(expected)
    assert not model.running


def test_program_switches_and_windows_and_the_override_note():
    model = explore.new_model(
        talent_foundation=True, talent_foundation_start=2024, talent_foundation_end=2024, mentor_trained_share=0.5, **SHORT
    )
    (program,) = model.policy_scenario.programs
    assert (program.key, program.start, program.end) == ("talent_foundation", 2024, 2024)
    line, overrides = explore.status_text(model)
    assert "Month 0 · June 2023" in line and "active now: none" in line and overrides == []
    assert explore.changed_levers(model) == ["mentor_trained_share 0.5 (status quo 0.38)"]
    model.run_for(7)  # January 2024: P1 is active
    line, overrides = explore.status_text(model)
    assert "active now: P1" in line
    assert "mentor_trained_share: 0.9 in force, slider 0.5" in overrides
    assert any(o.startswith("selection_method: capability_portrait in 100% of communities") for o in overrides)
    reversed_window = explore.new_model(innovation_leap=True, innovation_leap_start=2029, innovation_leap_end=2027, **SHORT)
    assert (reversed_window.policy_scenario.programs[0].start, reversed_window.policy_scenario.programs[0].end) == (2027, 2029)


def test_charts_read_named_data_that_each_month_provides():
    model = explore.new_model(digital_foundation=True, **SHORT)
    model.run_for(3)
    for kind in explore.TEMPLATES:
        spec = explore.chart_spec(kind, model)
        text = json.dumps(spec)
        for name, rows in spec["datasets"].items():
            assert f'"name": "{name}"' in text
            assert rows or name == "windows"
        assert spec["$schema"] == explore.VEGA_LITE_5
    assert len(explore.chart_spec("pipeline", model)["datasets"]["outcomes"]) == 4 * 3  # months 0-3, three outcomes
    pyramid = explore.chart_spec("pyramid", model)["datasets"]["pyramid"]
    assert abs(sum(r["share"] for r in pyramid if r["share"] > 0) - 100) < 1e-6


@pytest.mark.parametrize(
    ("setting", "words"),
    [
        ({"n_communities": 200_000}, "n_communities) = 200000 must be a whole number from 10 to 500"),
        ({"talent_foundation_start": 1900}, "talent_foundation_start) = 1900 must be a whole number"),
        ({"innovation_leap_end": 9999}, "innovation_leap_end) = 9999 must be a whole number"),
        ({"seed": -1}, "seed) = -1 must be a whole number from 0 to 99"),
        ({"talent_foundation": "yes"}, "must be true or false"),
        ({"persistence": "forever"}, "must be one of"),
        ({"funding_share": 5.0}, "funding_share) = 5.0 must be a finite number"),
        ({"not_a_lever": 1}, "unknown parameter 'not_a_lever'"),  # not a widget: CadreModel's own check
    ],
)
def test_the_server_refuses_a_value_no_widget_could_send(setting, words):
    with pytest.raises(explore.InputError) as caught:
        explore.new_model(**{**SHORT, **setting})
    assert words in str(caught.value)


def test_every_slider_end_is_accepted():
    for name, widget in explore.model_params().items():
        if widget["type"].startswith("Slider") and name != "n_communities":
            for value in (widget["min"], widget["max"]):
                explore.check_settings({name: value})


def test_the_page_server_ends_when_sim_explore_is_killed(tmp_path):
    """`kill -9` of `sim explore` leaves no Solara server listening (it is started with PR_SET_PDEATHSIG)."""
    import os
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    psutil = pytest.importorskip("psutil")
    if not sys.platform.startswith("linux"):
        pytest.skip("the parent-death signal is Linux's")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sim = Path(sys.executable).with_name("sim")
    command = [str(sim), "explore", "--port", str(port)]
    parent = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        children: list = []
        while time.monotonic() < deadline and not children:
            children = psutil.Process(parent.pid).children(recursive=True)
            time.sleep(0.2)
        assert children, "sim explore started no server"
        parent.kill()
        parent.wait(10)
        _, alive = psutil.wait_procs(children, timeout=15)
        assert not alive, [p.cmdline() for p in alive]
    finally:
        for process in psutil.Process(os.getpid()).children(recursive=True):
            process.kill()
