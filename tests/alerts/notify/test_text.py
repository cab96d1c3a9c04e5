"""Phone numbers, GSM-7 transliteration, segments, reply codes: hand-computed tables."""

from __future__ import annotations

import pytest

from alerts.notify import PhoneError, alert_code, normalise_phone, parse_alert_code, parse_reply
from alerts.notify.text import Coding, segments, to_gsm7


@pytest.mark.parametrize(
    ("given", "e164"),
    [
        ("0912345678", "+84912345678"),
        ("0912 345 678", "+84912345678"),
        ("091.234.5678", "+84912345678"),
        ("(091) 234-5678", "+84912345678"),
        ("+84912345678", "+84912345678"),
        ("84912345678", "+84912345678"),
        ("0084 912 345 678", "+84912345678"),
        ("0321234567", "+84321234567"),  # 03x (Viettel since 2018)
        ("0561234567", "+84561234567"),  # 05x
        ("0701234567", "+84701234567"),  # 07x
        ("0861234567", "+84861234567"),  # 08x
    ],
)
def test_vietnamese_mobiles_become_e164(given: str, e164: str) -> None:
    assert normalise_phone(given) == e164


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("0212345678", "mobile numbers start with 03, 05, 07, 08 or 09"),  # landline area
        ("091234567", "expected 10 digits starting with 0, got 9"),
        ("09123456789", "expected 10 digits starting with 0, got 11"),
        ("+6591234567", "only Vietnamese numbers"),
        ("912345678", "start it with 0"),
        ("09l2345678", "only digits"),
        ("", "start it with 0"),
    ],
)
def test_invalid_numbers_are_refused_with_the_reason(given: str, why: str) -> None:
    with pytest.raises(PhoneError, match="is not a Vietnamese mobile number") as caught:
        normalise_phone(given)
    assert why in str(caught.value)
    assert caught.value.number == given
    assert not given or given not in str(caught.value)  # messages may be logged: no numbers


@pytest.mark.parametrize(
    ("text", "gsm"),
    [
        ("Oxy hòa tan thấp: bật quạt nước", "Oxy hoa tan thap: bat quat nuoc"),
        ("Đồng Tháp, Rạch Giá", "Dong Thap, Rach Gia"),
        ("KHẨN CẤP Ủy ban Ưu tiên", "KHAN CAP Uy ban Uu tien"),
        ("29,5 °C 14 ‰ 850 µS/cm 12 m³/h", "29,5 C 14 ppt 850 uS/cm 12 m3/h"),
        ("a \u2013 b \u2014 c", "a - b - c"),
        ("日本", "??"),
    ],
)
def test_gsm7_transliteration(text: str, gsm: str) -> None:
    assert to_gsm7(text) == gsm


@pytest.mark.parametrize(
    ("text", "coding", "count"),
    [
        ("a" * 160, Coding.GSM7, 1),
        ("a" * 161, Coding.GSM7, 2),  # 153 per part
        ("a" * 306, Coding.GSM7, 2),
        ("a" * 307, Coding.GSM7, 3),
        ("€" * 80, Coding.GSM7, 1),  # extension characters take two septets
        ("€" * 81, Coding.GSM7, 2),
        ("ả" * 70, Coding.UCS2, 1),
        ("ả" * 71, Coding.UCS2, 2),  # 67 per part
        ("ả" * 134, Coding.UCS2, 2),
        ("ả" * 135, Coding.UCS2, 3),
    ],
)
def test_segments(text: str, coding: Coding, count: int) -> None:
    assert segments(text, coding) == count


@pytest.mark.parametrize(
    ("alert_id", "code"),
    [(0, "0"), (1, "1"), (31, "Z"), (32, "10"), (1234, "16J"), (1_048_575, "ZZZZ")],
)
def test_reply_codes_are_crockford_base32(alert_id: int, code: str) -> None:
    assert alert_code(alert_id) == code
    assert parse_alert_code(code.lower()) == alert_id


@pytest.mark.parametrize(
    ("text", "action", "alert_id"),
    [
        ("OK 16J", "ack", 1234),
        ("ok 16j", "ack", 1234),
        ("Ok  i6j", "ack", 1234),  # I read as 1
        ("OK:16J", "ack", 1234),
        ("TU CHOI", "optout", None),
        ("Từ chối", "optout", None),
        ("tuchoi", "optout", None),
        ("STOP", "optout", None),
        ("OK", "help", None),
        ("xin chao", "help", None),
    ],
)
def test_replies_are_understood(text: str, action: str, alert_id: int | None) -> None:
    reply = parse_reply(text)
    assert (reply.action, reply.alert_id) == (action, alert_id)
