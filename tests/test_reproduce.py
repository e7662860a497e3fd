"""`sim reproduce` compares regenerated metrics with committed ones: numbers within rtol, strings exactly."""

from sim.reproduce import compare, report_parameters


def test_identical_metrics_have_no_differences():
    metrics = {"a": 1.0, "b": {"c": [1, 2, 3], "d": "text"}, "report": {"seconds": 3.2}}
    assert compare("x", metrics, metrics) == []


def test_numbers_beyond_tolerance_and_changed_text_are_reported():
    committed = {"a": 1.0, "b": {"c": [1, 2, 3], "d": "text"}, "e": 5}
    reproduced = {"a": 1.0 + 1e-3, "b": {"c": [1, 2, 4], "d": "other"}}
    keys = {d.key for d in compare("x", committed, reproduced, rtol=1e-6)}
    assert keys == {"a", "b.c[2]", "b.d", "e"}


def test_tiny_float_noise_timings_and_provenance_are_ignored():
    committed = {"a": 0.1 + 0.2, "report": {"seconds": 1}, "provenance": {"git_commit": "abc"},
                 "seconds_by_part": {"sobol": 438.0}}  # fmt: skip
    reproduced = {"a": 0.3, "report": {"seconds": 9}, "provenance": {"git_commit": "def"}, "seconds_by_part": {"sobol": 419.0}}
    assert compare("x", committed, reproduced) == []
    assert compare("x", {"runs": 9921}, {"runs": 9920}) != []  # what the runs gave is compared


def test_parameters_come_from_the_committed_report_without_its_folder():
    metrics = {"report": {"parameters": {"replicates": 30, "output_dir": "/somewhere"}}}
    assert report_parameters(metrics) == {"replicates": 30}
