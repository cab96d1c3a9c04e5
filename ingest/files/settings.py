"""Settings of the file inbox (``aquawatch ftp``, ``aquawatch files --watch``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from telemetry import CommonSettings


class FileInboxSettings(CommonSettings):
    """Where files wait, how they are judged and batched."""

    spool_dir: Path = Field(
        default=Path("aquawatch-files"),
        description="folder of the inbox: incoming/, ready/, archive/, quarantine/",
    )
    max_file_bytes: int = Field(
        default=65_536, ge=256, description="larger files are rejected (payload_too_large)"
    )
    future_tolerance_s: float = Field(
        default=300, ge=0, description="files dated further ahead than this are rejected"
    )
    batch_max_files: int = Field(default=500, ge=1, description="files per transaction")
    poll_interval_s: float = Field(
        default=1.0, gt=0, description="how often waiting files are looked for"
    )
    retry_max_s: float = Field(
        default=30, gt=0, description="longest wait between database retries"
    )
    reject_raw_max_bytes: int = Field(
        default=4096, ge=0, description="bytes of a rejected file kept in rejects"
    )
    ledger_retention_days: int = Field(
        default=90, ge=1, description="how long inbox_files remembers each file taken"
    )


class FtpSettings(FileInboxSettings):
    """The FTP inbox: where it listens, FTPS, limits."""

    ftp_host: str = Field(default="127.0.0.1", description="address the FTP inbox listens on")
    ftp_port: int = Field(default=2121, ge=0, le=65_535, description="FTP port (0: any free one)")
    ftp_passive_ports: str = Field(
        default="", description="passive data ports as FIRST-LAST (empty: any)"
    )
    ftp_masquerade_address: str = Field(
        default="", description="address given in passive replies when behind NAT"
    )
    ftp_certfile: Path | None = Field(
        default=None, description="PEM certificate (and key): offers FTPS (AUTH TLS)"
    )
    ftp_keyfile: Path | None = Field(default=None, description="PEM private key, if separate")
    ftp_tls_required: bool = Field(
        default=False, description="refuse logins and transfers that are not encrypted"
    )
    ftp_login_failure_delay_s: float = Field(
        default=3, ge=0, description="a refused login is answered after this long (slows guessing)"
    )
    ftp_max_upload_bytes: int = Field(
        default=1 << 20, ge=1024, description="uploads growing past this are cut off and dropped"
    )

    def passive_range(self) -> range | None:
        """``ftp_passive_ports`` as a range."""
        if not self.ftp_passive_ports:
            return None
        first, _, last = self.ftp_passive_ports.partition("-")
        return range(int(first), int(last or first) + 1)


class WatchSettings(FileInboxSettings):
    """A folder another FTP daemon writes into."""

    settle_s: float = Field(
        default=10, ge=0, description="a file unchanged this long counts as complete"
    )
