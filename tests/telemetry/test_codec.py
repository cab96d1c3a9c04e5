"""The readings and status wire format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from telemetry import (
    DecodeError,
    ReadingsDocument,
    RejectReason,
    Sample,
    StationState,
    StatusDocument,
    decode_readings,
    decode_status,
    encode_readings,
    encode_status,
)

VN = timezone(timedelta(hours=7))
T0 = datetime(2026, 11, 22, 21, 5, tzinfo=VN).timestamp()  # 14:05 UTC


def test_batch_form_from_design_document() -> None:
    payload = (
        b'{"station": "KG-SR-01", "seq": 1042, "samples": [{"ts": "2026-11-22T21:05:00+07:00",'
        b' "values": {"do": 4.2, "temp": 29.8, "ph": 7.9, "sal": 14.1}, "status": {"do": 0}}]}'
    )
    doc = decode_readings(payload)
    assert doc.station == "KG-SR-01"
    assert doc.seq == 1042
    (sample,) = doc.samples
    assert sample.time == datetime(2026, 11, 22, 14, 5, tzinfo=UTC)
    assert sample.values == {"do": 4.2, "temp": 29.8, "ph": 7.9, "sal": 14.1}
    assert sample.status == {"do": 0}


def test_single_sample_shorthand_with_epoch_seconds() -> None:
    doc = decode_readings(b'{"station": "KG-CS-01", "ts": 1795000000, "values": {"ph": 8}}')
    assert doc.seq is None
    assert doc.samples == (Sample(1795000000.0, {"ph": 8.0}, {}),)


@pytest.mark.parametrize(
    ("ts", "expected_utc"),
    [
        ("2026-11-22T21:05:00+07:00", datetime(2026, 11, 22, 14, 5, tzinfo=UTC)),
        ("2026-11-22T14:05:00Z", datetime(2026, 11, 22, 14, 5, tzinfo=UTC)),
        ("2026-11-22T14:05:00.250+00:00", datetime(2026, 11, 22, 14, 5, 0, 250000, tzinfo=UTC)),
        (1795000000.5, datetime(2026, 11, 18, 11, 6, 40, 500000, tzinfo=UTC)),
    ],
)
def test_timestamp_forms(ts: object, expected_utc: datetime) -> None:
    payload = orjson.dumps({"station": "S1", "ts": ts, "values": {"do": 1}})
    assert decode_readings(payload).samples[0].time == expected_utc


def test_round_trip_keeps_times_values_and_status() -> None:
    doc = ReadingsDocument(
        "KG-SR-02",
        (Sample(T0, {"do": 3.25, "temp": 30.0}, {"do": 1}), Sample(T0 + 300, {"do": 3.0}, {})),
        seq=7,
    )
    encoded = encode_readings(doc, tz=VN)
    assert b'"ts":"2026-11-22T21:05:00+07:00"' in encoded
    assert decode_readings(encoded) == doc


@pytest.mark.parametrize(
    ("payload", "reason", "detail_part"),
    [
        (b"\xff\xfe", RejectReason.NOT_UTF8, "UTF-8"),
        (b"not json", RejectReason.NOT_JSON, "not JSON"),
        (b"[1, 2]", RejectReason.BAD_SCHEMA, "JSON object"),
        (b'{"ts": 1795000000, "values": {"do": 1}}', RejectReason.BAD_SCHEMA, "station"),
        (b'{"station": "S", "values": {"do": 1}}', RejectReason.BAD_SCHEMA, "sample.ts is missing"),
        (
            b'{"station": "S", "ts": 1795000000, "values": {"do": "4.2"}}',
            RejectReason.BAD_SCHEMA,
            "values.do: expected a number, got str",
        ),
        (
            b'{"station": "S", "ts": 1795000000, "values": {"do": true}}',
            RejectReason.BAD_SCHEMA,
            "got bool",
        ),
        (
            b'{"station": "S", "ts": 1795000000, "values": {"do": NaN}}',
            RejectReason.NON_FINITE_VALUE,
            "NaN",
        ),
        (
            b'{"station": "S", "ts": 1795000000, "values": {"do": Infinity}}',
            RejectReason.NON_FINITE_VALUE,
            "Infinity",
        ),
        (
            b'{"station": "S", "ts": 1795000000, "values": {"do": 1e999}}',
            RejectReason.NON_FINITE_VALUE,
            "too large",
        ),
        (
            b'{"station": "S", "ts": 1795000000, "values": {"oxygen": 4}}',
            RejectReason.UNKNOWN_PARAMETER,
            "unknown parameter code 'oxygen'",
        ),
        (
            b'{"station": "S", "ts": 1795000000, "values": {"do": 4}, "status": {"do": 3}}',
            RejectReason.BAD_STATUS,
            "status.do: 3 is not 0, 1 or 2",
        ),
        (
            b'{"station": "S", "ts": 1795000000, "values": {"do": 4}, "status": {"ph": 0}}',
            RejectReason.BAD_STATUS,
            "no value for this parameter",
        ),
        (
            b'{"station": "S", "ts": "2026-11-22T21:05:00", "values": {"do": 4}}',
            RejectReason.BAD_TIMESTAMP,
            "no UTC offset",
        ),
        (
            b'{"station": "S", "ts": "yesterday", "values": {"do": 4}}',
            RejectReason.BAD_TIMESTAMP,
            "not ISO 8601",
        ),
        (
            b'{"station": "S", "ts": 12, "values": {"do": 4}}',
            RejectReason.BAD_TIMESTAMP,
            "outside 2000-2099",
        ),
        (b'{"station": "S", "samples": []}', RejectReason.EMPTY_BATCH, "samples is empty"),
        (
            b'{"station": "S", "ts": 1795000000, "values": {}}',
            RejectReason.EMPTY_BATCH,
            "values is empty",
        ),
        (b'{"station": "S", "samples": {"ts": 1}}', RejectReason.BAD_SCHEMA, "samples must be"),
        (
            b'{"station": "S", "seq": "x", "ts": 1795000000, "values": {"do": 1}}',
            RejectReason.BAD_SCHEMA,
            "seq must be an integer",
        ),
        (
            b'{"station": "S", "samples": [{"ts": 1795000000, "values": {"do": 1}}, 5]}',
            RejectReason.BAD_SCHEMA,
            "samples[1] must be an object",
        ),
    ],
)
def test_bad_documents_name_their_reason(
    payload: bytes, reason: RejectReason, detail_part: str
) -> None:
    with pytest.raises(DecodeError) as caught:
        decode_readings(payload)
    assert caught.value.reason is reason
    assert detail_part in caught.value.detail


def test_status_round_trip() -> None:
    status = StatusDocument(StationState.OFFLINE, T0, "2.1.0", 12.4)
    assert decode_status(encode_status(status, tz=VN)) == status


@pytest.mark.parametrize(
    ("payload", "detail_part"),
    [
        (b'{"state": "sleeping"}', "not 'online' or 'offline'"),
        (b'{"state": "online", "battery_v": "12"}', "battery_v must be a number"),
        (b'{"state": "online", "fw": 2}', "fw must be a string"),
    ],
)
def test_bad_status_documents(payload: bytes, detail_part: str) -> None:
    with pytest.raises(DecodeError, match=detail_part):
        decode_status(payload)


def _nested(depth: int) -> bytes:
    """A readings document whose extra field nests arrays so the whole is ``depth`` deep."""
    inner = b"[" * (depth - 1) + b"]" * (depth - 1)
    return b'{"station": "S", "ts": 1795000000, "values": {"do": 1}, "extra": ' + inner + b"}"


# Inputs that once escaped the decoder as TypeError or RecursionError, were read ambiguously,
# or reached PostgreSQL text with a NUL: each is now a DecodeError with its reason.
@pytest.mark.parametrize(
    ("payload", "reason", "detail_part"),
    [
        # a status that is a list (was TypeError: unhashable type), a float, an object
        (
            b'{"station": "S", "ts": 1795000000, "values": {"do": 4}, "status": {"do": [1]}}',
            RejectReason.BAD_STATUS,
            "[1] is not 0, 1 or 2",
        ),
        (
            b'{"station": "S", "ts": 1795000000, "values": {"do": 4}, "status": {"do": 1.0}}',
            RejectReason.BAD_STATUS,
            "1.0 is not 0, 1 or 2",
        ),
        (
            b'{"station": "S", "ts": 1795000000, "values": {"do": 4}, "status": {"do": {}}}',
            RejectReason.BAD_STATUS,
            "{} is not 0, 1 or 2",
        ),
        # 60,000 nested brackets, 120 KB (was RecursionError in the stdlib fallback)
        (b"[" * 60_000 + b"]" * 60_000, RejectReason.TOO_DEEP, "deeper than 254"),
        (b"[" * 60_000, RejectReason.TOO_DEEP, "deeper than 254"),
        (b'{"a": "]]]", "b": ' + b"[" * 2000, RejectReason.TOO_DEEP, "deeper than 254"),
        (_nested(255), RejectReason.TOO_DEEP, "deeper than 254"),
        # a key twice in one object: which value did the station mean?
        (
            b'{"station": "S", "ts": 1795000000, "values": {"do": 4, "do": 5}}',
            RejectReason.DUPLICATE_KEY,
            "key 'do' appears more than once",
        ),
        (
            b'{"station": "S", "station": "S", "ts": 1795000000, "values": {"do": 4}}',
            RejectReason.DUPLICATE_KEY,
            "key 'station'",
        ),
        (
            b'{"station": "S", "ts": 1795000000, "values": {"do": 4},'
            b' "status": {"do": 0, "do": 2}}',
            RejectReason.DUPLICATE_KEY,
            "key 'do'",
        ),
        (
            b'{"station": "S", "samples": [{"ts": 1795000000, "values": {"do": 1}},'
            b' {"ts": 1795000300, "ts": 1795000600, "values": {"do": 1}}]}',
            RejectReason.DUPLICATE_KEY,
            "key 'ts'",
        ),
        (
            b'{"station": "S", "ts": 1795000000, "values": {"do": 4}, "x": [{"k": 1, "k": 1}]}',
            RejectReason.DUPLICATE_KEY,
            "key 'k'",
        ),
        (
            b'{"station": "S", "ts": 1795000000, "values": {"do": 4},'
            b' "x": {"a:": 1, "a\\u003a": 2}}',
            RejectReason.DUPLICATE_KEY,
            "key 'a:'",
        ),
        # control characters in a text field that is stored (PostgreSQL text cannot hold NUL)
        (
            b'{"station": "S\\u0000", "ts": 1795000000, "values": {"do": 4}}',
            RejectReason.CONTROL_CHARACTER,
            "station contains a control character",
        ),
        # what orjson refuses and the stdlib fallback used to call non-finite
        (
            b'{"station": "S", "ts": 1795000000, "values": {"do": -Infinity}}',
            RejectReason.NON_FINITE_VALUE,
            "Infinity",
        ),
        (
            b'{"station": "S", "ts": 1795000000, "values": {"do": -1e999}}',
            RejectReason.NON_FINITE_VALUE,
            "too large",
        ),
        (
            b'{"station": "S\\ud800", "ts": 1795000000, "values": {"do": 4}}',
            RejectReason.NOT_JSON,
            "surrogate",
        ),
        (
            b'\xef\xbb\xbf{"station": "S", "ts": 1795000000, "values": {"do": 4}}',
            RejectReason.NOT_JSON,
            "not JSON",
        ),
        (b'"' + b'\\"x' * 50_000, RejectReason.NOT_JSON, "not JSON"),
    ],
)
def test_poison_documents_are_decode_errors(
    payload: bytes, reason: RejectReason, detail_part: str
) -> None:
    with pytest.raises(DecodeError) as caught:
        decode_readings(payload)
    assert caught.value.reason is reason
    assert detail_part in caught.value.detail


def test_nesting_up_to_the_limit_and_escaped_colons_are_accepted() -> None:
    assert decode_readings(_nested(254)).samples[0].values == {"do": 1.0}
    payload = b'{"station": "S", "ts": 1795000000, "values": {"do": 4}, "x": {"a\\u003a": "b:"}}'
    assert decode_readings(payload).station == "S"


@pytest.mark.parametrize(
    ("payload", "reason", "detail_part"),
    [
        (b"[" * 60_000 + b"]" * 60_000, RejectReason.TOO_DEEP, "deeper than 254"),
        (b'{"state": "online", "state": "offline"}', RejectReason.DUPLICATE_KEY, "'state'"),
        (b'{"state": ["online"]}', RejectReason.BAD_SCHEMA, "['online'] is not 'online'"),
        (b'{"state": "online", "fw": "1.2\\u0000"}', RejectReason.CONTROL_CHARACTER, "fw"),
        (b'{"state": "online", "fw": "\\u001b[31m"}', RejectReason.CONTROL_CHARACTER, "fw"),
        (
            b'{"state": "online", "ts": "' + b"9" * 500 + b'"}',
            RejectReason.BAD_TIMESTAMP,
            "999... is not ISO 8601",
        ),
    ],
)
def test_poison_status_documents_are_decode_errors(
    payload: bytes, reason: RejectReason, detail_part: str
) -> None:
    with pytest.raises(DecodeError) as caught:
        decode_status(payload)
    assert caught.value.reason is reason
    assert detail_part in caught.value.detail
    assert len(caught.value.detail) < 200  # details quote message values only briefly
