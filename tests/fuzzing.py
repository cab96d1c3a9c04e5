"""Hypothesis strategies for wire-format inputs, good and poisonous, and what a decoded one holds.

Trees are serialised by hand, so objects may repeat a key and numbers may be NaN, Infinity
or huge; most are shaped like readings or status documents (each field sane seven times in
eight) so that the fuzzer gets past the first checks, and some have bytes spliced in.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from telemetry import PARAMETERS, ReadingsDocument, StationState, StatusDocument

T = TypeVar("T")
FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CONTROL = {chr(c) for c in range(32)} | {"\x7f"}


@dataclass(frozen=True)
class Obj:
    """A JSON object as written on the wire: pairs in order, keys possibly repeated."""

    pairs: tuple[tuple[str, object], ...]


def to_json(node: object, *, ascii_only: bool = False) -> str:
    """Write ``node`` as JSON text; floats may come out as NaN or Infinity (not JSON)."""
    if isinstance(node, Obj):
        inner = ",".join(
            f"{json.dumps(k, ensure_ascii=ascii_only)}:{to_json(v, ascii_only=ascii_only)}"
            for k, v in node.pairs
        )
        return "{" + inner + "}"
    if isinstance(node, list):
        return "[" + ",".join(to_json(v, ascii_only=ascii_only) for v in node) + "]"
    return json.dumps(node, ensure_ascii=ascii_only)


KEYS = st.sampled_from(
    ["station", "ts", "values", "status", "samples", "seq", "state", "fw", "battery_v", "do"]
) | st.text(max_size=6)
CODES = sorted(PARAMETERS)[:5]
TIMES = (
    st.sampled_from(
        [
            "2026-11-22T21:05:00+07:00",
            "2026-11-22T14:05:00Z",
            "2026-11-22T21:05:00",  # no offset
            "9999-12-31T23:59:59-12:00",
            "0001-01-01T00:00:00+14:00",
            "x",
        ]
    )
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats()
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64)
    | st.floats()  # NaN and infinities included
    | st.text(max_size=12)
    | TIMES
    | st.sampled_from(["online", "offline", "S1", "KG-SR-01", "\x00", "1.2\x1b"])
)


def objects(children: st.SearchStrategy[object]) -> st.SearchStrategy[Obj]:
    return st.lists(st.tuples(KEYS, children), max_size=5).map(lambda p: Obj(tuple(p)))


TREES = st.recursive(
    SCALARS, lambda children: st.lists(children, max_size=4) | objects(children), max_leaves=25
)


def mostly(sane: st.SearchStrategy[T], odd: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """``sane`` about seven times in eight, so that whole documents often pass every check."""
    return st.sampled_from([True] * 7 + [False]).flatmap(lambda ok: sane if ok else odd)


@st.composite
def sample_like(draw: st.DrawFn) -> Obj:
    good_values = st.lists(
        st.tuples(st.sampled_from(CODES), st.floats(-1e6, 1e6)),
        min_size=1,
        max_size=4,
        unique_by=lambda pair: pair[0],
    )
    odd_values = st.lists(
        st.tuples(
            st.sampled_from([*CODES, "oxygen", ""]),
            st.floats() | st.integers(-(2**64), 2**64) | st.sampled_from(["4.2", True, None, []]),
        ),
        max_size=4,
    )
    values = draw(mostly(good_values, odd_values))
    codes = [code for code, _ in values] or ["do"]
    good_status = st.lists(
        st.tuples(st.sampled_from(codes), st.sampled_from([0, 1, 2])), unique_by=lambda p: p[0]
    )
    odd_status = st.lists(
        st.tuples(
            st.sampled_from([*codes, "ph", "x"]),
            st.sampled_from([3, -1, 1.0, True, None, "1", [1], {}]) | TREES,
        ),
        min_size=1,
        max_size=3,
    )
    status = draw(mostly(good_status, odd_status))
    pairs: list[tuple[str, object]] = [
        ("ts", draw(mostly(st.sampled_from(["2026-11-22T21:05:00+07:00", 1795000000]), TIMES))),
        ("values", Obj(tuple(values))),
    ]
    if status or draw(st.booleans()):
        pairs.append(("status", Obj(tuple(status))))
    pairs += draw(mostly(st.just([]), st.lists(st.tuples(KEYS, TREES), max_size=2)))
    return Obj(tuple(draw(st.permutations(pairs))))


@st.composite
def readings_like(draw: st.DrawFn) -> Obj:
    station = draw(mostly(st.just("S1"), st.sampled_from(["", "S\x00", 5]) | st.text(max_size=8)))
    if draw(st.booleans()):
        body: list[tuple[str, object]] = [
            ("samples", draw(st.lists(sample_like(), min_size=1, max_size=3)))
        ]
    else:
        body = list(draw(sample_like()).pairs)
    pairs = [("station", station), *body]
    if draw(st.booleans()):
        seq = mostly(
            st.integers(0, 2**32), st.integers(-(2**64), 2**64) | st.sampled_from(["1", 1.5])
        )
        pairs.append(("seq", draw(seq)))
    return Obj(tuple(draw(st.permutations(pairs))))


@st.composite
def status_like(draw: st.DrawFn) -> Obj:
    fields = {
        "state": mostly(
            st.sampled_from(["online", "offline"]), st.sampled_from(["asleep", 1, None, ["online"]])
        ),
        "ts": mostly(st.just("2026-11-22T21:05:00+07:00"), TIMES),
        "fw": mostly(st.text(max_size=6), st.sampled_from(["1.2\x00", 2, "\x1b"])),
        "battery_v": mostly(st.floats(0, 30), st.floats() | st.sampled_from(["12", True, []])),
    }
    pairs = [(k, draw(v)) for k, v in fields.items() if k == "state" or draw(st.booleans())]
    pairs += draw(mostly(st.just([]), st.lists(st.tuples(KEYS, TREES), max_size=2)))
    return Obj(tuple(draw(st.permutations(pairs))))


def documents(shaped: st.SearchStrategy[Obj]) -> st.SearchStrategy[bytes]:
    """Serialised trees: mostly shaped like documents, sometimes spliced with random bytes."""
    written = st.builds(
        lambda tree, ascii_only: to_json(tree, ascii_only=ascii_only).encode(),
        shaped | TREES,
        st.booleans(),
    )
    spliced = st.builds(
        lambda doc, junk, at: doc[: at % (len(doc) + 1)] + junk + doc[at % (len(doc) + 1) :],
        written,
        st.binary(min_size=1, max_size=4),
        st.integers(0, 10_000),
    )
    return written | spliced | st.binary(max_size=300)


def assert_valid_readings(doc: ReadingsDocument) -> None:
    """What every decoded readings document guarantees to the ingester."""
    assert isinstance(doc.station, str)
    assert doc.station
    assert not CONTROL & set(doc.station)
    assert doc.seq is None or type(doc.seq) is int
    assert doc.samples
    for sample in doc.samples:
        assert 946_684_800.0 <= sample.epoch < 4_102_444_800.0
        assert sample.values
        assert set(sample.values) <= set(PARAMETERS)
        assert all(type(v) is float and math.isfinite(v) for v in sample.values.values())
        assert set(sample.status) <= set(sample.values)
        assert all(type(s) is int and s in (0, 1, 2) for s in sample.status.values())


def assert_valid_status(doc: StatusDocument) -> None:
    """What every decoded status document guarantees to the ingester."""
    assert isinstance(doc.state, StationState)
    assert doc.epoch is None or 946_684_800.0 <= doc.epoch < 4_102_444_800.0
    assert doc.fw is None or (isinstance(doc.fw, str) and not CONTROL & set(doc.fw))
    assert doc.battery_v is None or (type(doc.battery_v) is float and math.isfinite(doc.battery_v))
