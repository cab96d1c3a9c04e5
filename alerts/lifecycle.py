"""Deprecated import path: use ``alerts.persistence.lifecycle``.

Kept only until its last importers switch (alerts.notify, tests/alerts/notify).
"""

from alerts.errors import AlertError
from alerts.persistence.lifecycle import Transition, acknowledge, reconcile

__all__ = ["AlertError", "Transition", "acknowledge", "reconcile"]
