"""One file inbox process: the FTP server or a watched folder, and the ingester behind it."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from ingest.errors import WorkerDiedError
from ingest.files.ftpd import FtpInbox, FtpOptions, StationAuthorizer, Verify
from ingest.files.ingester import FileCounts, FileIngester
from ingest.files.settings import FileInboxSettings
from ingest.files.spool import Spool
from ingest.files.validation import FileDecoder
from ingest.files.watch import WatchedFolder
from ingest.metrics import IngestMetrics
from ingest.writer import ReadingsWriter
from telemetry import Clock, create_pool

logger = logging.getLogger(__name__)


class FileInbox:
    """Takes Circular 10 files from stations (FTP) or from a folder into the database.

    Args:
        settings: Spool folder, limits, batching.
        clock: What time it is.
        ftp: Serve FTP with these options (the files arrive in the spool's ``incoming``).
        verify: Checks station secrets (FTP only).
        watch: Take files from this folder instead, as another daemon leaves them.
        settle_s: How long a watched file must stay unchanged.
    """

    def __init__(
        self,
        settings: FileInboxSettings,
        *,
        clock: Clock,
        ftp: FtpOptions | None = None,
        verify: Verify | None = None,
        watch: Path | None = None,
        settle_s: float = 10.0,
    ) -> None:
        self.spool = Spool(settings.spool_dir)
        self.spool.lock()
        self.wake = threading.Event()
        self._poll_s = settings.poll_interval_s
        self.pool = create_pool(settings.database_url.get_secret_value(), size=3, name="files")
        source = (
            WatchedFolder(watch, settle_s=settle_s, clock=clock).complete
            if watch is not None
            else self.spool.waiting
        )
        self.ingester = FileIngester(
            self.pool,
            writer=ReadingsWriter(
                self.pool,
                metrics=IngestMetrics(lambda: 0),
                station_refresh_s=10,
                reject_raw_max_bytes=settings.reject_raw_max_bytes,
                clock=clock,
            ),
            spool=self.spool,
            source=source,
            decoder=FileDecoder(
                max_file_bytes=settings.max_file_bytes,
                future_tolerance_s=settings.future_tolerance_s,
            ),
            clock=clock,
            batch_max_files=settings.batch_max_files,
            retry_max_s=settings.retry_max_s,
            reject_raw_max_bytes=settings.reject_raw_max_bytes,
            ledger_retention_days=settings.ledger_retention_days,
        )
        self.server: FtpInbox | None = None
        if ftp is not None:
            if verify is None:
                msg = "an FTP inbox needs a way to verify station secrets"
                raise ValueError(msg)
            authorizer = StationAuthorizer(self.pool, spool=self.spool, verify=verify)
            self.server = FtpInbox(ftp, authorizer=authorizer, spool=self.spool, wake=self.wake)

    def run(self, stop: threading.Event) -> FileCounts:
        """Serve and ingest until ``stop`` is set; return what was done."""
        self.pool.open(wait=False)
        threads = [
            threading.Thread(
                target=self.ingester.run,
                args=(stop, self.wake),
                kwargs={"poll_s": self._poll_s},
                name="files",
            )
        ]
        if self.server is not None:
            threads.append(threading.Thread(target=self.server.serve, args=(stop,), name="ftpd"))
        for thread in threads:
            thread.start()
        try:
            while not stop.wait(1.0):
                dead = [t.name for t in threads if not t.is_alive()]
                if dead:
                    logger.critical("%s thread died; stopping", ", ".join(dead))
                    raise WorkerDiedError(dead)
        finally:
            stop.set()
            self.wake.set()
            for thread in threads:
                thread.join(timeout=30)
            self.pool.close()
            self.spool.unlock()
        return self.ingester.counts
