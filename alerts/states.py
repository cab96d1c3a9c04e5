"""The alert domain's states, kinds and scales: one enum each, used by Python and SQL.

String values are what the ``alerts`` and ``alert_events`` tables store (their CHECK
constraints list the same words); integer values are what they store as ``severity``.
Pass members as SQL parameters as they are: psycopg adapts a ``StrEnum`` as its value
and an ``IntEnum`` as its number.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Final, Literal

TierName = Literal["advisory", "warning", "critical"]
TIER_NAMES: Final[tuple[TierName, TierName, TierName]] = ("advisory", "warning", "critical")
"""The tiers' names in profiles and the API, in :class:`Severity` order."""


class Severity(IntEnum):
    """Alert tiers (``alerts.severity``); no alert is ``None`` (0 in arrays)."""

    ADVISORY = 1
    WARNING = 2
    CRITICAL = 3

    @property
    def key(self) -> TierName:
        """The tier's name in profiles and the API (``advisory`` ...)."""
        return TIER_NAMES[self - 1]

    def label(self, language: Literal["vi", "en"]) -> str:
        """The tier as people read it, on dashboards and (in capitals) in SMS."""
        return _SEVERITY_LABELS[language][self - 1]


_SEVERITY_LABELS: Final = {
    "vi": ("Lưu ý", "Cảnh báo", "Khẩn cấp"),
    "en": ("Advisory", "Warning", "Critical"),
}


class AlertState(StrEnum):
    """Where an alert is in its life (``alerts.state``)."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class AlertFamily(StrEnum):
    """What kind of condition an alert is about (``alerts.family``)."""

    THRESHOLD = "threshold"
    TREND = "trend"
    POLLUTION = "pollution"
    RISK = "risk"
    QUALITY = "quality"
    OFFLINE = "offline"


PROFILE_FAMILIES: Final = (
    AlertFamily.THRESHOLD,
    AlertFamily.TREND,
    AlertFamily.POLLUTION,
    AlertFamily.RISK,
)
"""The families a threshold profile's rules may have (the others are the engine's own)."""


class EventKind(StrEnum):
    """What happened to an alert (``alert_events.kind``, ``Transition.kind``)."""

    OPENED = "opened"
    ESCALATED = "escalated"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class TransitionKind(IntEnum):
    """What the threshold evaluation found at a row (small ints, kept in numpy arrays)."""

    OPEN = 1
    ESCALATE = 2
    RESOLVE = 3

    @property
    def event(self) -> EventKind:
        """The alert event it becomes."""
        return _EVENTS[self]


_EVENTS: Final = {
    TransitionKind.OPEN: EventKind.OPENED,
    TransitionKind.ESCALATE: EventKind.ESCALATED,
    TransitionKind.RESOLVE: EventKind.RESOLVED,
}


class BuiltinRule(StrEnum):
    """Rule ids of the detectors that are not in a threshold profile (``alerts.rule_id``).

    Sensor notices are ``maintenance.<parameter>`` and downstream pollution notices
    ``<notice prefix>.<upstream station>.<quantity>``; see :func:`sensor_notice_rule`.
    """

    OFFLINE = "station.offline"
    DAWN_FORECAST = "forecast.do.dawn"


SENSOR_NOTICE_PREFIX: Final = "maintenance"


def sensor_notice_rule(parameter: str) -> str:
    """Rule id of the maintenance notice of one parameter's sensor (``maintenance.do``)."""
    return f"{SENSOR_NOTICE_PREFIX}.{parameter}"
