"""SMS text: GSM-7 without diacritics, UCS-2 with them, and how many segments each takes.

Basic phones show GSM-7 reliably, and a GSM-7 segment holds 160 characters against 70 for
UCS-2, so messages go without diacritics unless a subscriber asks for them. Vietnamese loses
its tone marks and ``đ`` becomes ``d``; symbols outside the GSM alphabet get ASCII stand-ins
(``°C`` → ``C``, ``‰`` → ``ppt``, ``µ`` → ``u``).
"""

from __future__ import annotations

import math
import unicodedata
from enum import IntEnum
from typing import Final

__all__ = ["Coding", "fits", "segments", "to_gsm7"]

# GSM 03.38 default alphabet (one septet each) and its extension table (two septets each).
_GSM_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED: Final = frozenset("^{}\\[~]|€\f")
# Typographic dashes, quotes and signs are written as escapes so that they stay visible.
_STAND_INS: Final = {
    "đ": "d",
    "Đ": "D",
    "°": "",
    "‰": "ppt",
    "µ": "u",
    "³": "3",
    "²": "2",
    "\u2013": "-",
    "\u2014": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2026": "...",
    "≥": ">=",
    "≤": "<=",
    "\u00d7": "x",
}

SEGMENT: Final = {0: (160, 153), 2: (70, 67)}
"""Characters (septets or UTF-16 units) in one segment, and per segment of a long message."""


class Coding(IntEnum):
    """Kannel's ``coding`` values."""

    GSM7 = 0
    UCS2 = 2


def to_gsm7(text: str) -> str:
    """Return ``text`` in the GSM-7 alphabet: without diacritics, symbols spelt in ASCII."""
    out = []
    for char in text:
        if char in _STAND_INS:
            out.append(_STAND_INS[char])
            continue
        if char.isascii():
            out.append(char if char in _GSM_BASIC or char in _GSM_EXTENDED else "?")
            continue
        # Vietnamese letters lose every mark, even where GSM-7 has the accented letter (à, é).
        base = "".join(
            c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c)
        )
        if base.isascii() and base:
            out.append(base)
        else:
            out.append(char if char in _GSM_BASIC or char in _GSM_EXTENDED else "?")
    return "".join(out)


def _units(text: str, coding: Coding) -> int:
    if coding is Coding.GSM7:
        return sum(2 if c in _GSM_EXTENDED else 1 for c in text)
    return len(text.encode("utf-16-be")) // 2


def segments(text: str, coding: Coding) -> int:
    """Return how many SMS segments ``text`` takes in ``coding``."""
    units = _units(text, coding)
    single, multi = SEGMENT[coding]
    return 1 if units <= single else math.ceil(units / multi)


def fits(text: str, coding: Coding, *, max_segments: int) -> bool:
    """Whether ``text`` takes at most ``max_segments`` segments."""
    return segments(text, coding) <= max_segments
