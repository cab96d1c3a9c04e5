"""The MQTT topic grammar, in one place for ingest and simulators.

``{prefix}/v1/{station_id}/readings`` carries readings documents and
``{prefix}/v1/{station_id}/status`` the retained online/offline state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Final

from telemetry.errors import TopicError

STATION_ID_PATTERN: Final = r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}"
"""Station ids: safe in topics, file names and COPY text without escaping."""

_PREFIX_RE: Final = re.compile(r"[A-Za-z0-9_\-]+(?:/[A-Za-z0-9_\-]+)*")
STATION_ID_RE: Final = re.compile(STATION_ID_PATTERN)


class Channel(StrEnum):
    """The last level of a station topic."""

    READINGS = "readings"
    STATUS = "status"


@dataclass(frozen=True, slots=True)
class StationTopic:
    """A parsed station topic."""

    station_id: str
    channel: Channel


@dataclass(frozen=True, slots=True)
class TopicScheme:
    """Formats and parses the topics under one prefix.

    Args:
        prefix: The first level(s) of every topic, ``aquawatch`` by default.
    """

    prefix: str = "aquawatch"

    def __post_init__(self) -> None:
        if not _PREFIX_RE.fullmatch(self.prefix):
            msg = f"topic prefix {self.prefix!r} must be slash-separated words without wildcards"
            raise TopicError(msg)

    def topic(self, station_id: str, channel: Channel) -> str:
        """Return the topic of ``channel`` for one station."""
        if not STATION_ID_RE.fullmatch(station_id):
            msg = f"station id {station_id!r} does not match {STATION_ID_PATTERN}"
            raise TopicError(msg)
        return f"{self.prefix}/v1/{station_id}/{channel.value}"

    def readings(self, station_id: str) -> str:
        """Return the readings topic of a station."""
        return self.topic(station_id, Channel.READINGS)

    def status(self, station_id: str) -> str:
        """Return the retained status topic of a station."""
        return self.topic(station_id, Channel.STATUS)

    def subscription(self, channel: Channel, *, share_group: str | None = None) -> str:
        """Return the filter for ``channel`` of every station, shared when a group is given."""
        base = f"{self.prefix}/v1/+/{channel.value}"
        return f"$share/{share_group}/{base}" if share_group else base

    def parse(self, topic: str) -> StationTopic:
        """Parse a station topic.

        Raises:
            TopicError: The topic is not a station topic under this prefix.
        """
        match = _compiled(self.prefix).fullmatch(topic)
        if match is None:
            msg = f"topic {topic!r} is not {self.prefix}/v1/<station>/(readings|status)"
            raise TopicError(msg)
        return StationTopic(match["station"], _CHANNELS[match["channel"]])


_CHANNELS: Final = {channel.value: channel for channel in Channel}


@lru_cache(maxsize=16)
def _compiled(prefix: str) -> re.Pattern[str]:
    return re.compile(
        rf"{re.escape(prefix)}/v1/(?P<station>{STATION_ID_PATTERN})/(?P<channel>readings|status)"
    )
