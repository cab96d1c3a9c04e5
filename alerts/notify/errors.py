"""Errors of the SMS notifier.

Messages never hold a phone number (they may be logged; numbers must not be): the number is
an attribute, for the code that handles the error.
"""

from __future__ import annotations

from telemetry import AquaWatchError

__all__ = [
    "ChannelError",
    "InvalidSubscriberError",
    "NoSuchSubscriberError",
    "NotifyError",
    "PhoneError",
    "PhoneTakenError",
    "SubscriberError",
    "UnknownStationsError",
]


class NotifyError(AquaWatchError):
    """Base of the notifier's errors."""


class PhoneError(NotifyError):
    """A phone number is not a Vietnamese mobile number.

    Attributes:
        number: The number as given (not in the message).
        reason: Why not, for the person who typed it.
    """

    def __init__(self, number: str, reason: str) -> None:
        self.number = number
        self.reason = reason
        msg = f"the phone number is not a Vietnamese mobile number: {reason}"
        super().__init__(msg)


class SubscriberError(NotifyError):
    """A subscriber cannot be added, found or changed."""


class InvalidSubscriberError(SubscriberError):
    """A subscriber's details do not validate.

    Attributes:
        problems: One line per invalid field.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        msg = "; ".join(problems)
        super().__init__(msg)


class PhoneTakenError(SubscriberError):
    """Another subscriber has the phone number.

    Attributes:
        phone: The number, E.164 (not in the message).
    """

    def __init__(self, phone: str) -> None:
        self.phone = phone
        msg = "the phone number is already a subscriber's"
        super().__init__(msg)


class NoSuchSubscriberError(SubscriberError):
    """No subscriber has the phone number.

    Attributes:
        phone: The number, E.164 (not in the message).
    """

    def __init__(self, phone: str) -> None:
        self.phone = phone
        msg = "no subscriber has the phone number"
        super().__init__(msg)


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
    """The SMS channel URL (or what it needs) is not usable.

    Attributes:
        scheme: The URL's scheme (``kannel``...); the URL itself holds a password.
    """

    def __init__(self, scheme: str, problem: str) -> None:
        self.scheme = scheme
        msg = f"AQUAWATCH_SMS_URL ({scheme}:): {problem}"
        super().__init__(msg)
