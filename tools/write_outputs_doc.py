"""Rewrite the column table of docs/outputs.md from data/outputs.yaml (run after editing the catalogue).

    .venv/bin/python tools/write_outputs_doc.py

tests/test_columns.py fails when the committed table and the catalogue disagree.
"""

from pathlib import Path

from sim.columns import markdown_table

BEGIN = "<!-- columns: generated from data/outputs.yaml by tools/write_outputs_doc.py; edit the catalogue, not this table -->"
END = "<!-- end of columns -->"


def main() -> None:
    path = Path(__file__).resolve().parents[1] / "docs" / "outputs.md"
    text = path.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{markdown_table()}\n{END}{tail}", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
