"""Simulated stations as Circular 10/2021 data loggers: a file per sampling instant, by FTP.

Each station logs in to the FTP inbox as itself and uploads ``<CODE>_<YYYYMMDDhhmmss>.txt``
under a temporary name, renamed when complete, as loggers do. A logger keeps what it could not
send (the circular asks for 60 days) and, when the link returns, uploads its backlog oldest
first. A message of the simulation counts as acknowledged once every file made from it was
uploaded (status messages have no file counterpart and count at once).
"""

from __future__ import annotations

import ftplib
import logging
import ssl
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import urlsplit

from simulators.errors import PublisherError
from simulators.runner import Outgoing
from stations import Station
from telemetry import Circular10File, Circular10Line, decode_readings, encode_file

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Pending:
    """A message whose files are not all uploaded yet."""

    message: Outgoing
    on_ack: Callable[[Outgoing], None]
    files: int


@dataclass(slots=True)
class _Logger:
    """One station's logger: its login, connection and the files it still holds."""

    station: Station
    secret: str
    queue: deque[tuple[str, bytes, _Pending]] = field(default_factory=deque)
    ftp: ftplib.FTP | None = None
    retry_at: float = 0.0
    delay_s: float = 1.0


class FtpLoggers:
    """Every simulated station as an FTP-pushing Circular 10 logger (a simulation sink).

    Args:
        url: The inbox, ``ftp://host:port`` or ``ftps://host:port`` (explicit TLS).
        stations: The simulated stations.
        secrets: Each station's secret, by id.
        timeout_s: Socket timeout.
        retry_max_s: Longest wait between tries while the inbox is unreachable.
    """

    def __init__(
        self,
        url: str,
        stations: list[Station],
        secrets: Mapping[str, str],
        *,
        timeout_s: float = 10.0,
        retry_max_s: float = 60.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("ftp", "ftps") or not parts.hostname:
            msg = f"expected ftp://host:port or ftps://host:port, got {parts.scheme}://..."
            raise PublisherError(msg)
        self._host = parts.hostname
        self._port = parts.port or 21
        self._tls = parts.scheme == "ftps"
        self._timeout_s = timeout_s
        self._retry_max_s = retry_max_s
        self._loggers = {s.id: _Logger(s, secrets[s.id]) for s in stations}
        self.refused = 0

    def __enter__(self) -> FtpLoggers:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for station in self._loggers.values():
            self._hang_up(station)

    def send(self, message: Outgoing, on_ack: Callable[[Outgoing], None]) -> None:
        """Keep the message's files in its station's logger and upload what the link allows."""
        if not message.samples:  # a status message: loggers have none to send
            on_ack(message)
            return
        station = self._loggers[message.station]
        doc = decode_readings(message.payload)
        pending = _Pending(message, on_ack, len(doc.samples))
        for sample in doc.samples:
            lines = tuple(
                Circular10Line(code, value, sample.status.get(code, 0))
                for code, value in sample.values.items()
            )
            name, content = encode_file(Circular10File(station.station.code, sample.time, lines))
            station.queue.append((name, content, pending))
        self._flush(station, patient=False)

    def drain(self, timeout_s: float) -> bool:
        """Upload every file still held, for up to ``timeout_s``; return whether all went."""
        deadline = time.monotonic() + timeout_s
        while True:
            for station in self._loggers.values():
                self._flush(station, patient=True)
            if not self.unacknowledged or time.monotonic() >= deadline:
                return not self.unacknowledged
            time.sleep(0.2)

    @property
    def unacknowledged(self) -> int:
        """Files still held by the loggers."""
        return sum(len(s.queue) for s in self._loggers.values())

    def _flush(self, station: _Logger, *, patient: bool) -> None:
        """Upload the station's files oldest first; on failure keep them and back off."""
        now = time.monotonic()
        if station.retry_at > now and not patient:
            return
        while station.queue:
            name, content, pending = station.queue[0]
            try:
                ftp = station.ftp or self._connect(station)
                with ftp.transfercmd(f"STOR {name}.tmp") as conn:
                    conn.sendall(content)
                    if isinstance(conn, ssl.SSLSocket):
                        conn.unwrap()
                ftp.voidresp()
                ftp.rename(f"{name}.tmp", name)
            except ftplib.error_perm as exc:
                self.refused += 1
                logger.warning("%s: the inbox refused %s: %s", station.station.id, name, exc)
                station.queue.popleft()  # a logger gives up on a file the server refuses
                self._done(pending)
                continue
            except (OSError, EOFError, ftplib.Error) as exc:
                self._hang_up(station)
                station.retry_at = time.monotonic() + station.delay_s
                logger.info(
                    "%s: link down (%s); holding %d files, retry in %.0f s",
                    station.station.id,
                    exc,
                    len(station.queue),
                    station.delay_s,
                )
                station.delay_s = min(station.delay_s * 2, self._retry_max_s)
                return
            station.queue.popleft()
            station.delay_s = 1.0
            self._done(pending)

    @staticmethod
    def _done(pending: _Pending) -> None:
        pending.files -= 1
        if pending.files == 0:
            pending.on_ack(pending.message)

    def _connect(self, station: _Logger) -> ftplib.FTP:
        ftp: ftplib.FTP
        if self._tls:
            ftp = ftplib.FTP_TLS(context=ssl.create_default_context(), timeout=self._timeout_s)
        else:
            ftp = ftplib.FTP(timeout=self._timeout_s)
        try:
            ftp.connect(self._host, self._port)
            ftp.login(station.station.id, station.secret)
            if isinstance(ftp, ftplib.FTP_TLS):
                ftp.prot_p()
            ftp.voidcmd("TYPE I")
        except ftplib.error_perm as exc:  # the login was refused: no point holding files
            ftp.close()
            msg = f"the FTP inbox refused {station.station.id}'s login: {exc}"
            raise PublisherError(msg) from exc
        except (OSError, EOFError, ftplib.Error):
            ftp.close()
            raise
        station.ftp = ftp
        return ftp

    @staticmethod
    def _hang_up(station: _Logger) -> None:
        if station.ftp is not None:
            try:
                station.ftp.quit()
            except (OSError, EOFError, ftplib.Error):
                station.ftp.close()
            station.ftp = None
