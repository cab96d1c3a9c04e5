"""The MQTT side of an ingest worker (paho-mqtt 2.x).

The paho network thread only decodes and enqueues; the writer acknowledges messages after
their transaction committed (manual acks). MQTT v5 with a persistent session and a large
Receive Maximum, so the broker keeps queuing while we are away and lets a whole batch be in
flight; MQTT 3.1.1 with clean_session=False when the broker has no v5. No callback lets an
exception reach paho, which would end its network thread: a message that cannot be taken
becomes a reject like any other.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Literal, ParamSpec

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from ingest.errors import BrokerError
from ingest.inbound import Decoder, Inbound, Rejection
from ingest.metrics import IngestMetrics
from telemetry import (
    Channel,
    Clock,
    MqttEndpoint,
    ReadingsDocument,
    RejectReason,
    StatusDocument,
    TopicScheme,
)

logger = logging.getLogger(__name__)

Protocol = Literal["auto", "5", "3.1.1"]
_UNSUPPORTED_PROTOCOL = 132  # CONNACK reason "Unsupported protocol version"
_V5_PROBE_S = 5.0

P = ParamSpec("P")


class Consumer:
    """Subscribes for readings and status messages and feeds a bounded queue.

    Args:
        endpoint: The broker.
        client_id: Stable id naming the persistent session.
        scheme: The topic grammar.
        share_group: Shared-subscription group for readings; empty for a plain subscription.
        decoder: Turns payloads into documents or rejections.
        inbox: The bounded queue the writer drains.
        inflight_window: Receive Maximum; the queue must hold at least this many.
        session_expiry_s: How long the broker keeps the session while we are away.
        protocol: ``5``, ``3.1.1`` or ``auto`` (v5, falling back to 3.1.1).
        metrics: Where failed callbacks are counted.
        clock: Stamps each message's arrival (future-dated samples are judged against it).
    """

    def __init__(
        self,
        endpoint: MqttEndpoint,
        *,
        client_id: str,
        scheme: TopicScheme,
        share_group: str,
        decoder: Decoder,
        inbox: queue.Queue[Inbound],
        inflight_window: int,
        session_expiry_s: int,
        protocol: Protocol = "auto",
        metrics: IngestMetrics | None = None,
        clock: Clock,
    ) -> None:
        self._endpoint = endpoint
        self._client_id = client_id
        self._scheme = scheme
        self._share_group = share_group
        self._decoder = decoder
        self._inbox = inbox
        self._window = inflight_window
        self._session_expiry_s = session_expiry_s
        self._protocol = protocol
        self._metrics = metrics
        self._clock = clock
        self._client: mqtt.Client | None = None
        self._v5 = protocol != "3.1.1"
        self._generation = 0
        self._ack_lock = threading.Lock()
        self._connected = threading.Event()
        self._refused: ReasonCode | None = None
        self._filters: list[str] = []

    @property
    def protocol_version(self) -> str:
        """The protocol in use: ``5`` or ``3.1.1``."""
        return "5" if self._v5 else "3.1.1"

    @property
    def alive(self) -> bool:
        """Whether paho's network thread runs (while it does, it reconnects by itself)."""
        client = self._client
        # paho has no public accessor: its thread clears _thread when loop_forever() ends,
        # whether by disconnect() or by an exception.
        thread = client._thread if client is not None else None
        return thread is not None and thread.is_alive()

    def start(self, *, timeout: float = 15.0) -> None:
        """Connect (falling back to 3.1.1 when allowed) and subscribe.

        Raises:
            BrokerError: Neither protocol got a session within ``timeout``.
        """
        # A v5 broker answers at once; some 3.1.1-only brokers (amqtt) never answer a v5
        # CONNECT, so the probe gets a short wait of its own.
        if self._protocol == "auto" and not self._try(v5=True, timeout=_V5_PROBE_S):
            logger.warning("broker refused or ignored MQTT v5; falling back to 3.1.1")
            self._try(v5=False, timeout=timeout, required=True)
        elif self._protocol != "auto":
            self._try(v5=self._protocol == "5", timeout=timeout, required=True)

    def _try(self, *, v5: bool, timeout: float, required: bool = False) -> bool:
        self._v5 = v5
        self._connected.clear()
        self._refused = None
        client = self._build_client()
        self._client = client
        properties = None
        if v5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = self._session_expiry_s
            properties.ReceiveMaximum = self._window
        try:
            client.connect(
                self._endpoint.host,
                self._endpoint.port,
                keepalive=30,
                clean_start=False if v5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
                properties=properties,
            )
        except OSError as exc:
            msg = f"cannot reach the broker at {self._endpoint.display()}: {exc}"
            raise BrokerError(msg) from exc
        client.loop_start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._connected.wait(0.05):
                return True
            if self._refused is not None:
                break
        client.loop_stop()
        client.disconnect()
        unsupported = self._refused is None or self._refused.value == _UNSUPPORTED_PROTOCOL
        if unsupported and not required:
            return False
        reason = self._refused.getName() if self._refused is not None else "no answer"
        msg = f"broker at {self._endpoint.display()} refused the connection: {reason}"
        raise BrokerError(msg)

    def _build_client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self._client_id,
            protocol=MQTTProtocolVersion.MQTTv5 if self._v5 else MQTTProtocolVersion.MQTTv311,
            clean_session=None if self._v5 else False,
            manual_ack=True,
        )
        if self._endpoint.username:
            client.username_pw_set(self._endpoint.username, self._endpoint.password)
        if self._endpoint.tls:
            client.tls_set_context(self._endpoint.ssl_context())
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._guarded(self._on_connect)
        client.on_disconnect = self._guarded(self._on_disconnect)
        client.on_message = self._guarded(self._on_message)
        client.on_subscribe = self._guarded(self._on_subscribe)
        return client

    def _guarded(self, callback: Callable[P, None]) -> Callable[P, None]:
        """``callback``, unable to raise into paho (which would end its network thread)."""
        name = callback.__name__

        def guarded(*args: P.args, **kwargs: P.kwargs) -> None:
            try:
                callback(*args, **kwargs)
            except Exception:
                self._count_error()
                logger.exception("MQTT callback %s failed; carrying on", name)

        return guarded

    def _count_error(self) -> None:
        if self._metrics is not None:
            self._metrics.callback_errors += 1

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            self._refused = reason
            logger.error("broker refused the connection: %s", reason.getName())
            return
        with self._ack_lock:
            self._generation += 1
        readings = self._scheme.subscription(
            Channel.READINGS, share_group=self._share_group or None
        )
        status = self._scheme.subscription(Channel.STATUS)
        self._filters = [readings, status]
        if self._v5:
            # Retained statuses only for a new subscription, not again on every reconnect or
            # restart of this session: they were taken (and acknowledged) already, and a
            # retained message the ingester rejects would otherwise come back each time.
            new_only = SubscribeOptions(
                qos=1, retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB
            )
            client.subscribe([(readings, new_only), (status, new_only)])
        else:
            client.subscribe([(readings, 1), (status, 1)])
        logger.info(
            "connected to %s (MQTT %s, session present: %s)",
            self._endpoint.display(),
            self.protocol_version,
            flags.session_present,
        )

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reasons: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        refused = [f for f, r in zip(self._filters, reasons, strict=False) if r.is_failure]
        if refused:
            logger.error("broker refused the subscription to %s", ", ".join(refused))
            return
        # Started only now: from here on the broker keeps messages for our session.
        logger.info("subscribed to %s", " and ".join(self._filters))
        self._connected.set()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._ack_lock:
            self._generation += 1  # ids of the lost connection must never be acknowledged
        if self._connected.is_set():
            logger.warning("disconnected from the broker: %s; reconnecting", reason.getName())

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            item = self._take(message)
        except Exception as exc:  # a bug: still a reject, so that it is acknowledged
            self._count_error()
            logger.exception("taking a message from the broker failed; storing it as a reject")
            detail = f"the consumer failed: {type(exc).__name__}: {exc}"
            topic = bytes(message._topic).decode("utf-8", errors="replace")
            body = Rejection(RejectReason.INTERNAL_ERROR, detail)
            payload = bytes(message.payload)
            item = Inbound(
                mid=message.mid,
                qos=message.qos,
                generation=self._generation,
                topic=topic,
                payload=payload,
                station_id=None,
                body=body,
            )
        # Never full while the broker honours our Receive Maximum; if it is, waiting here
        # stops reading the socket, which is the back-pressure we want.
        self._inbox.put(item)

    def _take(self, message: mqtt.MQTTMessage) -> Inbound:
        payload = bytes(message.payload)
        try:
            topic = message.topic
        except UnicodeDecodeError:
            topic = repr(message._topic)
            station: str | None = None
            body: ReadingsDocument | StatusDocument | Rejection = Rejection(
                RejectReason.BAD_TOPIC, "topic is not UTF-8"
            )
        else:
            station, body = self._decoder.decode(
                topic=topic, payload=payload, received_at=self._clock.time()
            )
        size = sum(len(s.values) for s in body.samples) if isinstance(body, ReadingsDocument) else 0
        return Inbound(
            mid=message.mid,
            qos=message.qos,
            generation=self._generation,
            topic=topic,
            payload=payload,
            station_id=station,
            body=body,
            readings=size,
        )

    def ack(self, items: Iterable[Inbound]) -> int:
        """Acknowledge committed messages of the current connection.

        Messages of an earlier connection are skipped: the broker redelivers them and the
        database ignores the duplicates.

        Returns:
            How many acknowledgements were sent.
        """
        client = self._client
        if client is None:
            return 0
        sent = 0
        with self._ack_lock:
            generation = self._generation
            for item in items:
                acked = item.qos and item.generation == generation
                if acked and client.ack(item.mid, item.qos) == MQTTErrorCode.MQTT_ERR_SUCCESS:
                    sent += 1
        return sent

    def stop(self) -> None:
        """Disconnect without unsubscribing, so the session keeps collecting messages."""
        client = self._client
        if client is None:
            return
        self._connected.clear()  # a disconnect we asked for is not worth a warning
        client.disconnect()
        client.loop_stop()
        self._client = None
