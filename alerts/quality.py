"""Deprecated import path: use ``alerts.config.quality``.

Kept only until its last importers switch (bench/alerts.py).
"""

from alerts.config.quality import load_quality_config

__all__ = ["load_quality_config"]
