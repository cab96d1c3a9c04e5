"""Circular 10/2021 files into the database: the FTP inbox and a watched folder."""

from ingest.files.ftpd import FtpInbox, FtpOptions, StationAuthorizer
from ingest.files.inbox import FileInbox
from ingest.files.ingester import FileCounts, FileIngester
from ingest.files.settings import FileInboxSettings, FtpSettings, WatchSettings
from ingest.files.spool import Spool, SpoolFile, is_temporary
from ingest.files.validation import FileDecoder
from ingest.files.watch import WatchedFolder

__all__ = [
    "FileCounts",
    "FileDecoder",
    "FileInbox",
    "FileInboxSettings",
    "FileIngester",
    "FtpInbox",
    "FtpOptions",
    "FtpSettings",
    "Spool",
    "SpoolFile",
    "StationAuthorizer",
    "WatchSettings",
    "WatchedFolder",
    "is_temporary",
]
