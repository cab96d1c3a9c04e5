"""AquaWatch commands as real subprocesses: an ingest worker, any other service, a simulator."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.support.common import wait_for
from tests.support.mosquitto import Broker
from tests.support.network import free_port


class IngestProcess:
    """``aquawatch ingest`` as a real subprocess."""

    def __init__(
        self,
        *,
        database_url: str,
        broker: Broker,
        prefix: str,
        args: tuple[str, ...] = (),
        **settings: str,
    ) -> None:
        self.args = args
        self.metrics_port = free_port()
        self.env = {
            **os.environ,
            "AQUAWATCH_DATABASE_URL": database_url,
            "AQUAWATCH_MQTT_URL": broker.url,
            "AQUAWATCH_TOPIC_PREFIX": prefix,
            "AQUAWATCH_CLIENT_ID": f"ingest-{prefix}",
            "AQUAWATCH_METRICS_PORT": str(self.metrics_port),
            "AQUAWATCH_ROLLUP_INTERVAL_S": "0.5",
            "AQUAWATCH_ROLLUP_SETTLE_S": "0",
            **{f"AQUAWATCH_{k.upper()}": v for k, v in settings.items()},
        }
        self.log = Path(tempfile.mkstemp(prefix="aw-ingest-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the worker and wait until it is connected and subscribed."""
        offset = self.log.stat().st_size
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "telemetry.cli", "ingest", *self.args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(
            lambda: "subscribed to" in self.log.read_text()[offset:] or self._died(),
            timeout=30,
            what="ingest to subscribe",
        )
        if self._died():
            pytest.fail(f"ingest exited early:\n{self.log.read_text()}")

    def _died(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def health(self) -> tuple[int, str]:
        """Return the status and body of the worker's /health."""
        url = f"http://127.0.0.1:{self.metrics_port}/health"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def metrics(self) -> dict[str, float]:
        """Return the counters and gauges from /metrics, by name with labels."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values

    def kill(self) -> None:
        """SIGKILL: no flush, no goodbye."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self) -> int:
        """SIGTERM and wait; return the exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    def close(self) -> None:
        """Make sure the process is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def output(self) -> str:
        """Everything the worker logged."""
        return self.log.read_text()


class ServiceProcess:
    """An ``aquawatch`` service command (``alerts``, ``notify``, ...) as a real subprocess.

    Args:
        command: The subcommand and its flags.
        ready: Text its log shows once it is running.
        settings: ``AQUAWATCH_*`` settings by lower-case name, e.g. ``database_url``.
    """

    def __init__(self, *command: str, ready: str, **settings: str) -> None:
        self.command = command
        self.ready = ready
        self.env = {
            **os.environ,
            **{f"AQUAWATCH_{k.upper()}": v for k, v in settings.items()},
        }
        self.log = Path(tempfile.mkstemp(prefix=f"aw-{command[0]}-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """The running process's id."""
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        """Start it and wait until its log says it is ready."""
        offset = self.log.stat().st_size
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "telemetry.cli", *self.command],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(
            lambda: self.ready in self.log.read_text()[offset:] or self.exited(),
            timeout=30,
            what=f"{self.command[0]} to start",
        )
        if self.exited():
            pytest.fail(f"{self.command[0]} exited early:\n{self.log.read_text()}")

    def exited(self) -> bool:
        """Whether it has stopped."""
        return self.process is not None and self.process.poll() is not None

    def kill(self) -> None:
        """SIGKILL: no goodbye."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def close(self) -> None:
        """Make sure the process is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def output(self) -> str:
        """Everything it logged."""
        return self.log.read_text()


def simulate(broker: Broker, prefix: str, *args: str) -> subprocess.Popen[bytes]:
    """Start ``aquawatch simulate`` against ``broker``; its last stdout line is the summary."""
    env = {
        **os.environ,
        "AQUAWATCH_MQTT_URL": broker.gateway_url,
        "AQUAWATCH_TOPIC_PREFIX": prefix,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "telemetry.cli", "--log-level", "WARNING", "simulate", *args],
        env=env,
        stdout=subprocess.PIPE,
    )


def summary(process: subprocess.Popen[bytes], *, timeout: float) -> dict[str, Any]:
    """Wait for a simulator and return its JSON summary (counts, and its start and end)."""
    out, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, f"simulate failed: {out!r}"
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result
