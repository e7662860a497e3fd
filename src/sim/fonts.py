"""Chinese text in matplotlib figures, with a font the project installs itself.

Without a CJK font matplotlib draws Chinese as empty boxes (with a "Glyph ... missing from
font(s)" warning), and a fresh Debian, CI and many Windows or macOS set-ups of matplotlib
find none. The `report` extra installs `noto-cjk-sans-otc` (Noto Sans CJK, SIL Open Font
Licence 1.1, a 19 MB collection); `use_chinese()` registers its Simplified Chinese face,
*Noto Sans CJK SC*, and puts it first, so figures with Chinese labels render the same on any
machine, whatever fonts it has. Latin text and the minus sign (U+2212) come from the same
font, with DejaVu Sans (bundled with matplotlib) as the fallback for any other glyph.
"""

from __future__ import annotations

import functools
from pathlib import Path

from sim.errors import InputError

FAMILY = "Noto Sans CJK SC"  # the Simplified Chinese face of the collection
LATIN_FALLBACK = "DejaVu Sans"
LANGUAGES = ("en", "zh")


def check_lang(lang: str, where: str = "lang") -> str:
    """'en' or 'zh', else a one-line InputError."""
    if lang not in LANGUAGES:
        raise InputError(f"{where} = {lang!r} must be one of: {', '.join(LANGUAGES)}")
    return lang


@functools.cache
def font_path() -> Path:
    """The Noto Sans CJK collection shipped by the `noto-cjk-sans-otc` package."""
    try:
        import noto_cjk_sans_otc
    except ImportError as error:
        raise InputError(
            "Chinese figures need the font package noto-cjk-sans-otc (in cadre-sim[report]): pip install 'cadre-sim[report]'"
        ) from error
    return Path(str(noto_cjk_sans_otc.FONT_PATH))


@functools.cache
def register() -> str:
    """Make matplotlib know the package's font (every face of the collection); the family name to use."""
    from matplotlib import font_manager

    path = str(font_path())
    if not any(f.fname == path for f in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(path)
    return FAMILY


def use_chinese() -> None:
    """Figures from now on set Chinese (and Latin) text in Noto Sans CJK SC."""
    import matplotlib as mpl

    family = register()
    mpl.rcParams["font.family"] = "sans-serif"
    mpl.rcParams["font.sans-serif"] = [family, LATIN_FALLBACK]
    mpl.rcParams["axes.unicode_minus"] = True  # U+2212: the font has it


def use_language(lang: str) -> None:
    """Chinese font settings for 'zh'; matplotlib's defaults (DejaVu Sans) for 'en'."""
    import matplotlib as mpl

    if check_lang(lang) == "zh":
        use_chinese()
    else:
        mpl.rcParams["font.family"] = "sans-serif"
        mpl.rcParams["font.sans-serif"] = mpl.rcParamsDefault["font.sans-serif"]
