"""What the MQTT callback (or the file inbox) hands the writer: a decoded message, or a rejection.

Decoding runs in the paho network thread, so it must stay cheap and never touch I/O;
checks that need the database (is the station known?) are left to the writer.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from telemetry import (
    Channel,
    DecodeError,
    ReadingsDocument,
    RejectReason,
    StatusDocument,
    TopicError,
    TopicScheme,
    decode_readings,
    decode_status,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a message is stored in ``rejects`` instead of ``readings``."""

    reason: RejectReason
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceFile:
    """The Circular 10 file a message was read from, recorded in ``inbox_files`` on commit.

    Attributes:
        key: sha256 of station, file name and content: the file's identity in the ledger.
        name: The file's name (with the folders it was uploaded in).
    """

    key: bytes
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Inbound:
    """One message taken from the broker, not yet committed nor acknowledged.

    Attributes:
        mid: MQTT packet id, valid only on the connection ``generation``.
        qos: Delivery QoS; 0 needs no acknowledgement.
        generation: Which broker connection delivered it (ids restart on reconnect).
        topic: The topic it was published on.
        payload: The raw bytes, kept for rejects.
        station_id: The station named by the topic, when the topic parsed.
        body: The decoded document, or the reason it was rejected.
        readings: How many readings the body carries (0 for status and rejects).
        file: The file it came from, when it came by file rather than MQTT.
        taken_at: When it was taken (``time.monotonic()``): how long it has waited since.
    """

    mid: int
    qos: int
    generation: int
    topic: str
    payload: bytes
    station_id: str | None
    body: ReadingsDocument | StatusDocument | Rejection
    readings: int = 0
    file: SourceFile | None = None
    taken_at: float = field(default_factory=time.monotonic, compare=False)


@dataclass(frozen=True, slots=True)
class Decoder:
    """Decodes raw messages.

    Args:
        scheme: The topic grammar.
        max_payload_bytes: Larger payloads are rejected unread.
        future_tolerance_s: Samples dated later than now plus this are rejected.
    """

    scheme: TopicScheme
    max_payload_bytes: int
    future_tolerance_s: float

    def decode(
        self, *, topic: str, payload: bytes, received_at: float
    ) -> tuple[str | None, ReadingsDocument | StatusDocument | Rejection]:
        """Return the topic's station id and the decoded body or a rejection; never raise.

        Whatever goes wrong, a bug included, makes a rejection: an exception here would stop
        the MQTT network thread, and the message would come back on every restart.
        """
        try:
            return self._decode(topic=topic, payload=payload, received_at=received_at)
        except Exception as exc:
            logger.exception("decoding a %d-byte message on %r failed", len(payload), topic)
            detail = f"the decoder failed: {type(exc).__name__}: {exc}"
            return None, Rejection(RejectReason.INTERNAL_ERROR, detail)

    def _decode(
        self, *, topic: str, payload: bytes, received_at: float
    ) -> tuple[str | None, ReadingsDocument | StatusDocument | Rejection]:
        try:
            parsed = self.scheme.parse(topic)
        except TopicError as exc:
            return None, Rejection(RejectReason.BAD_TOPIC, str(exc))
        if len(payload) > self.max_payload_bytes:
            detail = f"{len(payload)} bytes is over the {self.max_payload_bytes}-byte limit"
            return parsed.station_id, Rejection(RejectReason.PAYLOAD_TOO_LARGE, detail)
        try:
            if parsed.channel is Channel.STATUS:
                return parsed.station_id, decode_status(payload)
            doc = decode_readings(payload)
        except DecodeError as exc:
            return parsed.station_id, Rejection(exc.reason, exc.detail)
        if doc.station != parsed.station_id:
            detail = f"payload station {doc.station!r} differs from topic station"
            return parsed.station_id, Rejection(RejectReason.STATION_MISMATCH, detail)
        latest = max(sample.epoch for sample in doc.samples)
        ahead = latest - received_at
        if ahead > self.future_tolerance_s:
            limit = self.future_tolerance_s
            detail = f"a sample is dated {ahead:.0f} s in the future (limit {limit:.0f} s)"
            return parsed.station_id, Rejection(RejectReason.FUTURE_TIMESTAMP, detail)
        return parsed.station_id, doc
