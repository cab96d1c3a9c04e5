"""Vietnamese mobile numbers, normalised to E.164 (``09x…`` → ``+849x…``).

Since the 2018 renumbering, Vietnamese mobile numbers are ten digits starting with 03, 05,
07, 08 or 09 (nine digits after the country code 84). Spaces, dots, dashes and brackets
people type are ignored; anything else is refused with the reason.
"""

from __future__ import annotations

import re
from typing import Final

from alerts.notify.errors import PhoneError

__all__ = ["mask_phone", "normalise_phone"]

_SEPARATORS: Final = re.compile(r"[\s.\-()]")
_MOBILE_PREFIXES: Final = ("3", "5", "7", "8", "9")


def normalise_phone(number: str) -> str:
    """Return ``number`` as E.164 (``+84`` and nine digits).

    Raises:
        PhoneError: Not a Vietnamese mobile number; the message says why.
    """
    digits = _SEPARATORS.sub("", number)
    if digits.startswith("+84"):
        national = digits[3:]
    elif digits.startswith("0084"):
        national = digits[4:]
    elif digits.startswith("84") and len(digits) == 11:
        national = digits[2:]
    elif digits.startswith("0"):
        national = digits[1:]
    elif digits.startswith("+"):
        raise PhoneError(number, "only Vietnamese numbers (+84) are supported")
    else:
        raise PhoneError(number, "start it with 0 (0912 345 678) or +84")
    if not (national.isascii() and national.isdigit()):
        raise PhoneError(number, "it may hold only digits, spaces, dots and dashes")
    if len(national) != 9:
        raise PhoneError(number, f"expected 10 digits starting with 0, got {len(national) + 1}")
    if not national.startswith(_MOBILE_PREFIXES):
        raise PhoneError(number, "mobile numbers start with 03, 05, 07, 08 or 09")
    return f"+84{national}"


def mask_phone(phone: str) -> str:
    """``phone`` as logs may show it: the country code and the last two digits only."""
    visible = 3 if phone.startswith("+") else 0
    hidden = max(len(phone) - visible - 2, 0)
    return phone[:visible] + "*" * hidden + phone[visible + hidden :]
