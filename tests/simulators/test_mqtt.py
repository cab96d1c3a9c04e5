"""Publishing through the real Mosquitto broker: the summary matches what subscribers saw."""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from simulators import PublisherError
from simulators.cli import _simulate, register_cli
from stations import StoredCredential, credentials
from telemetry import FixedClock, decode_readings
from tests.support.mosquitto import Broker, Publisher
from tests.support.times import local_time


class Counter:
    """A QoS 1 subscriber counting readings documents, samples and values."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.lock = threading.Lock()
        self.messages = self.samples = self.readings = 0
        self.retained_topics: set[str] = set()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_connect = lambda c, *_: c.subscribe(f"{prefix}/v1/#", qos=1)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self.lock:
            if message.topic.endswith("/status"):
                self.retained_topics.add(message.topic)
                return
            doc = decode_readings(bytes(message.payload))
            self.messages += 1
            self.samples += len(doc.samples)
            self.readings += sum(len(s.values) for s in doc.samples)

    def wait_for(self, messages: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self.messages >= messages:
                    return
            time.sleep(0.02)


NOW = datetime(2026, 12, 5, tzinfo=UTC)


@pytest.fixture
def counter(broker: Broker) -> Iterator[Counter]:
    sub = Counter(f"test-sim-{uuid.uuid4().hex[:12]}")
    sub.client.username_pw_set(broker.service.username, broker.service.secret)
    sub.client.connect("127.0.0.1", broker.port)
    sub.client.loop_start()
    assert sub.subscribed.wait(5.0)
    yield sub
    sub.client.disconnect()
    sub.client.loop_stop()
    cleaner = Publisher(broker)
    for topic in sub.retained_topics:  # leave no retained status behind
        cleaner.publish(topic, b"", retain=True)
    cleaner.close()


@pytest.mark.integration
def test_fast_run_through_mosquitto_matches_the_summary(
    counter: Counter,
    broker: Broker,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AQUAWATCH_MQTT_URL", broker.gateway_url)
    parser = argparse.ArgumentParser(prog="aquawatch")
    register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(
        [
            "simulate",
            "--fast",
            "--start",
            "2026-11-22T00:00:00+07:00",
            "--duration",
            "4h",
            "--stations",
            "20",
            "--scenario",
            "faults",
            "--seed",
            "3",
            "--max-inflight",
            "100",
            "--backfill-batch",
            "7",
            "--topic-prefix",
            counter.prefix,
        ]
    )
    assert args.handler(args) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    counter.wait_for(summary["messages"])
    time.sleep(0.2)  # anything beyond the summary would show up now
    assert summary["stations"] == 20
    assert summary["messages"] == 20 * 48 - 6 - 18 + 3  # dropout, outage out, 18/7 batches in
    assert summary["backfill_messages"] == 3
    assert summary["unacknowledged"] == summary["refused"] == 0
    with counter.lock:
        assert counter.messages == summary["messages"]
        assert counter.samples == summary["samples"]
        assert counter.readings == summary["readings"]


@pytest.mark.integration
def test_a_fast_run_without_start_covers_the_duration_before_its_clocks_now(
    counter: Counter,
    broker: Broker,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AQUAWATCH_MQTT_URL", broker.gateway_url)
    parser = argparse.ArgumentParser(prog="aquawatch")
    register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(
        [
            "simulate",
            "--fast",
            "--duration",
            "30m",
            "--stations",
            "1",
            "--topic-prefix",
            counter.prefix,
        ]
    )
    now = local_time("04:57")
    assert _simulate(args, clock=FixedClock(now)) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert datetime.fromisoformat(summary["start"]) == now - timedelta(minutes=30)
    assert datetime.fromisoformat(summary["end"]) == now
    assert summary["samples"] == 6  # 04:30, 04:35 ... 04:55


def _login(station: str, secret: str) -> StoredCredential:
    salt = bytes(range(12))
    return StoredCredential(station, salt, 1000, credentials.hash_secret(secret, salt, 1000), NOW)


@pytest.mark.integration
def test_with_credentials_each_station_publishes_as_itself(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = ["KG-SR-01", "KG-SR-02", "KG-SR-03", "KG-CS-01", "KG-CS-02", "KG-EF-01", "KG-EF-02"]
    broker = Broker(stations=[_login(s, f"secret-{s}") for s in ids])
    broker.start()
    try:
        logins = tmp_path / "logins"
        logins.write_text("".join(f"{s}:secret-{s}\n" for s in ids))
        monkeypatch.setenv("AQUAWATCH_MQTT_URL", broker.url)  # its user is not used
        args = ["--fast", "--duration", "1h", "--credentials-file", str(logins)]
        assert _run_simulate(*args) == 0
        summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert summary["stations"] == 7
        assert summary["refused"] == summary["unacknowledged"] == 0
        assert summary["messages"] >= 7 * 12
        # One station with a wrong secret: the broker refuses it and the run stops.
        logins.write_text("".join(f"{s}:secret-{s}\n" for s in ids[1:]) + "KG-SR-01:guess\n")
        with pytest.raises(PublisherError, match=r"KG-SR-01.*refused the connection"):
            _run_simulate(*args)
    finally:
        broker.close()


def _run_simulate(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="aquawatch")
    register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["simulate", *argv])
    status: int = args.handler(args)
    return status
