"""Fuzzing the wire codec: any input is a valid document or a DecodeError, never another error.

Inputs (see tests/fuzzing.py): arbitrary bytes, JSON-ish trees shaped like readings or status
documents (repeated keys, NaN, huge numbers, wrong types, control characters), the same with
bytes spliced in, and soups of brackets and quotes. Each test is bounded to a few seconds.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telemetry import DecodeError, decode_readings, decode_status
from tests.fuzzing import (
    FUZZ,
    Obj,
    assert_valid_readings,
    assert_valid_status,
    documents,
    readings_like,
    status_like,
    to_json,
)


def decodes_or_refuses_readings(payload: bytes) -> None:
    try:
        doc = decode_readings(payload)
    except DecodeError as exc:
        assert exc.detail  # noqa: PT017 (the error is the expected outcome, not a failure)
    else:
        assert_valid_readings(doc)


def decodes_or_refuses_status(payload: bytes) -> None:
    try:
        doc = decode_status(payload)
    except DecodeError as exc:
        assert exc.detail  # noqa: PT017
    else:
        assert_valid_status(doc)


@FUZZ
@given(st.binary(max_size=2_000))
def test_any_bytes(payload: bytes) -> None:
    decodes_or_refuses_readings(payload)
    decodes_or_refuses_status(payload)


@FUZZ
@given(documents(readings_like()))
def test_readings_shaped_input(payload: bytes) -> None:
    decodes_or_refuses_readings(payload)


@FUZZ
@given(documents(status_like()))
def test_status_shaped_input(payload: bytes) -> None:
    decodes_or_refuses_status(payload)


@FUZZ
@given(
    st.lists(
        st.sampled_from([b"[", b"{", b'"a":', b"]", b"}", b",", b'"', b"\\", b"1"]), max_size=400
    )
)
def test_bracket_soup(parts: list[bytes]) -> None:
    payload = b"".join(parts)
    decodes_or_refuses_readings(payload)
    decodes_or_refuses_status(payload)


@pytest.mark.parametrize(
    ("shaped", "decode"), [(readings_like(), decode_readings), (status_like(), decode_status)]
)
def test_the_fuzzer_reaches_valid_documents(
    shaped: st.SearchStrategy[Obj], decode: Callable[[bytes], object]
) -> None:
    """The shaped strategies often produce documents that decode, so the checks above bite."""
    decoded = 0

    @settings(max_examples=100, deadline=None, database=None)
    @given(shaped)
    def count(tree: Obj) -> None:
        nonlocal decoded
        with contextlib.suppress(DecodeError):
            decode(to_json(tree).encode())
            decoded += 1

    count()
    assert decoded >= 20
