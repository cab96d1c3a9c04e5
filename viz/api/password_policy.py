"""Which passwords are refused: short, trivial, the user's own name, or common.

A password needs at least 10 characters, five of them different. It may not be a run such as
``abcdefghij`` or ``9876543210`` or a row of keys (digits or symbols around it or not), nor a
short pattern repeated; it may not contain the user name, nor be one of the 10,000 most
common passwords (``common_passwords.txt``, from zxcvbn), also not once the digits and
symbols around it are taken off or ``@``, ``$`` and ``0`` are read as letters
(``P@ssw0rd2024!``).
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from itertools import pairwise
from typing import Final

__all__ = ["MIN_LENGTH", "weakness"]

MIN_LENGTH: Final = 10
MIN_DISTINCT: Final = 5
# Keyboard rows (and the number row), walked either way.
_ROWS: Final = ("1234567890", "qwertyuiopasdfghjklzxcvbnm", "qwertyuiop", "asdfghjkl", "zxcvbnm")
_EDGES: Final = re.compile(r"^[\d\W_]+|[\d\W_]+$")
_LEET: Final = str.maketrans({"@": "a", "4": "a", "$": "s", "5": "s", "0": "o", "3": "e", "1": "i"})
# A common word with digits or symbols around it counts once the word is this long; a run or
# a row of keys, once it is this long.
_MIN_BASE: Final = 4
_MIN_RUN: Final = 6


@cache
def _common() -> frozenset[str]:
    text = resources.files("viz.api").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def _is_run(text: str) -> bool:
    steps = {ord(b) - ord(a) for a, b in pairwise(text)}
    return steps in ({1}, {-1})


def _is_key_row(text: str) -> bool:
    return any(text in row or text in row[::-1] for row in _ROWS)


def _repeats(text: str) -> bool:
    return any(text == (text[:n] * len(text))[: len(text)] for n in range(1, len(text) // 2 + 1))


def _is_common(lowered: str) -> bool:
    common = _common()
    if lowered in common or lowered.translate(_LEET) in common:
        return True
    base = _EDGES.sub("", lowered)
    return len(base) >= _MIN_BASE and (base in common or base.translate(_LEET) in common)


def weakness(password: str, *, username: str | None = None) -> str | None:
    """Why ``password`` is refused, as the end of a sentence starting "the password", or None.

    Args:
        password: The candidate.
        username: The account's name, which the password may not contain.
    """
    lowered = password.lower()
    if len(password) < MIN_LENGTH:
        return f"needs at least {MIN_LENGTH} characters"
    if len(set(lowered)) < MIN_DISTINCT:
        return f"needs at least {MIN_DISTINCT} different characters"
    base = _EDGES.sub("", lowered)
    if any(_is_run(t) or _is_key_row(t) for t in (lowered, base) if len(t) >= _MIN_RUN):
        return "is a simple sequence of letters, digits or keys"
    if _repeats(lowered):
        return "repeats a short pattern"
    if username and username.lower() in lowered:
        return "contains the user name"
    if _is_common(lowered):
        return "is one of the most common passwords (or one with digits or symbols added)"
    return None
