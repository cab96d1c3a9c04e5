"""Deprecated import path: use ``alerts.config.threshold_profiles``.

Kept only until its last importers switch (bench/alerts.py).
"""

from alerts.config.threshold_profiles import load_profiles

__all__ = ["load_profiles"]
