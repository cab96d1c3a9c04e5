"""Errors the alert engine raises on purpose (``alerts.notify`` has its own)."""

from __future__ import annotations

from telemetry import AquaWatchError, ConfigError


class AlertError(AquaWatchError):
    """An alert action is not possible (unknown alert, already resolved)."""


class AlertNotOpenError(AlertError):
    """No such alert in a state that allows the action.

    Attributes:
        alert_id: The alert asked for.
    """

    def __init__(self, alert_id: int) -> None:
        self.alert_id = alert_id
        msg = f"alert {alert_id} is not open"
        super().__init__(msg)


class AlertConfigError(ConfigError):
    """A configuration file of the alert engine is wrong; each problem names its field.

    Attributes:
        problems: What is wrong, one line each.
    """

    def __init__(self, heading: str, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{heading}:\n{lines}")


class ProfileError(AlertConfigError):
    """The threshold profiles are wrong; each problem names the file and the field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid threshold profiles", problems)


class QualityConfigError(AlertConfigError):
    """The quality file is wrong; the message names the file, each field and the problem.

    Attributes:
        path: The file.
    """

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        super().__init__(f"{path}: invalid quality configuration", problems)


class BacktestError(AlertError):
    """A backtest cannot run as asked (bad range, input file or options)."""
