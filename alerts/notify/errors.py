"""Errors of the SMS notifier."""

from __future__ import annotations

from telemetry import AquaWatchError


class NotifyError(AquaWatchError):
    """Base of the notifier's errors."""


class PhoneError(NotifyError):
    """A phone number is not a Vietnamese mobile number.

    Attributes:
        number: The number as given.
    """

    def __init__(self, number: str, reason: str) -> None:
        self.number = number
        msg = f"{number!r} is not a Vietnamese mobile number: {reason}"
        super().__init__(msg)


class SubscriberError(NotifyError):
    """A subscriber cannot be added, found or changed."""


class UnknownStationsError(NotifyError):
    """A subscriber would follow stations that are not in the registry.

    Attributes:
        stations: The unknown station ids.
    """

    def __init__(self, stations: list[str]) -> None:
        self.stations = stations
        msg = f"no such station: {', '.join(stations)}"
        super().__init__(msg)


class ChannelError(NotifyError):
    """The SMS channel URL is not usable."""
