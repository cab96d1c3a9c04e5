"""Upstream receivers of forwarded files: who they are, and an FTP/FTPS client for them.

A receiver is ``ftp://user@host:port/path`` or ``ftps://...`` (explicit TLS, the data channel
protected too), given on the command line (the password then comes from
``AQUAWATCH_FORWARD_PASSWORD``, never from the command line) or in a YAML file, which may also
say which stations and parameters it gets::

    receivers:
      - name: bo-tnmt                # names the receiver in the forwarding log
        url: ftps://ag-center:SECRET@receiver.example.vn:21/incoming
        stations: [KG-EF-01, KG-EF-02]  # all active stations when left out
        parameters: [cod, tss, ph, flow]  # all when left out

Files are uploaded under a temporary name (``<name>.tmp``) and renamed when complete, so a
receiver never takes half a file; ``temporary_suffix: ""`` uploads under the final name.
"""

from __future__ import annotations

import ftplib
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field

from ingest.errors import ForwardError
from telemetry import PARAMETERS, STATION_ID_RE, ConfigError, redact_url, validate_yaml


@dataclass(frozen=True, slots=True, kw_only=True)
class Receiver:
    """One upstream receiving system."""

    name: str
    tls: bool
    host: str
    port: int
    user: str
    password: str
    path: str
    stations: frozenset[str] | None = None
    parameters: frozenset[str] | None = None
    temporary_suffix: str = ".tmp"


def parse_receiver_url(
    url: str, *, name: str | None = None, password: str | None = None
) -> Receiver:
    """Read ``ftp[s]://user[:password]@host[:port]/path``.

    Raises:
        ConfigError: Not an ftp or ftps URL, or no user.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("ftp", "ftps") or not parts.hostname:
        msg = f"{redact_url(url)}: expected ftp://user@host:port/path or ftps://..."
        raise ConfigError(msg)
    if not parts.username:
        msg = f"{redact_url(url)}: the receiver's user name is missing"
        raise ConfigError(msg)
    return Receiver(
        name=name or f"{parts.hostname}:{parts.port or 21}{parts.path or '/'}",
        tls=parts.scheme == "ftps",
        host=parts.hostname,
        port=parts.port or 21,
        user=unquote(parts.username),
        password=unquote(parts.password) if parts.password is not None else password or "",
        path=parts.path or "/",
    )


class _ReceiverEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    url: str
    stations: tuple[str, ...] | None = None
    parameters: tuple[str, ...] | None = None
    temporary_suffix: str = ".tmp"


class _ReceiversFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    receivers: tuple[_ReceiverEntry, ...] = Field(min_length=1)


def load_receivers(path: Path) -> list[Receiver]:
    """Read a receivers file.

    Raises:
        ConfigError: The file is missing, invalid, or names unknown stations codes or parameters.
    """
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        msg = f"{path}: cannot read the file: {exc.strerror}"
        raise ConfigError(msg) from exc
    parsed, problems = validate_yaml(text, _ReceiversFile)
    if parsed is None:
        raise ConfigError(f"{path}: " + "; ".join(problems))
    receivers = []
    for entry in parsed.receivers:
        unknown = [p for p in entry.parameters or () if p not in PARAMETERS]
        bad = [s for s in entry.stations or () if not STATION_ID_RE.fullmatch(s)]
        if unknown or bad:
            msg = f"{path}: receiver {entry.name}: unknown parameters {unknown} or bad ids {bad}"
            raise ConfigError(msg)
        receiver = parse_receiver_url(entry.url, name=entry.name)
        receivers.append(
            Receiver(
                name=receiver.name,
                tls=receiver.tls,
                host=receiver.host,
                port=receiver.port,
                user=receiver.user,
                password=receiver.password,
                path=receiver.path,
                stations=frozenset(entry.stations) if entry.stations is not None else None,
                parameters=frozenset(entry.parameters) if entry.parameters is not None else None,
                temporary_suffix=entry.temporary_suffix,
            )
        )
    names = [r.name for r in receivers]
    if len(set(names)) != len(names):
        msg = f"{path}: receiver names must be unique"
        raise ConfigError(msg)
    return receivers


class Upload:
    """A logged-in connection to one receiver, in its folder.

    Args:
        receiver: Where to.
        timeout_s: Socket timeout.
        ca_file: Certificates to trust for FTPS (default: the system's).

    Raises:
        ForwardError: The receiver cannot be reached or refused the login or the folder.
    """

    def __init__(self, receiver: Receiver, *, timeout_s: float, ca_file: Path | None) -> None:
        self.receiver = receiver
        ftp: ftplib.FTP
        if receiver.tls:
            context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
            ftp = ftplib.FTP_TLS(context=context, timeout=timeout_s)
        else:
            ftp = ftplib.FTP(timeout=timeout_s)
        self._ftp = ftp
        try:
            ftp.connect(receiver.host, receiver.port)
            ftp.login(receiver.user, receiver.password)
            if isinstance(ftp, ftplib.FTP_TLS):
                ftp.prot_p()
            ftp.voidcmd("TYPE I")
            self._enter(receiver.path)
        except (OSError, EOFError, ftplib.Error) as exc:
            ftp.close()
            raise _failed(receiver, "connecting", exc, unreachable=True) from exc

    def _enter(self, path: str) -> None:
        """Change to ``path``, creating the folders that are missing."""
        self._ftp.cwd("/")
        for part in [p for p in path.split("/") if p]:
            try:
                self._ftp.cwd(part)
            except ftplib.error_perm:
                self._ftp.mkd(part)
                self._ftp.cwd(part)

    def size(self, name: str) -> int | None:
        """The size of ``name`` on the receiver, or None when it is not there.

        Raises:
            ForwardError: The connection failed.
        """
        try:
            found = self._ftp.size(name)
        except ftplib.error_perm:
            return None
        except (OSError, EOFError, ftplib.Error) as exc:
            raise _failed(self.receiver, f"asking the size of {name}", exc) from exc
        return int(found) if found is not None else None

    def send(self, name: str, content: bytes) -> None:
        """Upload one file, under a temporary name first when the receiver wants that.

        Raises:
            ForwardError: The upload failed; the receiver may hold part of it.
        """
        suffix = self.receiver.temporary_suffix
        target = f"{name}{suffix}"
        try:
            with self._ftp.transfercmd(f"STOR {target}") as conn:
                conn.sendall(content)
                if isinstance(conn, ssl.SSLSocket):
                    conn.unwrap()  # close_notify: the receiver knows the file is whole
            self._ftp.voidresp()
            if suffix:
                self._ftp.rename(target, name)
        except (OSError, EOFError, ftplib.Error) as exc:
            raise _failed(self.receiver, f"sending {name}", exc) from exc

    def close(self) -> None:
        """Say goodbye, or just drop the connection."""
        try:
            self._ftp.quit()
        except (OSError, EOFError, ftplib.Error):
            self._ftp.close()


def _failed(receiver: Receiver, doing: str, exc: Any, *, unreachable: bool = False) -> ForwardError:
    where = f"{'ftps' if receiver.tls else 'ftp'}://{receiver.host}:{receiver.port}"
    message = f"{where}: {doing} failed: {type(exc).__name__}: {exc}"
    return ForwardError(message, unreachable=unreachable)
