"""Where Circular 10 files wait, and where they go once their readings are committed.

One folder tree per inbox (``AQUAWATCH_SPOOL_DIR``)::

    incoming/<station>/...      the stations' FTP folders (flat or YYYY/MM/DD/)
    ready/<station>/<name>~<id> complete uploads, waiting for the database
    archive/<station>/YYYY/MM/DD/<name>
    quarantine/<station>/<name>~<id> and <name>~<id>.reason

A file moves by ``rename`` only, so at every instant it is in exactly one place; it leaves
``ready`` (or a watched folder) only after the transaction holding its readings or its reject
committed. ``.lock`` keeps a second process off the same tree.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final
from urllib.parse import quote, unquote

from ingest.errors import SpoolError
from telemetry import STATION_ID_RE

# Names loggers and FTP clients upload under before renaming to the final name.
_TEMPORARY: Final = re.compile(
    r"^\.|\.(?:tmp|temp|part|partial|filepart|upload|uploading)$", re.IGNORECASE
)
_STAMP: Final = re.compile(r"_(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})\d{6}\.txt$", re.IGNORECASE)
_SUFFIX: Final = "~"
_MAX_FLAT: Final = 200  # a file name may have 255 bytes; the suffix needs 13


def is_temporary(name: str) -> bool:
    """Whether ``name`` is a temporary upload name, to be renamed before it is taken."""
    return _TEMPORARY.search(PurePosixPath(name).name) is not None


@dataclass(frozen=True, slots=True)
class SpoolFile:
    """A complete file waiting to be taken.

    Attributes:
        path: Where it is now.
        station_id: The account (folder) it was uploaded by.
        name: Its name as uploaded, with the folders under the station's folder.
    """

    path: Path
    station_id: str
    name: str

    @property
    def basename(self) -> str:
        """The file's own name."""
        return self.name.rsplit("/", 1)[-1]


class Spool:
    """The inbox's folder tree.

    Args:
        root: The tree's top folder; created if missing.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.incoming = root / "incoming"
        self.ready = root / "ready"
        self.archive = root / "archive"
        self.quarantine = root / "quarantine"
        for folder in (self.incoming, self.ready, self.archive, self.quarantine):
            folder.mkdir(parents=True, exist_ok=True)
        self._lock_fd: int | None = None

    def lock(self) -> None:
        """Hold the tree for this process.

        Raises:
            SpoolError: Another process holds it.
        """
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                msg = f"{self.root} is in use by another aquawatch process"
                raise SpoolError(msg) from exc
            raise
        self._lock_fd = fd

    def unlock(self) -> None:
        """Let the tree go."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def home(self, station_id: str) -> Path:
        """The station's FTP folder, created if missing."""
        folder = self.incoming / station_id
        folder.mkdir(exist_ok=True)
        return folder

    def take(self, path: Path, station_id: str) -> None:
        """Move a complete upload from the station's folder to ``ready`` (one rename)."""
        relative = path.relative_to(self.incoming / station_id).as_posix()
        folder = self.ready / station_id
        folder.mkdir(exist_ok=True)
        # The folders it was uploaded in are kept in the name, quoted (``/`` cannot occur in one).
        flat = quote(relative, safe="")
        if len(flat) > _MAX_FLAT:
            flat = quote(path.name, safe="")[:_MAX_FLAT]
        os.rename(path, folder / f"{flat}{_SUFFIX}{uuid.uuid4().hex[:12]}")

    def waiting(self) -> list[SpoolFile]:
        """The files in ``ready``, oldest sampling instant first."""
        found: list[SpoolFile] = []
        for station in sorted(os.listdir(self.ready)):
            if not STATION_ID_RE.fullmatch(station):
                continue
            for entry in os.scandir(self.ready / station):
                if entry.is_file(follow_symlinks=False):
                    name = unquote(entry.name.rsplit(_SUFFIX, 1)[0])
                    found.append(SpoolFile(Path(entry.path), station, name))
        found.sort(key=lambda f: (f.basename, f.station_id, f.path.name))
        return found

    def archive_file(self, item: SpoolFile, *, again: bool = False) -> Path:
        """Move a file whose readings are committed to the archive; return where it went.

        A file the ledger knew (``again``: the same name and bytes) replaces its archived copy;
        another file of the same name (a corrected one) is kept beside it.
        """
        match = _STAMP.search(item.basename)
        folder = self.archive / item.station_id
        if match:
            folder = folder / match["y"] / match["m"] / match["d"]
        return _move(item.path, folder, _safe_name(item.basename), replace=again)

    def quarantine_file(self, item: SpoolFile, reason: str) -> Path:
        """Move a rejected file to quarantine with a ``.reason`` file beside it."""
        folder = self.quarantine / item.station_id
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{_safe_name(item.basename)}{_SUFFIX}{uuid.uuid4().hex[:12]}"
        (folder / f"{name}.reason").write_text(f"{item.name}\n{reason}\n", "utf-8")
        return _move(item.path, folder, name)


def _safe_name(name: str) -> str:
    """A name that stays inside its folder (the inbox never writes a name it did not make)."""
    cleaned = name.replace("/", "_").replace("\x00", "_")
    return cleaned if cleaned not in ("", ".", "..") else "_"


def _move(source: Path, folder: Path, name: str, *, replace: bool = False) -> Path:
    """Rename ``source`` into ``folder``; another filesystem (a watched folder) is copied."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if target.exists() and not replace:
        target = folder / f"{name}{_SUFFIX}{uuid.uuid4().hex[:12]}"
    try:
        os.rename(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.copy2(source, target)
        source.unlink()
    return target
