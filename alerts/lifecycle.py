"""Deprecated import path: use ``alerts.persistence.lifecycle``.

Kept only until its last importers switch (alerts.notify, tests/alerts/notify).
"""

from alerts.persistence.lifecycle import AlertError, Transition, acknowledge, reconcile

__all__ = ["AlertError", "Transition", "acknowledge", "reconcile"]
