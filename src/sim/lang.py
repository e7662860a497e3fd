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
    """The text in the report language."""
    return zh if current() == "zh" else en


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
