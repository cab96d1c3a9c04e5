"""Deprecated import path: use ``alerts.detectors.silence``.

Kept only until its last importers switch (alerts.notify.messages).
"""

from alerts.detectors.silence import RULE

__all__ = ["RULE"]
