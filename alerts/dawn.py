"""Deprecated import path: use ``alerts.detectors.dawn``.

Kept only until its last importers switch (alerts.notify.messages).
"""

from alerts.detectors.dawn import RULE

__all__ = ["RULE"]
