"""A Circular 10 file judged by the rules an MQTT readings message is judged by.

Same limits, same reasons: too large (``payload_too_large``), not UTF-8, unknown symbol
(``unknown_parameter``), a value that is not a number (``bad_schema``) or not finite, a bad
status, a time outside 2000-2099 or further ahead than the tolerance (``future_timestamp``), a
file without readings (``empty_batch``), a parameter twice (``duplicate_key``), and a file named
for another station than the account that uploaded it (``station_mismatch``). A malformed file
name is ``bad_file_name``. Whether the station is registered is the writer's check, as for MQTT.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Final

from ingest.inbound import Rejection
from telemetry import (
    Circular10Error,
    ReadingsDocument,
    RejectReason,
    Sample,
    decode_file,
)

logger = logging.getLogger(__name__)

_YEARS: Final = range(2000, 2100)


@dataclass(frozen=True, slots=True, kw_only=True)
class FileDecoder:
    """Turns a file's bytes into a readings document or a rejection; never raises.

    Args:
        max_file_bytes: Larger files are rejected unread.
        future_tolerance_s: Files dated later than now plus this are rejected.
    """

    max_file_bytes: int
    future_tolerance_s: float

    def decode(
        self,
        *,
        station_id: str,
        code: str | None,
        name: str,
        content: bytes,
        size: int,
        received_at: float,
    ) -> ReadingsDocument | Rejection:
        """Judge one file uploaded by ``station_id`` (whose file-name code is ``code``).

        ``content`` may be only the first bytes of a file of ``size`` bytes that is too large.
        """
        try:
            return self._decode(
                station_id=station_id,
                code=code,
                name=name,
                content=content,
                size=size,
                received_at=received_at,
            )
        except Exception as exc:  # a bug must not stop the inbox: the file is quarantined
            logger.exception("decoding %s of %s failed", name, station_id)
            return Rejection(RejectReason.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}")

    def _decode(
        self,
        *,
        station_id: str,
        code: str | None,
        name: str,
        content: bytes,
        size: int,
        received_at: float,
    ) -> ReadingsDocument | Rejection:
        if size > self.max_file_bytes:
            detail = f"{name}: {size} bytes is over the {self.max_file_bytes}-byte limit"
            return Rejection(RejectReason.PAYLOAD_TOO_LARGE, detail)
        try:
            data = decode_file(name, content)
        except Circular10Error as exc:
            return Rejection(exc.reason, exc.detail)
        if code is not None and data.station_id != code:
            detail = (
                f"{name}: the file is named for station {data.station_id!r},"
                f" the account {station_id!r} files as {code!r}"
            )
            return Rejection(RejectReason.STATION_MISMATCH, detail)
        if not data.lines:
            return Rejection(RejectReason.EMPTY_BATCH, f"{name}: the file holds no readings")
        twice = [c for c, n in Counter(line.code for line in data.lines).items() if n > 1]
        if twice:
            detail = f"{name}: parameter {twice[0]!r} appears more than once"
            return Rejection(RejectReason.DUPLICATE_KEY, detail)
        if data.time.year not in _YEARS:
            return Rejection(RejectReason.BAD_TIMESTAMP, f"{name}: the time is outside 2000-2099")
        epoch = data.time.timestamp()
        ahead = epoch - received_at
        if ahead > self.future_tolerance_s:
            detail = (
                f"{name}: dated {ahead:.0f} s in the future (limit {self.future_tolerance_s:.0f} s)"
            )
            return Rejection(RejectReason.FUTURE_TIMESTAMP, detail)
        values = {line.code: line.value for line in data.lines}
        status = {line.code: line.status for line in data.lines if line.status}
        return ReadingsDocument(station_id, (Sample(epoch, values, status),))
