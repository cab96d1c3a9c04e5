"""Channels by URL scheme, a provider's through the ``aquawatch.sms_channels`` entry points."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from alerts.notify import LogChannel, NotifySettings
from alerts.notify.channels import SmsChannel, channel_from_settings
from alerts.notify.errors import ChannelError

BUILT: list[str] = []


def brandname_channel(url: str, settings: NotifySettings) -> SmsChannel:
    """A provider's factory, as a package would register it."""
    BUILT.append(url)
    return LogChannel()


def test_a_scheme_registered_as_an_entry_point_builds_its_channel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entry = EntryPoint(
        name="brandname",
        value=f"{__name__}:brandname_channel",
        group="aquawatch.sms_channels",
    )

    def entry_points(*, group: str) -> list[EntryPoint]:
        return [entry] if group == entry.group else []

    monkeypatch.setattr("alerts.notify.channels.entry_points", entry_points)
    settings = NotifySettings(sms_url="brandname://key@sms.example/send")  # type: ignore[arg-type]
    channel = channel_from_settings(settings)
    assert isinstance(channel, LogChannel)
    assert BUILT == ["brandname://key@sms.example/send"]


def test_an_unknown_scheme_is_refused() -> None:
    settings = NotifySettings(sms_url="carrier-pigeon://coop")  # type: ignore[arg-type]
    with pytest.raises(ChannelError, match="no SMS channel for this scheme") as caught:
        channel_from_settings(settings)
    assert caught.value.scheme == "carrier-pigeon"
