"""Real Kannel with its fake carrier, the SMS routes under uvicorn, notifier processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
import pytest

from alerts import AlertEpisode, load_profiles, reconcile, sync_profiles
from alerts.notify import NewSubscriber, Notifier, NotifySettings, add_subscriber, fan_out
from alerts.notify.channels import channel_from_settings
from stations import load_registry, sync_registry
from telemetry import Clock, SystemClock, migrate
from tests.support.kannel import Kannel
from tests.support.network import free_port, serving
from viz.api import ApiSettings, create_app


@dataclass
class Sms:
    """The whole rig of one test: database, API, Kannel, and how to run notifiers."""

    url: str
    api: str
    token: str
    kannel: Kannel

    def _settings(self, **settings: str) -> dict[str, str]:
        """Notifier settings by field name: this rig's, small timings, then ``settings``."""
        return {
            "database_url": self.url,
            "sms_url": self.kannel.sms_url,
            "sms_callback_url": self.api,
            "sms_callback_token": self.token,
            "poll_s": "0.1",
            "in_doubt_s": "3",
            **settings,
        }

    def notifier(self, **settings: str) -> subprocess.Popen[bytes]:
        """Start ``aquawatch notify`` on this Kannel (on the machine's clock)."""
        env = {f"AQUAWATCH_{k.upper()}": v for k, v in self._settings(**settings).items()}
        return subprocess.Popen(
            [sys.executable, "-m", "telemetry.cli", "--log-level", "WARNING", "notify"],
            env={**os.environ, **env},
        )

    @contextmanager
    def notifier_at(self, clock: Clock, **settings: str) -> Iterator[None]:
        """A notifier in a thread of this process, on ``clock``, for as long as the block."""
        config = NotifySettings.model_validate(self._settings(**settings))
        worker = Notifier(config, channel=channel_from_settings(config), clock=clock)
        done = threading.Event()
        thread = threading.Thread(target=worker.run, args=(self.url, done), name="notifier")
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join(timeout=20)

    def subscriber(self, phone: str, *stations: str, **fields: object) -> int:
        """Add a subscriber following ``stations``."""
        new = NewSubscriber.model_validate(
            {"name": f"Người {phone[-3:]}", "phone": phone, "stations": stations, **fields}
        )
        with psycopg.connect(self.url) as conn:
            return add_subscriber(conn, new)

    def alert(self, station: str, rule: str, severity: int, value: float, at: float) -> int:
        """Open an alert the way the engine's tick does: transitions and outbox, one commit."""
        episode = AlertEpisode(station, rule, "threshold", at, severity, value=value)
        with psycopg.connect(self.url) as conn:
            changes = reconcile(
                conn, [episode], clear={}, window_start=at - 3600, now=time.time(), late_after_s=900
            )
            fan_out(conn, changes)
            conn.commit()
        return changes[0].alert_id

    def to(self, phone: str) -> list[str]:
        """Texts the fake carrier received for ``phone``, in order."""
        return [m.text for m in self.kannel.received() if m.to == phone]

    def scalar(self, query: str, *params: object) -> object:
        """First column of the first row."""
        with psycopg.connect(self.url) as conn:
            row = conn.execute(query, params).fetchone()
        return row[0] if row else None


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a notifier gracefully."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)


@pytest.fixture
def sms(database_url: str) -> Iterator[Sms]:
    """A migrated database with the stations and rules, the SMS routes, Kannel."""
    migrate(database_url)
    registry = load_registry()
    with psycopg.connect(database_url) as conn:
        sync_registry(conn, registry, deactivate_missing=True)
        rows = load_profiles().as_rows(registry.stations.values())
        sync_profiles(conn, rows, stations=list(registry.stations))
    token = uuid.uuid4().hex
    settings = ApiSettings(database_url=database_url, sms_callback_token=token, pool_size=2)
    with serving(create_app(settings, clock=SystemClock()), free_port()) as api:
        kannel = Kannel(mo_url=f"{api}/api/v1/sms/mo?token={token}")
        try:
            kannel.start()
            yield Sms(database_url, api, token, kannel)
        finally:
            kannel.close()
