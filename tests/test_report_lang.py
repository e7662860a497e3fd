"""Reports in Chinese: labels from the one bilingual source, every markdown cell translated, figures
that render Chinese with the project's own font on a machine with no CJK font of its own."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import nbformat
import pytest

from conftest import ROOT
from sim import lang
from sim.columns import FAMILY_LABELS, columns
from sim.programs import standard_programs
from sim.report.run import default_folder, translated

NOTEBOOKS = ("compare_programs", "scenario", "policy_levers", "reproduce_article", "robustness")

# A figure drawn with Chinese labels, with matplotlib allowed only its own bundled fonts (DejaVu) and the
# package's Noto Sans CJK: any "Glyph ... missing" warning (a box instead of a character) is an error.
DRAW_WITHOUT_SYSTEM_FONTS = textwrap.dedent(
    """
    import json, sys, warnings
    from pathlib import Path
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import font_manager
    bundled = str(Path(matplotlib.get_data_path()))
    font_manager.fontManager.ttflist = [f for f in font_manager.fontManager.ttflist if f.fname.startswith(bundled)]
    font_manager.fontManager._findfont_cached.cache_clear()
    import matplotlib.pyplot as plt
    from sim import figures, lang
    from sim.columns import column

    warnings.simplefilter("error")  # a missing glyph is a UserWarning
    lang.set_language("zh")
    figures.use_style()
    fig, ax = plt.subplots()
    c = column("idle_rate")
    ax.plot([-3, -1, 0, 2], [-0.5, 1.5, -2.0, 0.25], label=figures.label("P1"))
    ax.set(title=c.title, xlabel=c.axis, ylabel=c.difference_unit)
    figures.shade_programs(ax)
    ax.legend()
    figures.finish(fig, "各项工程的总体得分", "−1 表示更差")
    fig.savefig(sys.argv[1])
    used = {Path(font_manager.findfont(figures.mpl.font_manager.FontProperties(family=f))).name
            for f in figures.mpl.rcParams["font.sans-serif"]}
    print(json.dumps({"fonts": sorted(f.fname for f in font_manager.fontManager.ttflist if "CJK" in f.name),
                      "title": c.title, "used": sorted(used)}))
    """
)


def test_a_chinese_figure_renders_with_only_the_projects_font(tmp_path):
    png = tmp_path / "zh.png"
    result = subprocess.run(
        [sys.executable, "-c", DRAW_WITHOUT_SYSTEM_FONTS, str(png)], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["title"] == "闲置率"
    assert found["fonts"] and all("noto_cjk_sans_otc" in f for f in found["fonts"])  # no system CJK font in play
    assert "NotoSansCJK-Regular.ttc" in found["used"]
    assert png.stat().st_size > 5_000


def test_missing_glyphs_would_fail_the_figure_test(tmp_path):
    """The check above is not vacuous: without the package's font the same figure warns of missing glyphs."""
    script = DRAW_WITHOUT_SYSTEM_FONTS.replace("figures.use_style()", "figures.use_style(); fonts_off()").replace(
        "from sim.columns import column",
        "from sim.columns import column\ndef fonts_off():\n    matplotlib.rcParams['font.sans-serif'] = ['DejaVu Sans']",
    )
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "x.png")], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode != 0
    assert "missing from font" in result.stderr


def test_labels_come_from_the_bilingual_catalogue():
    for c in columns().values():
        assert c.label_zh and c.stored_unit_zh, c.name
    with lang.language("zh"):
        assert columns()["idle_rate"].axis == "闲置率 (%(占后备干部))"
        assert columns()["idle_rate"].difference_unit == "个百分点(占后备干部)"
        assert lang.condition("P1") == "P1 强基工程" and lang.condition("P3") == "P3 跃升工程"
        assert lang.regime("sustain") == "持续"
        for prog in standard_programs().values():
            assert lang.program_short(prog.id).split(" ", 1)[1] in prog.name_zh
    assert lang.condition("P1") == "P1 Talent Foundation"  # back in English outside the block
    assert {zh for _, zh in FAMILY_LABELS.values()} == {"人才链条", "能力", "治理效能", "参与"}


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_report_has_every_markdown_cell_in_chinese(tmp_path, name):
    notebook = ROOT / "notebooks" / f"{name}.ipynb"
    chinese = nbformat.read(translated(notebook, "zh", tmp_path), as_version=4)
    for cell in chinese.cells:
        if cell.cell_type == "markdown":
            assert any("\u4e00" <= ch <= "\u9fff" for ch in cell.source), cell.source[:80]
    assert translated(notebook, "en", tmp_path) == notebook


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_report_takes_lang_and_csv_excel(name):
    from sim.report.run import declared_parameters

    declared = declared_parameters(ROOT / "notebooks" / f"{name}.ipynb")
    assert declared["lang"] == "en" and declared["csv_excel"] is False


def test_a_chinese_report_has_its_own_reference_folder():
    assert default_folder("compare_programs", {"lang": "zh"}).name.startswith("compare_programs_zh")
    assert not default_folder("compare_programs", {"lang": "en"}).name.startswith("compare_programs_zh")


def test_bad_language_is_one_line_and_exit_2():
    result = subprocess.run(
        [sys.executable, "-m", "sim.cli", "report", "compare_programs", "--lang", "fr"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --lang = 'fr' must be one of: en, zh"


def test_a_chinese_page_declares_its_language(tmp_path):
    from sim.report.run import write_html

    executed = tmp_path / "tiny.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 结论\n\n文字")]), executed)
    page = write_html(executed, tmp_path / "index.html", "结论", "zh").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page and "结论" in page
    english = write_html(executed, tmp_path / "en.html", "x").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' not in english


@pytest.mark.parametrize(
    ("half", "full"),
    [
        ("等长评估(各自开始后7年)", "等长评估（各自开始后7年）"),
        ("**结论**(持续,所有选择均不确定):P1 或 P3", "**结论**（持续，所有选择均不确定）：P1 或 P3"),
        ("资助哪项工程?P1、P2 还是 P3", "资助哪项工程？P1、P2 还是 P3"),
        ("见([稳健性报告](../robustness/index.html)):每个", "见（[稳健性报告](../robustness/index.html)）：每个"),
        ("尚未计算(`make report`)。`a(b):c` 不变", "尚未计算（`make report`）。`a(b):c` 不变"),
        ("共1,234元;见 https://example.org/a:b", "共1,234元；见 https://example.org/a:b"),
        ("Mean (95% CI): 2.0", "Mean (95% CI): 2.0"),
        ("**P3 与 P1 难分高下**:P3 领先", "**P3 与 P1 难分高下**：P3 领先"),  # through markdown emphasis
        ("**P1**, P2: 0.5", "**P1**, P2: 0.5"),
        ("*何时评估*([docs/decision.md](../d.md)):不一致", "*何时评估*（[docs/decision.md](../d.md)）：不一致"),
    ],
)
def test_chinese_text_is_typeset_with_full_width_punctuation(half, full):
    """Half-width ,:;?!() touching Chinese become full-width; code, link targets, numbers and English stay as they are."""
    from sim.lang import language, t, typeset_zh

    assert typeset_zh(half) == full
    with language("zh"):
        assert t("English", half) == full
    assert t("English", half) == "English"
