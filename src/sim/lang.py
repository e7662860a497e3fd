"""The report language: English ('en', the default) or Simplified Chinese ('zh').

Reports, tables and figures read the language set here (`set_language`, done by a notebook's
`lang` parameter, i.e. `sim report NAME --lang zh`); labels come from the one bilingual
source: outputs in data/outputs.yaml (`label`/`label_zh`, `unit`/`unit_zh`, display units),
programs in data/programs.yaml (`name`/`name_zh`), outcome families in
`sim.columns.FAMILY_LABELS`, persistence regimes in data/parameters.yaml (`choices_zh`).
Sentences and headings written in code give both languages at the place they are written:
`t("Overall score", "总体得分")`.

Chinese figures need a CJK font: `sim.fonts.use_language(lang)` (called by
`sim.figures.use_style()`) sets the one the project installs.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

LANGUAGES = ("en", "zh")
_current = ["en"]


def check(lang: str, where: str = "lang") -> str:
    """'en' or 'zh', else a one-line InputError."""
    from sim.errors import InputError

    if lang not in LANGUAGES:
        raise InputError(f"{where} = {lang!r} must be one of: {', '.join(LANGUAGES)}")
    return lang


def set_language(lang: str) -> None:
    """Set the report language for the labels, tables and sentences made from now on."""
    _current[0] = check(lang)


def current() -> str:
    return _current[0]


@contextlib.contextmanager
def language(lang: str) -> Iterator[None]:
    """The report language inside a `with` block."""
    before = current()
    set_language(lang)
    try:
        yield
    finally:
        set_language(before)


def t(en: str, zh: str) -> str:
    """The text in the report language (Chinese typeset with full-width punctuation, `typeset_zh`)."""
    return typeset_zh(zh) if current() == "zh" else en


FULL_WIDTH = {",": "，", ":": "：", ";": "；", "?": "？", "!": "！", "(": "（", ")": "）"}


def _is_cjk(char: str) -> bool:
    """A Chinese character, or Chinese punctuation and full-width forms."""
    return bool(char) and ("\u4e00" <= char <= "\u9fff" or "\u3000" <= char <= "\u303f" or "\uff00" <= char <= "\uffef"
                           or char in "“”‘’—…")  # fmt: skip


def typeset_zh(text: str) -> str:
    """Chinese prose with full-width punctuation: （） around any parenthesis that holds or touches Chinese, then
    ，：；？！ where a half-width mark touches a Chinese character or full-width mark. Code in backticks, markdown
    link targets (`](...)`), numbers such as 1,234 and URLs stay as they are.
    """
    chars = list(text)
    code = _in_code(chars)
    stack: list[int] = []
    for i, ch in enumerate(chars):
        if code[i]:
            continue
        if ch == "(":
            stack.append(-1 if i and chars[i - 1] == "]" else i)  # a link target: never converted
        elif ch == ")" and stack:
            start = stack.pop()
            around = (_beside(chars, start, -1) if start >= 0 else "") + _beside(chars, i, +1)
            if start >= 0 and any(_is_cjk(c) for c in chars[start + 1 : i] + list(around)):
                chars[start], chars[i] = "（", "）"
    for i, ch in enumerate(chars):
        if ch in ",:;?!" and not code[i]:
            before, after = _beside(chars, i, -1), _beside(chars, i, +1)
            if _is_cjk(before) or _is_cjk(after):
                chars[i] = FULL_WIDTH[ch]
    return "".join(chars)


def _beside(chars: list[str], i: int, step: int) -> str:
    """The character next to position i in direction `step`, looking through markdown emphasis (`**中文**:`)."""
    j = i + step
    while 0 <= j < len(chars) and chars[j] == "*":
        j += step
    return chars[j] if 0 <= j < len(chars) else ""


def _in_code(chars: list[str]) -> list[bool]:
    """Which characters sit inside backticks (inline code)."""
    out, inside = [], False
    for ch in chars:
        if ch == "`":
            inside = not inside
            out.append(True)
        else:
            out.append(inside)
    return out


def regime_with_default(name: str) -> str:
    """A regime's name, marked when it is the catalogue's default ('sustain (default)' / '持续(默认)')."""
    from sim.parameters import catalogue

    return regime(name) + (t(" (default)", "(默认)") if name == catalogue()["persistence"].default else "")


def regime(name: str) -> str:
    """A persistence regime's name in the report language ('sustain' / '持续')."""
    if current() != "zh":
        return name
    from sim.parameters import catalogue

    spec = catalogue()["persistence"]
    return dict(zip(spec.choices, spec.choices_zh, strict=True)).get(name, name)


def program_short(program_id: str) -> str:
    """'P1 Talent Foundation' / 'P1 强基工程': a program by its ID, from data/programs.yaml."""
    from sim.programs import standard_programs

    for prog in standard_programs().values():
        if prog.id == program_id:
            if current() == "zh":
                quoted = re.search(r"[\"“](.+?)[\"”]", prog.name_zh)
                return f"{prog.id} {quoted.group(1) if quoted else prog.name_zh}"
            return f"{prog.id} {prog.name.removesuffix(' program')}"
    return program_id


def condition(code: str) -> str:
    """A condition code ('baseline', 'P1', 'P1+P3', 'P1+P2+P3') in words, in the report language."""
    if code == "baseline":
        return t("Baseline (status quo)", "基线(现状)")
    ids = code.split("+")
    if len(ids) == 1:
        return program_short(code)
    if len(ids) == 3:
        return t(f"All three ({' + '.join(ids)})", f"三项全部({' + '.join(ids)})")
    return " + ".join(ids)


def status_quo() -> str:
    return t("status quo", "现状")


# The deciding choices a report names (the robustness analysis's factors and the evaluation mode), in words.
CHOICE_LABELS = {
    "capacity_structure": ("the capacity structure", "治理能力结构"),
    "training_evidence": ("the reading of F01/F02", "对F01/F02的解读"),
    "mode": ("the evaluation window", "评估期的设定"),
}
MODE_NAMES = {
    "equal_exposure": ("equal exposure, 7 years from each start", "等长评估，各自开始后7年"),
    "calendar": ("calendar 2024–2030", "统一日历期2024–2030"),
    "horizon": ("long horizon 2024–2040", "长期2024–2040"),
}


def choice_label(choice: str) -> str:
    """'the capacity structure' / '治理能力结构': a deciding choice, in the report language."""
    en, zh = CHOICE_LABELS.get(choice, (choice, choice))
    return t(en, zh)


def choice_name(choice: str, level: str) -> str:
    """One level of a deciding choice in words: an evaluation mode, or a parameter's choice (Chinese from the catalogue)."""
    if choice == "mode":
        en, zh = MODE_NAMES.get(level, (level, level))
        return t(en, zh)
    if current() != "zh":
        return level
    from sim.parameters import catalogue

    spec = catalogue().get(choice)
    if spec is None or not spec.choices_zh:
        return level
    return dict(zip(spec.choices, spec.choices_zh, strict=True)).get(level, level)
