"""Colours of QC flags, alert severities and station states, shared by every page."""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from alerts import Severity
from telemetry import QCFlag

__all__ = ["DISCONNECTED", "NORMAL", "ONLINE", "QC_COLOURS", "SEVERITY_COLOURS", "hex_rgb"]

QC_COLOURS: Final = MappingProxyType(
    {
        QCFlag.GOOD: "#1a9641",
        QCFlag.UNKNOWN: "#4575b4",
        QCFlag.SUSPECT: "#fdae61",
        QCFlag.FAIL: "#d7191c",
        QCFlag.MISSING: "#9e9e9e",
    }
)
"""Colour of each QARTOD flag (points, value tiles, map outlines)."""

SEVERITY_COLOURS: Final = MappingProxyType(
    {
        Severity.ADVISORY: "#f2d600",
        Severity.WARNING: "#ff7e00",
        Severity.CRITICAL: "#e60000",
    }
)
"""Colour of the worst open alert (map markers, alert rows, value tiles)."""

NORMAL: Final = "#00b050"
"""A station without open alerts (officers' map)."""
ONLINE: Final = "#2b8cbe"
"""A station sending fresh data, alerts not shown (the map before login): not "calm"."""
DISCONNECTED: Final = "#7f7f7f"


def hex_rgb(rgb: tuple[int, int, int]) -> str:
    """``(r, g, b)`` as ``#rrggbb``."""
    return "#{:02x}{:02x}{:02x}".format(*rgb)
