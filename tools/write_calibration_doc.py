"""Rewrite the calibration results in docs/ODD.md (8.5-8.6) from data/calibrated.yaml and data/posterior.yaml.

    .venv/bin/python tools/write_calibration_doc.py

Run after `sim calibrate`; tests/test_calibration.py fails when the committed tables and the files disagree.
"""

from pathlib import Path

from sim.article import calibration_markdown

BEGIN = "<!-- calibration: generated from data/calibrated.yaml and data/posterior.yaml by tools/write_calibration_doc.py -->"
END = "<!-- end of calibration -->"


def main() -> None:
    path = Path(__file__).resolve().parents[1] / "docs" / "ODD.md"
    text = path.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{calibration_markdown()}\n{END}{tail}", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
