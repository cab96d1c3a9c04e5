"""The data files of Vietnam's automated monitoring stations (Circular 10/2021/TT-BTNMT).

A station's logger writes one text file per sampling instant, named
``<STATION>_<YYYYMMDDhhmmss>.txt``, with one TAB-separated line per parameter::

    Symbol<TAB>Value<TAB>Unit<TAB>YYYYMMDDhhmmss<TAB>Status

Status is ``00`` measuring, ``01`` calibrating, ``02`` device error (our ``device_status``).
Times are the station's local time (Vietnamese loggers keep Asia/Ho_Chi_Minh, UTC+7) to the
second. Values are written as the shortest text that reads back to the same float, so a file
written here parses back to exactly the readings it was written from. The API exports these
files, ``aquawatch forward`` sends them upstream, and the FTP inbox reads them with
:func:`decode_file`, which accepts CRLF or LF line ends and a UTF-8 byte-order mark, and says
which reject reason each fault gets (the same as for an MQTT message).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from math import isfinite
from types import MappingProxyType
from typing import Final
from zoneinfo import ZoneInfo

from telemetry.catalogue import PARAMETERS
from telemetry.errors import Circular10Error, RejectReason

LOCAL: Final = ZoneInfo("Asia/Ho_Chi_Minh")

# The circular names Flow, Temp, Color, pH, TSS, COD, NH4, TP, TN, TOC, Cl; the rest follow
# the same style.
SYMBOLS: Final = MappingProxyType(
    {
        "temp": "Temp",
        "ph": "pH",
        "do": "DO",
        "sal": "Sal",
        "cond": "EC",
        "turb": "Turb",
        "tss": "TSS",
        "cod": "COD",
        "bod5": "BOD5",
        "toc": "TOC",
        "nh4": "NH4",
        "tan": "TAN",
        "no2": "NO2",
        "no3": "NO3",
        "po4": "PO4",
        "tn": "TN",
        "tp": "TP",
        "h2s": "H2S",
        "alk": "Alk",
        "chla": "Chla",
        "flow": "Flow",
        "level": "Level",
        "color": "Color",
        "cl2": "Cl",
    }
)
"""Circular 10 symbol of each parameter code."""

CODES: Final = MappingProxyType({symbol: code for code, symbol in SYMBOLS.items()})
"""Parameter code of each Circular 10 symbol."""

_STAMP: Final = "%Y%m%d%H%M%S"
_NAME_RE: Final = re.compile(r"(?P<station>[A-Za-z0-9._-]{1,64})_(?P<stamp>\d{14})\.txt")
_STATUS: Final = {"00": 0, "01": 1, "02": 2}


@dataclass(frozen=True, slots=True)
class Circular10Line:
    """One parameter's value at the file's sampling instant."""

    code: str
    value: float
    status: int = 0


@dataclass(frozen=True, slots=True)
class Circular10File:
    """One station's values at one sampling instant (aware ``time``, whole seconds)."""

    station_id: str
    time: datetime
    lines: tuple[Circular10Line, ...]


def file_name(station_id: str, time: datetime) -> str:
    """Return ``<STATION>_<YYYYMMDDhhmmss>.txt`` with the local time of ``time``."""
    return f"{station_id}_{time.astimezone(LOCAL).strftime(_STAMP)}.txt"


def encode_file(data: Circular10File) -> tuple[str, bytes]:
    """Return the file's name and its UTF-8 content.

    Raises:
        Circular10Error: A code has no symbol, a value is not finite or a status is unknown.
    """
    stamp = data.time.astimezone(LOCAL).strftime(_STAMP)
    out: list[str] = []
    for line in data.lines:
        if line.code not in SYMBOLS:
            msg = f"parameter {line.code!r} has no Circular 10 symbol"
            raise Circular10Error(msg)
        if not isfinite(line.value) or line.status not in (0, 1, 2):
            msg = f"{line.code}: cannot write value {line.value!r} with status {line.status!r}"
            raise Circular10Error(msg)
        unit = PARAMETERS[line.code].unit
        out.append(f"{SYMBOLS[line.code]}\t{line.value!r}\t{unit}\t{stamp}\t{line.status:02d}\r\n")
    return file_name(data.station_id, data.time), "".join(out).encode("utf-8")


def encode_files(
    station_id: str, rows: Sequence[tuple[datetime, str, float, int]]
) -> list[tuple[str, bytes]]:
    """Group ``(time, code, value, status)`` rows, ordered by time, into one file per instant."""
    files: list[tuple[str, bytes]] = []
    current: list[Circular10Line] = []
    at: datetime | None = None
    for time, code, value, status in rows:
        if at is not None and time != at:
            files.append(encode_file(Circular10File(station_id, at, tuple(current))))
            current = []
        at = time
        current.append(Circular10Line(code, value, status))
    if at is not None:
        files.append(encode_file(Circular10File(station_id, at, tuple(current))))
    return files


def _parse_stamp(stamp: str, *, where: str) -> datetime:
    """``YYYYMMDDhhmmss`` in local time (by slicing: strptime costs 20 times more per line)."""
    try:
        if len(stamp) != 14 or not (stamp.isascii() and stamp.isdigit()):
            raise ValueError(stamp)
        return datetime(
            int(stamp[0:4]),
            int(stamp[4:6]),
            int(stamp[6:8]),
            int(stamp[8:10]),
            int(stamp[10:12]),
            int(stamp[12:14]),
            tzinfo=LOCAL,
        )
    except ValueError as exc:
        msg = f"{where}: {stamp!r} is not a YYYYMMDDhhmmss time"
        raise Circular10Error(msg, RejectReason.BAD_TIMESTAMP) from exc


def decode_file(name: str, content: bytes) -> Circular10File:
    """Parse one file; its name gives the station and the sampling instant.

    Raises:
        Circular10Error: The name, the encoding or a line is malformed; the message names
            the file and the line.
    """
    match = _NAME_RE.fullmatch(name.rsplit("/", 1)[-1])
    if match is None:
        msg = f"{name}: expected <STATION>_<YYYYMMDDhhmmss>.txt"
        raise Circular10Error(msg, RejectReason.BAD_FILE_NAME)
    time = _parse_stamp(match["stamp"], where=name)
    try:
        text = content.decode("utf-8-sig")  # a byte-order mark some loggers write is dropped
    except UnicodeDecodeError as exc:
        msg = f"{name}: not UTF-8"
        raise Circular10Error(msg, RejectReason.NOT_UTF8) from exc
    lines: list[Circular10Line] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"{name} line {number}"
        fields = raw.split("\t")
        if len(fields) != 5:
            msg = f"{where}: expected 5 TAB-separated fields, got {len(fields)}"
            raise Circular10Error(msg)
        symbol, value_text, _unit, stamp, status = (f.strip() for f in fields)
        if symbol not in CODES:
            msg = f"{where}: unknown symbol {symbol!r}"
            raise Circular10Error(msg, RejectReason.UNKNOWN_PARAMETER)
        try:
            value = float(value_text)
        except ValueError as exc:
            msg = f"{where}: {value_text!r} is not a number"
            raise Circular10Error(msg) from exc
        if not isfinite(value):
            msg = f"{where}: {value_text!r} is not finite"
            raise Circular10Error(msg, RejectReason.NON_FINITE_VALUE)
        if stamp != match["stamp"] and _parse_stamp(stamp, where=where) != time:
            msg = f"{where}: time {stamp} differs from the file name's"
            raise Circular10Error(msg, RejectReason.BAD_TIMESTAMP)
        if status not in _STATUS:
            msg = f"{where}: status {status!r} is not 00, 01 or 02"
            raise Circular10Error(msg, RejectReason.BAD_STATUS)
        lines.append(Circular10Line(CODES[symbol], value, _STATUS[status]))
    return Circular10File(match["station"], time, tuple(lines))
