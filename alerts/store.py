"""Deprecated import path: use ``alerts.persistence.store``.

Kept only until its last importers switch (tests/viz, tests/alerts/notify).
"""

from alerts.persistence.store import sync_profiles

__all__ = ["sync_profiles"]
