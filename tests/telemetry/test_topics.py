"""The topic grammar shared by ingest and simulators."""

from __future__ import annotations

import pytest

from telemetry import Channel, StationTopic, TopicError, TopicScheme


@pytest.mark.parametrize(
    ("prefix", "station", "channel", "topic"),
    [
        ("aquawatch", "KG-SR-01", Channel.READINGS, "aquawatch/v1/KG-SR-01/readings"),
        ("aquawatch", "KG-EF-02", Channel.STATUS, "aquawatch/v1/KG-EF-02/status"),
        ("org/kg", "KG-CS-01-C00007", Channel.READINGS, "org/kg/v1/KG-CS-01-C00007/readings"),
    ],
)
def test_format_and_parse_are_inverse(
    prefix: str, station: str, channel: Channel, topic: str
) -> None:
    scheme = TopicScheme(prefix)
    assert scheme.topic(station, channel) == topic
    assert scheme.parse(topic) == StationTopic(station, channel)


@pytest.mark.parametrize(
    "topic",
    [
        "other/v1/KG-SR-01/readings",
        "aquawatch/v2/KG-SR-01/readings",
        "aquawatch/v1/KG-SR-01/commands",
        "aquawatch/v1/KG SR/readings",
        "aquawatch/v1/a/b/readings",
        "aquawatch/v1//readings",
    ],
)
def test_foreign_topics_are_refused(topic: str) -> None:
    with pytest.raises(TopicError, match="is not aquawatch/v1/<station>"):
        TopicScheme("aquawatch").parse(topic)


def test_subscriptions() -> None:
    scheme = TopicScheme("aquawatch")
    assert scheme.subscription(Channel.READINGS) == "aquawatch/v1/+/readings"
    assert (
        scheme.subscription(Channel.READINGS, share_group="ingest")
        == "$share/ingest/aquawatch/v1/+/readings"
    )


@pytest.mark.parametrize("prefix", ["", "a/+/b", "a/#", "/lead", "trail/"])
def test_prefix_without_wildcards(prefix: str) -> None:
    with pytest.raises(TopicError):
        TopicScheme(prefix)


def test_station_ids_unsafe_for_topics_are_refused() -> None:
    with pytest.raises(TopicError, match="does not match"):
        TopicScheme().readings("KG/SR")
