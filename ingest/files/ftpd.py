"""The FTP inbox: pyftpdlib serving each station its own folder, FTPS when a certificate is set.

pyftpdlib is a maintained FTP/FTPS server library (RFC 959, 2228, 2389, 2428, 3659) that runs
inside this process, so logins are checked against the station credentials in the database and
a finished upload is handed to the spool before the client hears ``226``: a station that was
told its file arrived can rely on it, whatever happens next.

A station logs in as its id with the secret ``aquawatch stations credentials issue`` printed,
and sees and writes only ``incoming/<station>/`` (flat or in folders such as ``YYYY/MM/DD/``).
A file is taken when its upload closes under a final name, or when it is renamed from a
temporary one (``*.tmp``, ``*.part``, a leading dot...); one cut off by a reset connection is
not taken. An upload larger than ``max_upload_bytes`` is cut off and dropped (``552``).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import psycopg
from OpenSSL import SSL
from psycopg_pool import ConnectionPool
from pyftpdlib.authorizers import AuthenticationFailed
from pyftpdlib.handlers import DTPHandler, FTPHandler
from pyftpdlib.ioloop import IOLoop
from pyftpdlib.servers import FTPServer

from ingest.files.spool import Spool, is_temporary
from telemetry import STATION_ID_RE

logger = logging.getLogger(__name__)

# e: cd, l: list, r: download, a: append, d: delete, f: rename, m: mkdir, w: upload.
PERMISSIONS: Final = "elradfmw"
_DATABASE_WAIT_S: Final = 2.0

Verify = Callable[[Any, str, str], bool]
"""``verify(conn, station_id, secret)``: whether the secret is the station's (constant time)."""


class StationAuthorizer:
    """pyftpdlib's authorizer interface over the station credentials in the database.

    Args:
        pool: Database connections.
        spool: Where the stations' folders are.
        verify: Checks a station's secret (every login: a rotated or revoked secret is refused
            at once; the hash costs about a millisecond).
    """

    def __init__(self, pool: ConnectionPool, *, spool: Spool, verify: Verify) -> None:
        self._pool = pool
        self._spool = spool
        self._verify = verify

    def validate_authentication(self, username: str, password: str, handler: object) -> None:
        """Accept a registered, active station with its current secret; else raise.

        Raises:
            AuthenticationFailed: Unknown, inactive or revoked station, or a wrong secret.
        """
        if not STATION_ID_RE.fullmatch(username):
            raise AuthenticationFailed("Authentication failed.")
        try:  # the server's one thread waits here: not for long
            with self._pool.connection(timeout=_DATABASE_WAIT_S) as conn:
                active = conn.execute(
                    "SELECT 1 FROM stations WHERE id = %s AND active", (username,)
                ).fetchone()
                ok = active is not None and self._verify(conn, username, password)
        except psycopg.OperationalError as exc:  # PoolTimeout is one
            logger.warning("cannot check %r's login: database unavailable (%s)", username, exc)
            raise AuthenticationFailed("Cannot check logins now; try again later.") from exc
        if not ok:
            logger.info("FTP login refused for %r", username)
            raise AuthenticationFailed("Authentication failed.")

    def get_home_dir(self, username: str) -> str:
        """The station's own folder."""
        return str(self._spool.home(username))

    def has_user(self, username: str) -> bool:
        """Whether ``username`` could be a station."""
        return STATION_ID_RE.fullmatch(username) is not None

    def has_perm(self, username: str, perm: str, path: str | None = None) -> bool:
        """Stations may do ``PERMISSIONS`` inside their own folder only."""
        if perm not in PERMISSIONS:
            return False
        if path is None:
            return True
        home = os.path.realpath(self._spool.incoming / username)
        real = os.path.realpath(path)
        return real == home or real.startswith(home + os.sep)

    def get_perms(self, username: str) -> str:
        """Every station has the same rights in its folder."""
        return PERMISSIONS

    def get_msg_login(self, username: str) -> str:
        """Greeting after login."""
        return f"Xin chào {username} / welcome {username}"

    def get_msg_quit(self, username: str) -> str:
        """Goodbye."""
        return "Tạm biệt / goodbye"

    def impersonate_user(self, username: str, password: str) -> None:
        """Files are written as the inbox's own user."""

    def terminate_impersonation(self, username: str) -> None:
        """Nothing to undo."""


class _ResetAware(DTPHandler):  # type: ignore[misc]  # pyftpdlib has no types
    """Data channel that tells a reset connection from the end of an upload.

    It sits right above pyftpdlib's ``DTPHandler`` in the class order, so both the plain
    ``recv`` and the TLS layer's reach it when they close the channel.
    """

    def handle_close(self) -> None:
        # pyftpdlib reads a reset connection as the end of the file. Called while that error
        # is being handled, this sees it: the upload was cut. A clean end is an upload closed:
        # FIN, TLS close_notify, or FIN without close_notify (many loggers' TLS stacks skip it;
        # vsftpd accepts that too).
        channel: Any = self
        if channel.receive and _was_reset(sys.exc_info()[1]):
            if not channel._closed:
                channel.transfer_finished = False
                channel._resp = ("426 Connection lost; transfer aborted.", logger.info)
                channel.close()
            return
        super().handle_close()


class _TakeOnClose:
    """Data-channel mixin: a finished upload goes to the spool before ``226`` is answered."""

    max_upload_bytes: int = 1 << 20

    def handle_read_event(self) -> None:  # what the loop calls (TLS wraps it)
        channel: Any = self
        super().handle_read_event()  # type: ignore[misc]
        if channel.tot_bytes_received > self.max_upload_bytes and not channel._closed:
            channel._resp = ("552 Exceeded storage allocation; upload dropped.", logger.info)
            channel.transfer_finished = False
            channel.close()
            channel.cmd_channel.drop_upload(channel.file_obj.name)

    def close(self) -> None:
        channel: Any = self
        if (
            not channel._closed
            and channel.receive
            and channel.transfer_finished
            and channel.file_obj is not None
            and not channel.file_obj.closed
        ):
            channel.file_obj.close()
            try:
                channel.cmd_channel.take_upload(channel.file_obj.name)
            except OSError:
                logger.exception("could not take %s", channel.file_obj.name)
                channel._resp = (
                    "451 Local error: the file was not taken; send it again.",
                    logger.warning,
                )
                channel.transfer_finished = False
        super().close()  # type: ignore[misc]


class _InboxHandler(FTPHandler):  # type: ignore[misc]  # pyftpdlib has no types
    """A station's control connection."""

    spool: Spool
    wake: threading.Event
    permit_foreign_addresses = False
    use_sendfile = False

    def take_upload(self, path: str) -> None:
        """Take a finished upload unless its name is a temporary one."""
        if not is_temporary(path):
            self.spool.take(Path(path), self.username)
            self.wake.set()

    def drop_upload(self, path: str) -> None:
        """Delete an upload that was cut off."""
        Path(path).unlink(missing_ok=True)

    def on_file_received(self, file: str) -> None:
        """Taken already, in the data channel, before ``226``."""

    def ftp_RNTO(self, path: str) -> Any:  # noqa: N802 (pyftpdlib's command method name)
        """Rename; a file renamed to a final name is taken before ``250``."""
        source: str | None = getattr(self, "_rnfr", None)
        if not source:
            self.respond("503 Bad sequence of commands: use RNFR first.")
            return None
        self._rnfr = None
        try:
            self.run_as_current_user(self.fs.rename, source, path)
            if os.path.isfile(path) and not os.path.islink(path):
                self.take_upload(path)
        except OSError as exc:
            self.respond(f"550 {exc.strerror or 'rename failed'}.")
            return None
        self.respond("250 Renaming ok.")
        return (source, path)


def _was_reset(error: BaseException | None) -> bool:
    """Whether ``error`` is a connection reset (plain: OSError; TLS: a system call error)."""
    if isinstance(error, SSL.SysCallError):
        return bool(error.args) and isinstance(error.args[0], int) and error.args[0] > 0
    return isinstance(error, OSError)


def _data_channel(tls: type | None) -> type:
    """The data channel class: plain, or TLS with the reset check still below the TLS layer."""
    if tls is None:
        return type("InboxDTPHandler", (_TakeOnClose, _ResetAware), {})
    return type("InboxTLS_DTPHandler", (_TakeOnClose, tls, _ResetAware), {})


@dataclass(frozen=True, slots=True, kw_only=True)
class FtpOptions:
    """How the inbox listens.

    Attributes:
        host: Address to listen on.
        port: Port (0: any free one).
        passive_ports: Range for passive data connections (None: any).
        masquerade_address: Address told to clients in PASV answers (behind NAT).
        certfile: PEM certificate (and key, unless ``keyfile``): FTPS is offered.
        keyfile: PEM private key.
        tls_required: Refuse logins and transfers that are not encrypted.
        max_upload_bytes: Uploads growing past this are cut off.
        max_connections: Connections at once.
        max_connections_per_ip: Connections at once from one address.
        login_failure_delay_s: How long a refused login waits before its answer (slows
            guessing; three refusals close the connection).
    """

    host: str
    port: int
    passive_ports: range | None = None
    masquerade_address: str | None = None
    certfile: Path | None = None
    keyfile: Path | None = None
    tls_required: bool = False
    max_upload_bytes: int = 1 << 20
    max_connections: int = 256
    max_connections_per_ip: int = 32
    login_failure_delay_s: float = 3.0


class FtpInbox:
    """The FTP server, run by :meth:`serve` in a thread of its own.

    Args:
        options: How it listens.
        authorizer: Who may log in.
        spool: Where uploads go.
        wake: Set when a file was taken, to wake the ingester.
    """

    def __init__(
        self,
        options: FtpOptions,
        *,
        authorizer: StationAuthorizer,
        spool: Spool,
        wake: threading.Event,
    ) -> None:
        attributes: dict[str, Any] = {
            "authorizer": authorizer,
            "spool": spool,
            "wake": wake,
            "banner": "AquaWatch FTP inbox (Circular 10/2021)",
            "passive_ports": options.passive_ports,
            "masquerade_address": options.masquerade_address,
            "auth_failed_timeout": options.login_failure_delay_s,
        }
        if options.certfile is not None:
            from pyftpdlib.handlers import TLS_DTPHandler, TLS_FTPHandler  # needs pyOpenSSL

            bases: tuple[type, ...] = (_InboxHandler, TLS_FTPHandler)
            dtp = _data_channel(TLS_DTPHandler)
            attributes |= {
                "certfile": str(options.certfile),
                "keyfile": str(options.keyfile or options.certfile),
                "tls_control_required": options.tls_required,
                "tls_data_required": options.tls_required,
            }
        else:
            bases = (_InboxHandler,)
            dtp = _data_channel(None)
        dtp.max_upload_bytes = options.max_upload_bytes  # type: ignore[attr-defined]
        attributes["dtp_handler"] = dtp
        handler = type("StationFtpHandler", bases, attributes)
        self.tls = options.certfile is not None
        self._server = FTPServer((options.host, options.port), handler, ioloop=IOLoop())
        self._server.max_cons = options.max_connections
        self._server.max_cons_per_ip = options.max_connections_per_ip

    @property
    def address(self) -> tuple[str, int]:
        """Where it listens (the port is the real one when 0 was asked)."""
        host, port = self._server.socket.getsockname()[:2]
        return str(host), int(port)

    def serve(self, stop: threading.Event) -> None:
        """Answer clients until ``stop`` is set, then close every connection."""
        try:
            while not stop.is_set():
                self._server.ioloop.loop(timeout=0.2, blocking=False)
        finally:
            self._server.close_all()
