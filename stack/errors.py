"""Errors of the one-machine stack."""

from __future__ import annotations

from telemetry import AquaWatchError


class StackError(AquaWatchError):
    """A local or embedded service could not be found, installed or started."""
