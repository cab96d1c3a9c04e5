"""Nothing a client sends reaches paho as an exception: every message becomes one queued item.

An exception out of a paho callback ends paho's network thread, and the message is never
acknowledged, so it comes back on every restart. These tests drive the callbacks paho calls,
with fuzzed topics and payloads and with a decoder made to fail.
"""

from __future__ import annotations

import queue
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest import Consumer, Decoder, Inbound, IngestMetrics, Rejection
from telemetry import (
    FixedClock,
    ReadingsDocument,
    RejectReason,
    StatusDocument,
    TopicScheme,
    parse_mqtt_url,
)
from tests.fuzzing import (
    FUZZ,
    assert_valid_readings,
    assert_valid_status,
    documents,
    readings_like,
    status_like,
)

NOW = 1_800_000_000.0  # after every sane time the fuzzer writes
SCHEME = TopicScheme("aw")
TOPICS = st.sampled_from(
    [
        "aw/v1/S1/readings",
        "aw/v1/S1/status",
        "aw/v1/S2/readings",
        "aw/v1//readings",
        "aw/v1/S1/readings/x",
        "other/v1/S1/status",
    ]
) | st.text(max_size=30)
PAYLOADS = documents(readings_like()) | documents(status_like())


def _consumer(decoder: Decoder | None = None) -> tuple[Consumer, queue.Queue[Inbound], Any]:
    """A consumer (never connected), its queue, and the on_message paho would call."""
    inbox: queue.Queue[Inbound] = queue.Queue()
    consumer = Consumer(
        parse_mqtt_url("mqtt://127.0.0.1:1"),
        client_id="test",
        scheme=SCHEME,
        share_group="",
        decoder=decoder or Decoder(SCHEME, max_payload_bytes=4096, future_tolerance_s=300),
        inbox=inbox,
        inflight_window=10,
        session_expiry_s=60,
        metrics=IngestMetrics(inbox.qsize),
        clock=FixedClock(NOW),
    )
    client = consumer._build_client()
    return consumer, inbox, client


def _message(topic: bytes, payload: bytes) -> mqtt.MQTTMessage:
    message = mqtt.MQTTMessage(mid=7, topic=topic)
    message.payload = payload
    message.qos = 1
    return message


def _check(body: ReadingsDocument | StatusDocument | Rejection, station: str | None) -> None:
    if isinstance(body, Rejection):
        assert body.reason in RejectReason
        assert body.detail
    elif isinstance(body, ReadingsDocument):
        assert_valid_readings(body)
        assert body.station == station
    else:
        assert isinstance(body, StatusDocument)
        assert_valid_status(body)
        assert station is not None


@FUZZ
@given(topic=TOPICS, payload=PAYLOADS)
def test_the_decoder_returns_a_document_or_a_rejection(topic: str, payload: bytes) -> None:
    decoder = Decoder(SCHEME, max_payload_bytes=4096, future_tolerance_s=300)
    station, body = decoder.decode(topic=topic, payload=payload, received_at=NOW)
    _check(body, station)


@FUZZ
@given(topic=TOPICS.map(str.encode) | st.binary(max_size=40), payload=PAYLOADS)
def test_every_message_becomes_exactly_one_queued_item(topic: bytes, payload: bytes) -> None:
    _, inbox, client = _consumer()
    client.on_message(client, None, _message(topic, payload))
    item = inbox.get_nowait()
    assert inbox.empty()
    assert (item.mid, item.qos, item.payload) == (7, 1, payload)  # kept to be acknowledged
    _check(item.body, item.station_id)


class _BrokenDecoder(Decoder):
    def decode(
        self, *, topic: str, payload: bytes, received_at: float
    ) -> tuple[str | None, ReadingsDocument | StatusDocument | Rejection]:
        raise RecursionError("maximum recursion depth exceeded")


def test_a_failing_consumer_still_queues_the_message_as_an_internal_error() -> None:
    consumer, inbox, client = _consumer(
        _BrokenDecoder(SCHEME, max_payload_bytes=4096, future_tolerance_s=300)
    )
    client.on_message(client, None, _message(b"aw/v1/S1/status", b"[[[]]]"))
    item = inbox.get_nowait()
    assert item.body == Rejection(
        RejectReason.INTERNAL_ERROR,
        "the consumer failed: RecursionError: maximum recursion depth exceeded",
    )
    assert (item.topic, item.payload, item.mid) == ("aw/v1/S1/status", b"[[[]]]", 7)
    assert consumer._metrics is not None
    assert consumer._metrics.callback_errors == 1


def test_a_failing_codec_is_an_internal_error_reject(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(payload: bytes) -> ReadingsDocument:
        raise TypeError("unhashable type: 'list'")

    monkeypatch.setattr("ingest.inbound.decode_readings", explode)
    decoder = Decoder(SCHEME, max_payload_bytes=4096, future_tolerance_s=300)
    _, body = decoder.decode(topic="aw/v1/S1/readings", payload=b"{}", received_at=NOW)
    assert body == Rejection(
        RejectReason.INTERNAL_ERROR, "the decoder failed: TypeError: unhashable type: 'list'"
    )


def test_other_callbacks_log_and_count_instead_of_raising() -> None:
    consumer, _, client = _consumer()
    client.on_subscribe(client, None, 1, None, None)  # reasons=None: the body fails
    client.on_connect(client, None, None, None, None)  # so does this one
    assert consumer._metrics is not None
    assert consumer._metrics.callback_errors == 2
