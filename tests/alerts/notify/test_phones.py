"""Phone numbers stay out of logs: masked where a log line must name the recipient."""

from __future__ import annotations

import logging

import pytest

from alerts.notify.channels import LogChannel, Sms
from alerts.notify.phones import mask_phone
from alerts.notify.text import Coding


@pytest.mark.parametrize(
    ("phone", "shown"),
    [
        ("+84912345678", "+84*******78"),
        ("+84371234509", "+84*******09"),
        ("0912345678", "********78"),
        ("12", "12"),
    ],
)
def test_mask_phone_keeps_only_the_country_code_and_two_digits(phone: str, shown: str) -> None:
    assert mask_phone(phone) == shown


def test_the_log_channel_names_neither_the_number_nor_the_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sms = Sms(notification_id=7, phone="+84912345678", text="KHAN CAP Kenh 3", coding=Coding.GSM7)
    with caplog.at_level(logging.INFO, logger="alerts.notify.channels"):
        LogChannel().send(sms)
    assert "SMS #7 to +84*******78 (GSM7, 15 characters)" in caplog.text
    assert "912345678" not in caplog.text
    assert "KHAN CAP" not in caplog.text
