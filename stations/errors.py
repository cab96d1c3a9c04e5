"""Errors of the station registry."""

from __future__ import annotations

from telemetry import AquaWatchError


class RegistryError(AquaWatchError):
    """The registry file is wrong; the message names the file, the field and what was expected."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{path}: invalid station registry:\n{lines}")


class CredentialError(AquaWatchError):
    """A station credential cannot be issued: the station is unknown."""
