"""Errors of the ingest workers."""

from __future__ import annotations

from telemetry import AquaWatchError


class IngestError(AquaWatchError):
    """Base of the errors an ingest worker raises."""


class BrokerError(IngestError):
    """The broker could not be reached or refused us."""


class BrokerConfigError(IngestError):
    """The broker's configuration cannot be written (the plugin is missing, say)."""


class WorkerDiedError(IngestError):
    """A thread of the worker died; the worker stopped and should be restarted.

    Attributes:
        threads: The names of the dead threads (``mqtt``, ``maintenance``, ``writer``).
    """

    def __init__(self, threads: list[str]) -> None:
        super().__init__(f"{', '.join(threads)} thread died")
        self.threads = threads


class SpoolError(IngestError):
    """The file inbox's folder cannot be used (another process holds it)."""


class ForwardError(IngestError):
    """A receiver of forwarded files refused or could not be reached; the message says how.

    Attributes:
        unreachable: The receiver could not be reached or refused the login (every station
            waits), rather than one file failing.
    """

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable
