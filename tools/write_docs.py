"""Rewrite the generated blocks of the docs from the data they describe (run after editing that data).

    .venv/bin/python tools/write_docs.py

- docs/outputs.md, the column table, from data/outputs.yaml (`sim.columns.markdown_table`);
- docs/ODD.md, the calibration results (8.6), from data/calibrated.yaml and data/posterior.yaml
  (`sim.article.calibration_markdown`; after `sim calibrate`).

tests/test_columns.py and tests/test_calibration.py fail when a committed block and its data disagree.
"""

from collections.abc import Callable
from pathlib import Path

from sim.article import calibration_markdown
from sim.columns import markdown_table

DOCS = Path(__file__).resolve().parents[1] / "docs"
# file -> (the block's first line, its last line, what writes it)
BLOCKS: dict[str, tuple[str, str, Callable[[], str]]] = {
    "outputs.md": (
        "<!-- columns: generated from data/outputs.yaml by tools/write_docs.py; edit the catalogue, not this table -->",
        "<!-- end of columns -->",
        markdown_table,
    ),
    "ODD.md": (
        "<!-- calibration: generated from data/calibrated.yaml and data/posterior.yaml by tools/write_docs.py -->",
        "<!-- end of calibration -->",
        calibration_markdown,
    ),
}


def main() -> None:
    for name, (begin, end, content) in BLOCKS.items():
        path = DOCS / name
        head, rest = path.read_text(encoding="utf-8").split(begin, 1)
        _, tail = rest.split(end, 1)
        path.write_text(f"{head}{begin}\n{content()}\n{end}{tail}", encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
