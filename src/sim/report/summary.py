"""Sentences the reports share: the caveat every result carries, and effects in words."""

from __future__ import annotations

from sim.figures import outcome_label
from sim.lang import current, t

CAVEAT = (
    "**Read with care.** Every input is a figure reported by one policy article that cannot be "
    "verified here (several come from single-site pilots), program costs are this project's "
    "assumptions, and the model adds its own assumptions. The results say what follows *if* "
    "those figures and assumptions hold: scenario exploration, not a forecast. The intervals "
    "cover run-to-run randomness only, not uncertainty in the inputs. Response speed is the one "
    "outcome whose article figure the calibrated model does not reproduce (held out of the "
    "calibration, F45: the model's rise is far larger than the article's +35%; see "
    "reports/reproduce_article/), so its effects here are likely overstated."
)


CAVEAT_ZH = (
    "**请谨慎解读。** 每个输入都来自一篇无法在此核实的政策文章(其中若干来自单一试点),工程成本是本项目的假设,"
    "模型本身也有其假设。结果表示*如果*这些数据和假设成立会怎样:是情景探索,而非预测。区间只反映运行间随机性,"
    "不反映输入的不确定性。服务响应速度是校准后的模型唯一无法复现其文章数据的结果(未参与校准,F45:"
    "模型的升幅远大于文章的+35%;见 reports/reproduce_article/),因此这里对它的效应可能高估。"
)


def caveat() -> str:
    """The caveat, in the report language."""
    return t(CAVEAT, CAVEAT_ZH)


def unit_word(outcome: str) -> str:
    """How a difference in `outcome` is spoken of: percentage points, points or index points (in the report language)."""
    spec = outcome_label(outcome)
    if spec.scale == 100:
        return t("percentage points", "个百分点")
    if "points" in (spec.display_unit or spec.stored_unit):
        return t("points", "分")
    return t("index points", "个指数点")


def describe_effect(outcome: str, difference: float, low: float, high: float, digits: int = 1) -> str:
    """'idle rate -5.1 percentage points [-6.0, -4.2]' in display units ('闲置率 -5.1 个百分点 [...]' in Chinese)."""
    spec = outcome_label(outcome)
    s, f = spec.scale, f"+.{digits}f"
    title = spec.title if current() == "zh" else spec.title.lower()
    return f"{title} {difference * s:{f}} {unit_word(outcome)} [{low * s:{f}}, {high * s:{f}}]"
