"""Numpy columns into PostgreSQL through binary COPY, built as one buffer.

Every field has a fixed width (a station travels as its position in a list sent with the
statement that uses the rows), so the whole COPY is one numpy structured array: no Python
object per row.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import psycopg

_HEADER: Final = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)  # no flags, no header extension
_TRAILER: Final = struct.pack(">h", -1)


def _layout(fields: Sequence[tuple[str, str]]) -> np.dtype[np.void]:
    """The binary COPY tuple of ``fields`` (name, big-endian numpy type), none NULL."""
    parts = [("fields", ">i2")]
    for name, kind in fields:
        parts += [(f"{name}_bytes", ">i4"), (name, kind)]
    return np.dtype(parts)


def copy_in(conn: psycopg.Connection[Any], table: str, columns: Mapping[str, npt.ArrayLike]) -> int:
    """``COPY table (columns) FROM STDIN (FORMAT BINARY)`` from equal-length arrays.

    The table's columns must have the types of the arrays' (int2 for int16, and so on).
    """
    names = list(columns)
    arrays = [np.asarray(columns[name]) for name in names]
    row = _layout(
        [(name, a.dtype.newbyteorder(">").str) for name, a in zip(names, arrays, strict=True)]
    )
    rows = np.empty(len(arrays[0]) if arrays else 0, dtype=row)
    rows["fields"] = len(names)
    for name, array in zip(names, arrays, strict=True):
        rows[f"{name}_bytes"] = array.dtype.itemsize
        rows[name] = array
    statement = f"COPY {table} ({', '.join(names)}) FROM STDIN (FORMAT BINARY)"
    with conn.cursor() as cur, cur.copy(statement) as copy:
        copy.write(_HEADER + rows.tobytes() + _TRAILER)
    return len(rows)
