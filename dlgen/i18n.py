"""The user's language: detect it, and pick a message in it."""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")


def detect_language(text: str) -> str:
    """'zh' when Chinese makes up a fair share of the text, else 'en'.

    Each CJK ideograph counts as one unit and each Latin word as one; the text is
    Chinese when at least a fifth of its units are ideographs, so "实现ViT用于
    ImageNet" and "ResNet-50 on CIFAR-10 数据集" are Chinese while an English
    request quoting one Chinese name is not.
    """
    ideographs = len(_CJK.findall(text))
    if ideographs == 0:
        return "en"
    words = len(_LATIN_WORD.findall(text))
    return "zh" if ideographs / (ideographs + words) >= 0.2 else "en"


def pick(language: str, en: str, zh: str) -> str:
    """The message in ``language``, English for anything but 'zh'."""
    return zh if language == "zh" else en
