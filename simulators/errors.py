"""Errors of the station simulators."""

from __future__ import annotations

from telemetry import AquaWatchError


class SimulatorError(AquaWatchError):
    """Base of the errors the simulators raise."""


class PublisherError(SimulatorError):
    """The broker cannot be reached, refuses us, or stops acknowledging."""


class ScenarioError(SimulatorError):
    """A scenario file is wrong; the message names the file, the field and what was expected."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{path}: invalid scenario:\n{lines}")
