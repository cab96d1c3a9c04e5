"""The wire format: readings and status documents (UTF-8 JSON).

A readings document is either the batch form::

    {"station": "KG-SR-01", "seq": 1042,
     "samples": [{"ts": "2026-11-22T21:05:00+07:00", "values": {"do": 4.2}, "status": {"do": 0}}]}

or the single-sample shorthand ``{"station": ..., "ts": ..., "values": {...}}``.
Decoding checks structure, types, parameter codes, finite values and device status codes;
whether the station is known and the time plausible is the ingester's business.

Any input either decodes or raises :class:`DecodeError`, cheaply and without recursion:
orjson reads at most 1024 levels of nesting and writes at most 254, a document with a key
twice in one object is refused rather than read as its last value, and text fields that
reach the database may not hold control characters (PostgreSQL text cannot hold NUL).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from enum import IntEnum, StrEnum
from typing import Any, Final

import orjson

from telemetry.catalogue import PARAMETERS
from telemetry.errors import DecodeError, RejectReason

_EPOCH_MIN: Final = 946_684_800.0  # 2000-01-01: older is a broken clock, not data
_EPOCH_MAX: Final = 4_102_444_800.0  # 2100-01-01


class DeviceStatus(IntEnum):
    """Per-value instrument state, as in Circular 10/2021/TT-BTNMT."""

    MEASURING = 0
    CALIBRATING = 1
    ERROR = 2


_STATUS_CODES: Final = frozenset(int(s) for s in DeviceStatus)
_CODES: Final = frozenset(PARAMETERS)

_MAX_DEPTH: Final = 254
"""Deepest nesting of arrays and objects accepted: what orjson serialises (no station needs 5)."""

# A JSON string, or an unterminated one running to the end; possessive, so linear on any input.
_STRING_TOKEN: Final = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\\?\Z)', re.DOTALL)
# The tokens of valid JSON that matter for finding a key twice in one object.
_STRUCTURE_TOKEN: Final = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"|[{}\[\]:]', re.DOTALL)
_NAN_OR_INFINITY: Final = re.compile(r"-?(?:NaN|Infinity)")
_NUMBER: Final = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
_SHOWN_CHARS: Final = 60


@dataclass(frozen=True, slots=True)
class Sample:
    """The values of one station at one sampling instant.

    Attributes:
        epoch: Sampling time in seconds since the Unix epoch (UTC).
        values: Value by parameter code.
        status: Device status by parameter code; absent codes are measuring.
    """

    epoch: float
    values: Mapping[str, float]
    status: Mapping[str, int] = field(default_factory=dict)

    @property
    def time(self) -> datetime:
        """The sampling time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.epoch, UTC)


@dataclass(frozen=True, slots=True)
class ReadingsDocument:
    """One readings message: a station and one or more samples."""

    station: str
    samples: tuple[Sample, ...]
    seq: int | None = None


class StationState(StrEnum):
    """Connection state a station announces on its retained status topic."""

    ONLINE = "online"
    OFFLINE = "offline"


_STATES: Final = frozenset(s.value for s in StationState)


@dataclass(frozen=True, slots=True)
class StatusDocument:
    """A station's retained status (also its MQTT will message)."""

    state: StationState
    epoch: float | None = None
    fw: str | None = None
    battery_v: float | None = None


def _fail(reason: RejectReason, detail: str) -> DecodeError:
    return DecodeError(reason, detail)


def _show(value: object) -> str:
    """A short repr of a value from a message, for details (which are stored and logged)."""
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else f"{text[: _SHOWN_CHARS - 3]}..."


def _text(raw: str, *, where: str) -> str:
    if _CONTROL.search(raw):
        raise _fail(RejectReason.CONTROL_CHARACTER, f"{where} contains a control character")
    return raw


def _load_json(payload: bytes) -> Any:
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise _not_json(payload, exc) from exc
    try:
        again = orjson.dumps(doc)
    except orjson.JSONEncodeError as exc:  # from what loads returned, only nesting can fail
        raise _fail(RejectReason.TOO_DEEP, f"nested deeper than {_MAX_DEPTH} levels") from exc
    # orjson keeps the last of duplicate keys. Written again, the document has one colon fewer
    # per key it dropped; colons inside strings are the same on both sides, unless the payload
    # escaped one as \u003a, which the exact (slower) search below handles.
    escaped_colon = b"\\u003a" in payload or b"\\u003A" in payload
    if escaped_colon or again.count(b":") != payload.count(b":"):
        key = _duplicate_key(payload.decode("utf-8"))
        if key is not None:
            detail = f"key {_show(key)} appears more than once in one object"
            raise _fail(RejectReason.DUPLICATE_KEY, detail)
    return doc


def _duplicate_key(text: str) -> str | None:
    """Return a key found twice in one object of valid JSON ``text`` (a loop, no recursion)."""
    open_keys: list[set[str]] = []  # per open object (or array, which gets no keys)
    last = ""
    for match in _STRUCTURE_TOKEN.finditer(text):
        token = match.group()
        if token in ("{", "["):
            open_keys.append(set())
        elif token in ("}", "]"):
            open_keys.pop()
        elif token == ":":  # ``last`` was a key
            key: str = orjson.loads(last)
            if key in open_keys[-1]:
                return key
            open_keys[-1].add(key)
        else:
            last = token
    return None


def _not_json(payload: bytes, exc: orjson.JSONDecodeError) -> DecodeError:
    """Say why orjson refused ``payload``, without a second (recursive) parser."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return _fail(RejectReason.NOT_UTF8, "payload is not valid UTF-8")
    pos = min(max(exc.pos, 0), len(text))  # orjson counts characters, not bytes
    outside_strings = _STRING_TOKEN.sub("", text[:pos])
    depth = sum(map(outside_strings.count, "[{")) - sum(map(outside_strings.count, "]}"))
    if depth > _MAX_DEPTH:
        return _fail(RejectReason.TOO_DEEP, f"nested deeper than {_MAX_DEPTH} levels")
    number = _NUMBER.match(text, pos)
    if (
        _NAN_OR_INFINITY.match(text, pos)
        or _NAN_OR_INFINITY.match(text, max(pos - 1, 0))  # orjson points after a minus sign
        or (number is not None and math.isinf(float(number.group())))
    ):
        detail = "a number is NaN, Infinity or too large for a float"
        return _fail(RejectReason.NON_FINITE_VALUE, detail)
    return _fail(RejectReason.NOT_JSON, f"payload is not JSON: {exc}")


def parse_timestamp(raw: object, *, where: str) -> float:
    """Return epoch seconds for an ISO 8601 string with offset or epoch seconds.

    Raises:
        DecodeError: The timestamp is missing its offset, malformed or implausible.
    """
    if isinstance(raw, str):
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError as exc:
            detail = f"{where}: {_show(raw)} is not ISO 8601"
            raise _fail(RejectReason.BAD_TIMESTAMP, detail) from exc
        if parsed.tzinfo is None:
            detail = f"{where}: {_show(raw)} has no UTC offset (e.g. +07:00)"
            raise _fail(RejectReason.BAD_TIMESTAMP, detail)
        epoch = parsed.timestamp()
    elif isinstance(raw, int | float) and not isinstance(raw, bool):
        epoch = float(raw)
    else:
        detail = f"{where}: expected ISO 8601 text or epoch seconds, got {type(raw).__name__}"
        raise _fail(RejectReason.BAD_TIMESTAMP, detail)
    if not _EPOCH_MIN <= epoch < _EPOCH_MAX:
        detail = f"{where}: {_show(raw)} is outside 2000-2099"
        raise _fail(RejectReason.BAD_TIMESTAMP, detail)
    return epoch


def _values(raw: object, *, where: str) -> dict[str, float]:
    if not isinstance(raw, dict):
        raise _fail(RejectReason.BAD_SCHEMA, f"{where}.values must be an object")
    if not raw:
        raise _fail(RejectReason.EMPTY_BATCH, f"{where}.values is empty")
    numbers = raw.values()
    if (
        raw.keys() <= _CODES
        and all(type(v) is float for v in numbers)
        and all(map(math.isfinite, numbers))
    ):
        return raw  # the usual case, checked without a Python loop per value
    values: dict[str, float] = {}
    for code, value in raw.items():
        if code not in PARAMETERS:
            detail = f"{where}.values: unknown parameter code {_show(code)}"
            raise _fail(RejectReason.UNKNOWN_PARAMETER, detail)
        if isinstance(value, bool) or not isinstance(value, int | float):
            detail = f"{where}.values.{code}: expected a number, got {type(value).__name__}"
            raise _fail(RejectReason.BAD_SCHEMA, detail)
        number = float(value)
        if not math.isfinite(number):
            raise _fail(RejectReason.NON_FINITE_VALUE, f"{where}.values.{code} is not finite")
        values[code] = number
    return values


def _status(raw: object, values: Mapping[str, float], *, where: str) -> dict[str, int]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _fail(RejectReason.BAD_SCHEMA, f"{where}.status must be an object")
    for code, state in raw.items():
        if code not in values:
            detail = f"{where}.status.{_show(code)}: no value for this parameter in the sample"
            raise _fail(RejectReason.BAD_STATUS, detail)
        # Exactly int: True is not a status, 1.0 is no smallint, and [1] is not even hashable.
        # (``code`` is a known parameter code here, safe to quote as it is.)
        if type(state) is not int or state not in _STATUS_CODES:
            detail = f"{where}.status.{code}: {_show(state)} is not 0, 1 or 2"
            raise _fail(RejectReason.BAD_STATUS, detail)
    return raw


def _sample(raw: object, *, where: str) -> Sample:
    if not isinstance(raw, dict):
        raise _fail(RejectReason.BAD_SCHEMA, f"{where} must be an object")
    if "ts" not in raw:
        raise _fail(RejectReason.BAD_SCHEMA, f"{where}.ts is missing")
    epoch = parse_timestamp(raw["ts"], where=f"{where}.ts")
    values = _values(raw.get("values"), where=where)
    return Sample(epoch, values, _status(raw.get("status"), values, where=where))


def decode_readings(payload: bytes) -> ReadingsDocument:
    """Decode a readings document (batch or single-sample form).

    Raises:
        DecodeError: With the reason and the offending field.
    """
    doc = _load_json(payload)
    if not isinstance(doc, dict):
        raise _fail(RejectReason.BAD_SCHEMA, "document must be a JSON object")
    station = doc.get("station")
    if not isinstance(station, str) or not station:
        raise _fail(RejectReason.BAD_SCHEMA, "station must be a non-empty string")
    _text(station, where="station")
    seq = doc.get("seq")
    if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int)):
        raise _fail(RejectReason.BAD_SCHEMA, "seq must be an integer")
    if "samples" in doc:
        raw_samples = doc["samples"]
        if not isinstance(raw_samples, list):
            raise _fail(RejectReason.BAD_SCHEMA, "samples must be an array")
        if not raw_samples:
            raise _fail(RejectReason.EMPTY_BATCH, "samples is empty")
        samples = tuple(_sample(s, where=f"samples[{i}]") for i, s in enumerate(raw_samples))
    else:
        samples = (_sample(doc, where="sample"),)
    return ReadingsDocument(station, samples, seq)


def _iso(epoch: float, tz: tzinfo) -> str:
    return datetime.fromtimestamp(epoch, tz).isoformat()


def encode_readings(doc: ReadingsDocument, *, tz: tzinfo = UTC) -> bytes:
    """Encode a readings document in the batch form, times in ``tz``."""
    samples = []
    for sample in doc.samples:
        item: dict[str, object] = {"ts": _iso(sample.epoch, tz), "values": dict(sample.values)}
        if sample.status:
            item["status"] = dict(sample.status)
        samples.append(item)
    body: dict[str, object] = {"station": doc.station}
    if doc.seq is not None:
        body["seq"] = doc.seq
    body["samples"] = samples
    return orjson.dumps(body)


def encode_status(status: StatusDocument, *, tz: tzinfo = UTC) -> bytes:
    """Encode a station status document."""
    body: dict[str, object] = {"state": status.state.value}
    if status.epoch is not None:
        body["ts"] = _iso(status.epoch, tz)
    if status.fw is not None:
        body["fw"] = status.fw
    if status.battery_v is not None:
        body["battery_v"] = status.battery_v
    return orjson.dumps(body)


def decode_status(payload: bytes) -> StatusDocument:
    """Decode a station status document.

    Raises:
        DecodeError: With the reason and the offending field.
    """
    doc = _load_json(payload)
    if not isinstance(doc, dict):
        raise _fail(RejectReason.BAD_SCHEMA, "status must be a JSON object")
    raw_state = doc.get("state")
    if not isinstance(raw_state, str) or raw_state not in _STATES:
        detail = f"state: {_show(raw_state)} is not 'online' or 'offline'"
        raise _fail(RejectReason.BAD_SCHEMA, detail)
    state = StationState(raw_state)
    epoch = parse_timestamp(doc["ts"], where="ts") if "ts" in doc else None
    fw = doc.get("fw")
    battery = doc.get("battery_v")
    if fw is not None and not isinstance(fw, str):
        raise _fail(RejectReason.BAD_SCHEMA, "fw must be a string")
    if fw is not None:
        _text(fw, where="fw")
    if battery is not None and (isinstance(battery, bool) or not isinstance(battery, int | float)):
        raise _fail(RejectReason.BAD_SCHEMA, "battery_v must be a number")
    return StatusDocument(state, epoch, fw, None if battery is None else float(battery))
