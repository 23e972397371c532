"""The user's language: detect it, and pick a message in it."""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def detect_language(text: str) -> str:
    """'zh' when the text contains Chinese characters, else 'en'.

    A single Chinese word in an English request already signals a Chinese
    speaker (e.g. "ViT用于ImageNet"), so any CJK ideograph counts.
    """
    return "zh" if _CJK.search(text) else "en"


def pick(language: str, en: str, zh: str) -> str:
    """The message in ``language``, English for anything but 'zh'."""
    return zh if language == "zh" else en
