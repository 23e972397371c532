"""Text normalization shared by the request and the catalog aliases.

Full-width characters become half-width (NFKC), text is lowercased, Chinese
punctuation becomes ASCII and Chinese numerals become digits ("十二" -> "12",
"一百二十八" -> "128", "两" -> "2"), so every reader downstream sees one form.
"""

from __future__ import annotations

import re
import unicodedata

from dlgen.i18n import detect_language as detect_language  # re-exported

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
           "七": 7, "八": 8, "九": 9}  # fmt: skip
_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10_000}
_NUMERAL_RUN = re.compile(f"[{''.join(_DIGITS)}{''.join(_UNITS)}]+")
_PUNCTUATION = str.maketrans({"。": ". ", "、": ",", "“": '"', "”": '"', "‘": "'", "’": "'",
                              "《": " ", "》": " ", "【": "[", "】": "]", "～": "~"})  # fmt: skip
_SPACES = re.compile(r"\s+")


def chinese_numeral_value(numeral: str) -> int:
    """The integer a run of Chinese numeral characters spells.

    Handles units (十二 = 12, 二十四 = 24, 一百零八 = 108, 两千 = 2000, 三万 = 30000)
    and digit-by-digit spellings without units (二零二四 = 2024).

    Args:
        numeral: Characters from 零〇一二两三四五六七八九十百千万.

    Returns:
        The value.
    """
    if not any(char in _UNITS for char in numeral):
        return int("".join(str(_DIGITS[char]) for char in numeral))
    total, section, digit = 0, 0, 0
    for char in numeral:
        if char in _DIGITS:
            digit = _DIGITS[char]
            continue
        unit = _UNITS[char]
        if unit == 10_000:
            total += (section + digit) * unit
            section, digit = 0, 0
            continue
        section += (digit or 1) * unit
        digit = 0
    return total + section + digit


def _replace_numerals(text: str) -> str:
    return _NUMERAL_RUN.sub(lambda match: str(chinese_numeral_value(match.group())), text)


def normalize(text: str) -> str:
    """The canonical form every reader works on.

    Args:
        text: A request or an alias, in any mix of Chinese and English.

    Returns:
        NFKC-folded, lowercased text with ASCII punctuation, Arabic digits and
        single spaces.
    """
    folded = unicodedata.normalize("NFKC", text).translate(_PUNCTUATION).lower()
    return _SPACES.sub(" ", _replace_numerals(folded)).strip()


def is_cjk(char: str) -> bool:
    """Whether ``char`` is a CJK ideograph."""
    return bool(_CJK.match(char))
