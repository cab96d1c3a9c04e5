"""Files that hold secrets or keys: written private to their owner, never through a link."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def write_private(path: Path, text: str, *, owner: str | None = None) -> None:
    """Write ``path`` readable by its owner only (``owner`` when root), never through a link."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    if owner is not None and os.geteuid() == 0:
        shutil.chown(path, owner, owner)
