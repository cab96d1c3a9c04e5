"""A folder another FTP daemon writes into: ``<DIR>/<station>/...``, taken when complete.

Another daemon does not tell us when an upload ends, so a file is taken once its name is final
(not a temporary upload name) and it has not changed for ``settle_s`` seconds; loggers that
upload under a temporary name and rename it give the exact moment. A file taken too early
because its upload stalled longer than that is judged like any other: a cut line makes it a
reject, and the logger's complete copy, sent again, is stored then, without duplicates.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ingest.files.spool import SpoolFile, is_temporary
from telemetry import STATION_ID_RE, Clock


class WatchedFolder:
    """The complete files under ``root``, one folder per station.

    Args:
        root: The daemon's upload folder.
        settle_s: How long a file must stay unchanged before it is taken.
        clock: What time it is (compared with the files' modification times).
    """

    def __init__(self, root: Path, *, settle_s: float, clock: Clock) -> None:
        self.root = root
        self._settle_s = settle_s
        self._clock = clock

    def complete(self) -> list[SpoolFile]:
        """The complete files, oldest sampling instant first."""
        found: list[SpoolFile] = []
        settled_before = self._clock.time() - self._settle_s
        for station in sorted(os.listdir(self.root)):
            top = self.root / station
            if not STATION_ID_RE.fullmatch(station) or not top.is_dir() or top.is_symlink():
                continue
            for folder, dirs, names in os.walk(top):  # does not follow links
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                for name in names:
                    path = Path(folder, name)
                    if is_temporary(name):
                        continue
                    try:
                        info = path.lstat()
                    except FileNotFoundError:
                        continue
                    if stat.S_ISREG(info.st_mode) and info.st_mtime <= settled_before:
                        found.append(SpoolFile(path, station, path.relative_to(top).as_posix()))
        found.sort(key=lambda f: (f.basename, f.station_id, f.name))
        return found
