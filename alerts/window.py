"""Deprecated import path: use ``alerts.kernels.window``.

Kept only until its last importers switch (bench/alerts.py).
"""

from alerts.kernels.window import Batch

__all__ = ["Batch"]
