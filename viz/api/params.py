"""Input types shared by the routes: instants with an offset, codes, opaque cursors."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated, Final

import orjson
from pydantic import AfterValidator, AwareDatetime, StringConstraints

from telemetry import PARAMETERS
from viz.api.problems import InvalidInputError

_EARLIEST: Final = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST: Final = datetime(2100, 1, 1, tzinfo=UTC)


def _plausible(value: datetime) -> datetime:
    if not _EARLIEST <= value < _LATEST:
        msg = "must be between 2000 and 2099"
        raise ValueError(msg)
    return value.astimezone(UTC)


def _known_parameter(code: str) -> str:
    if code not in PARAMETERS:
        msg = f"unknown parameter code; known: {', '.join(sorted(PARAMETERS))}"
        raise ValueError(msg)
    return code


Instant = Annotated[AwareDatetime, AfterValidator(_plausible)]
"""ISO 8601 with a UTC offset (naive times are refused), within 2000-2099."""

StationId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
ParameterCode = Annotated[str, AfterValidator(_known_parameter)]


def encode_cursor(time: datetime, parameter_id: int) -> str:
    """An opaque cursor for keyset pagination on (time, parameter)."""
    raw = orjson.dumps({"t": time.isoformat(), "p": parameter_id})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The (time, parameter id) a cursor stands for.

    Raises:
        InvalidInputError: The cursor was not made by :func:`encode_cursor`.
    """
    try:
        data = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        time = _plausible(datetime.fromisoformat(data["t"]))
        parameter_id = int(data["p"])
    except (binascii.Error, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        msg = "cursor is not one this API issued"
        raise InvalidInputError(msg) from exc
    if not 0 < parameter_id < 32768:  # (a naive time already failed in _plausible)
        msg = "cursor is not one this API issued"
        raise InvalidInputError(msg)
    return time, parameter_id
