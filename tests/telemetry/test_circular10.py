"""Circular 10/2021 station data files: names, lines, statuses, exact round-trips."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from telemetry import (
    Circular10Error,
    Circular10File,
    Circular10Line,
    decode_file,
    encode_file,
    encode_files,
)
from telemetry import (
    RejectReason as R,
)

AT = datetime(2026, 11, 22, 14, 5, tzinfo=UTC)  # 21:05 in Kiên Giang


def test_file_as_the_circular_describes_it() -> None:
    data = Circular10File(
        "KG-EF-01",
        AT,
        (
            Circular10Line("cod", 42.5),
            Circular10Line("ph", 7.9, 1),
            Circular10Line("flow", 80.0, 2),
        ),
    )
    name, content = encode_file(data)
    assert name == "KG-EF-01_20261122210500.txt"
    assert content.decode() == (
        "COD\t42.5\tmg/L\t20261122210500\t00\r\n"
        "pH\t7.9\t\t20261122210500\t01\r\n"
        "Flow\t80.0\tm³/h\t20261122210500\t02\r\n"
    )
    assert decode_file(name, content) == data


@pytest.mark.parametrize("value", [0.1 + 0.2, 1e-9, 28_000.000000001, -3.25])
def test_values_read_back_exactly(value: float) -> None:
    data = Circular10File("KG-SR-01", AT, (Circular10Line("do", value),))
    assert decode_file(*encode_file(data)).lines[0].value == value


def test_rows_are_grouped_into_one_file_per_instant() -> None:
    later = AT.replace(minute=10)
    files = encode_files(
        "KG-SR-01", [(AT, "do", 4.2, 0), (AT, "temp", 29.8, 0), (later, "do", 4.0, 0)]
    )
    assert [name for name, _ in files] == [
        "KG-SR-01_20261122210500.txt",
        "KG-SR-01_20261122211000.txt",
    ]
    assert [len(decode_file(*f).lines) for f in files] == [2, 1]


@pytest.mark.parametrize(
    ("name", "content", "message", "reason"),
    [
        ("KG-SR-01.txt", b"", "expected <STATION>_<YYYYMMDDhhmmss>.txt", R.BAD_FILE_NAME),
        ("KG_20261399000000.txt", b"", "not a YYYYMMDDhhmmss time", R.BAD_TIMESTAMP),
        ("KG_20261122210500.txt", b"DO\t4.2\tmg/L\t20261122210500", "expected 5", R.BAD_SCHEMA),
        (
            "KG_20261122210500.txt",
            b"XX\t4.2\tmg/L\t20261122210500\t00",
            "unknown symbol",
            R.UNKNOWN_PARAMETER,
        ),
        (
            "KG_20261122210500.txt",
            b"DO\tfour\tmg/L\t20261122210500\t00",
            "not a number",
            R.BAD_SCHEMA,
        ),
        (
            "KG_20261122210500.txt",
            b"DO\tnan\tmg/L\t20261122210500\t00",
            "not finite",
            R.NON_FINITE_VALUE,
        ),
        ("KG_20261122210500.txt", b"DO\t4.2\tmg/L\t20261122211000\t00", "differs", R.BAD_TIMESTAMP),
        ("KG_20261122210500.txt", b"DO\t4.2\tmg/L\t20261122210500\t03", "status", R.BAD_STATUS),
        ("KG_20261122210500.txt", b"\xff", "not UTF-8", R.NOT_UTF8),
    ],
)
def test_malformed_files_are_refused_with_the_place_and_the_mqtt_reason(
    name: str, content: bytes, message: str, reason: R
) -> None:
    with pytest.raises(Circular10Error, match=message) as raised:
        decode_file(name, content)
    assert raised.value.reason is reason


@pytest.mark.parametrize(
    "content",
    [
        b"DO\t4.2\tmg/L\t20261122210500\t00\r\npH\t7.9\t\t20261122210500\t01\r\n",
        b"DO\t4.2\tmg/L\t20261122210500\t00\npH\t7.9\t\t20261122210500\t01",
        b"\xef\xbb\xbfDO\t4.2\tmg/L\t20261122210500\t00\r\npH\t7.9\t\t20261122210500\t01\r\n",
    ],
    ids=["crlf", "lf-no-final-newline", "utf8-bom"],
)
def test_line_ends_and_a_byte_order_mark_read_the_same(content: bytes) -> None:
    data = decode_file("KG-SR-01_20261122210500.txt", content)
    assert data.lines == (Circular10Line("do", 4.2, 0), Circular10Line("ph", 7.9, 1))
    assert data.time == datetime(2026, 11, 22, 14, 5, tzinfo=UTC)  # local time, UTC+7


def test_unknown_code_cannot_be_written() -> None:
    with pytest.raises(Circular10Error, match="no Circular 10 symbol"):
        encode_file(Circular10File("KG", AT, (Circular10Line("xyz", 1.0),)))
