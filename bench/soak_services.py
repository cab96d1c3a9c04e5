"""The soak's processes: AquaWatch services it starts, kills, supervises and stops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.network import free_port


class Service:
    """One AquaWatch process, restartable; its log kept across restarts."""

    def __init__(self, role: str, args: list[str], env: dict[str, str], logs: Path) -> None:
        self.role = role
        self.args = args
        self.env = env
        self.log = logs / f"{role}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.held = False  # down on purpose (a fault): not to be restarted by the supervisor

    def exited(self) -> bool:
        """Whether it stopped by itself."""
        return not self.held and self.process is not None and self.process.poll() is not None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "telemetry.cli", *self.args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        """SIGKILL, no goodbye."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, and SIGKILL if that is not enough."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def rss_mb(self) -> float | None:
        if self.process is None or self.process.poll() is not None:
            return None
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return None


def stop_all(services: list[Service]) -> None:
    """SIGTERM to all at once, then wait for each."""
    for service in services:
        if service.process is not None and service.process.poll() is None:
            service.process.send_signal(signal.SIGTERM)
    for service in services:
        service.stop()


def start_services(
    url: str, mqtt_url: str, stations_file: Path, logs: Path, *, settings: dict[str, str]
) -> list[Service]:
    """Two ingest workers, two alert workers, two notifiers (log channel) and the API, started
    and running; ``settings`` are more ``AQUAWATCH_*`` variables for all of them."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AQUAWATCH_")},
        "AQUAWATCH_DATABASE_URL": url,
        "AQUAWATCH_MQTT_URL": mqtt_url,
        "AQUAWATCH_TOPIC_PREFIX": "soak",
        "AQUAWATCH_STATIONS_FILE": str(stations_file),
        "AQUAWATCH_METRICS_PORT": "0",
        "AQUAWATCH_SMS_URL": "log:",
        "AQUAWATCH_POLL_S": "0.5",
        "AQUAWATCH_RETRY_MAX_S": "2",
        **settings,
    }
    services = [
        *(
            Service(f"ingest-{n}", ["ingest"], {**env, "AQUAWATCH_CLIENT_ID": f"soak-{n}"}, logs)
            for n in (1, 2)
        ),
        *(Service(f"alerts-{n}", ["alerts"], env, logs) for n in (1, 2)),
        *(
            Service(f"notify-{n}", ["notify"], {**env, "AQUAWATCH_WORKER_ID": f"n{n}"}, logs)
            for n in (1, 2)
        ),
        Service("api", ["api", "--port", str(free_port())], env, logs),
    ]
    for service in services:
        service.start()
    ready = {"ingest": "subscribed to", "alerts": "stations in", "notify": "notifier on"}
    deadline = time.monotonic() + 60
    for service in services:
        text = ready.get(service.role.split("-")[0])
        while text is not None and text not in service.log.read_text(errors="replace"):
            if time.monotonic() > deadline:
                sys.exit(f"{service.role} did not start:\n{service.log.read_text()}")
            time.sleep(0.1)
    return services
