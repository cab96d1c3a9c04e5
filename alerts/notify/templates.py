"""The SMS message catalogue: Vietnamese first, English second, one template per kind.

Texts are written once, with diacritics; subscribers who have not asked for diacritics get
them transliterated to GSM-7 (one 160-character segment). With diacritics a message is
UCS-2 and may take two segments (134 characters): that is the documented multipart case.
A text that would not fit gives up, in order, the station's name (for its id) and then the
end of the advice; the tier, value, time and reply code always stay.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal
from zoneinfo import ZoneInfo

from alerts.notify.states import Kind
from alerts.notify.text import Coding, fits, segments, to_gsm7
from alerts.quantities import quantity_label
from alerts.states import BuiltinRule, Severity
from telemetry import PARAMETERS

__all__ = [
    "MAX_SEGMENTS",
    "AlertFacts",
    "DigestItem",
    "Language",
    "Rendered",
    "alert_code",
    "parse_alert_code",
    "render_alert",
    "render_digest",
    "render_notice",
    "rule_text",
]

Language = Literal["vi", "en"]

LOCAL: Final = ZoneInfo("Asia/Ho_Chi_Minh")
MAX_SEGMENTS: Final = {Coding.GSM7: 1, Coding.UCS2: 2}
_CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

ALERT: Final[Mapping[Language, Mapping[Kind, str]]] = {
    "vi": {
        Kind.ALERT: "{tier} {station} {time}: {advice} ({quantity} {value}). Trả lời OK {code}",
        Kind.ESCALATION: "CHƯA AI XỬ LÝ sau {minutes} phút: {tier} {station} {time}: {advice}"
        " ({quantity} {value}). Trả lời OK {code}",
        Kind.RESOLVED: "HẾT {tier} {station} {time}: {condition} đã qua. Mã {code}",
    },
    "en": {
        Kind.ALERT: "{tier} {station} {time}: {advice} ({quantity} {value}). Reply OK {code}",
        Kind.ESCALATION: "NOT ACKNOWLEDGED after {minutes} min: {tier} {station} {time}: {advice}"
        " ({quantity} {value}). Reply OK {code}",
        Kind.RESOLVED: "OVER: {tier} {station} {time}: {condition} has cleared. Code {code}",
    },
}
DIGEST: Final[Mapping[Language, str]] = {
    "vi": "{count} cảnh báo mới: {items}. Trả lời OK <mã> để xác nhận",
    "en": "{count} new alerts: {items}. Reply OK <code> to acknowledge",
}
NOTICES: Final[Mapping[Language, Mapping[Kind, str]]] = {
    "vi": {
        Kind.BUDGET: "AquaWatch đã gửi hết {budget} tin SMS của hôm nay. Tin không khẩn dừng đến"
        " 0 giờ; tin KHẨN CẤP vẫn được gửi.",
        Kind.OPTOUT: "Bạn đã ngừng nhận tin AquaWatch. Muốn nhận lại, xin liên hệ cán bộ thủy sản.",
        Kind.ACK: "Đã xác nhận cảnh báo {code} tại {station}. Cảm ơn.",
        Kind.ACK_REFUSED: "Không xác nhận được: mã sai, cảnh báo đã đóng hoặc bạn không"
        " theo dõi trạm này.",
        Kind.HELP: "Soạn OK <mã> để xác nhận cảnh báo, TU CHOI để ngừng nhận tin AquaWatch.",
    },
    "en": {
        Kind.BUDGET: "AquaWatch has sent all {budget} SMS of today's budget. Non-urgent messages"
        " stop until midnight; CRITICAL ones are still sent.",
        Kind.OPTOUT: "You will get no more AquaWatch SMS. To get them again, ask your fisheries"
        " officer.",
        Kind.ACK: "Alert {code} at {station} acknowledged. Thank you.",
        Kind.ACK_REFUSED: "Could not acknowledge: wrong code, alert closed, or you do not"
        " follow this station.",
        Kind.HELP: "Send OK <code> to acknowledge an alert, STOP to get no more AquaWatch SMS.",
    },
}


@dataclass(frozen=True, slots=True)
class AlertFacts:
    """What a message says about one alert, in both languages.

    Attributes:
        alert_id: The alert (its reply code is derived from it).
        station_id: The station's id, used when its name does not fit.
        station: Station name by language.
        quantity: Quantity code (``do``, ``sal_drop_24h``...), or "" when the rule has none.
        units: Units of ``value``.
        value: The value that made it due, or None.
        advice: "Condition: what to do", by language.
        severity: 1 advisory, 2 warning, 3 critical.
        at: When it became due.
    """

    alert_id: int
    station_id: str
    station: Mapping[Language, str]
    quantity: str
    units: str
    value: float | None
    advice: Mapping[Language, str]
    severity: int
    at: datetime


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One alert folded into a digest."""

    alert_id: int
    station_id: str
    quantity: str
    value: float | None
    severity: int


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message ready for the channel."""

    text: str
    coding: Coding
    segments: int


def alert_code(alert_id: int) -> str:
    """Return the reply code of an alert: its id in Crockford base 32 (``K3F``)."""
    digits = []
    value = alert_id
    while True:
        value, rest = divmod(value, 32)
        digits.append(_CROCKFORD[rest])
        if value == 0:
            return "".join(reversed(digits))


def parse_alert_code(code: str) -> int | None:
    """Return the alert id of a typed code (case, O/0 and I/L/1 confusions forgiven)."""
    cleaned = code.strip().upper().replace("O", "0").replace("I", "1").replace("L", "1")
    if not cleaned or len(cleaned) > 12 or any(c not in _CROCKFORD for c in cleaned):
        return None
    value = 0
    for char in cleaned:
        value = value * 32 + _CROCKFORD.index(char)
    return value


def _number(value: float, language: Language) -> str:
    digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    text = f"{value:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",") if language == "vi" else text


def _value(facts: AlertFacts, language: Language) -> str:
    if facts.value is None:
        return "-"
    units = "" if facts.units == "score" else facts.units
    return f"{_number(facts.value, language)} {units}".strip()


def _finish(text: str, *, diacritics: bool) -> Rendered:
    coding = Coding.UCS2 if diacritics else Coding.GSM7
    final = text if diacritics else to_gsm7(text)
    return Rendered(final, coding, segments(final, coding))


def _fit(template: str, fields: Mapping[str, str], *, diacritics: bool, short: str) -> Rendered:
    """Fill ``template``; shorten ``station`` to ``short``, then cut the advice, to fit."""
    coding = Coding.UCS2 if diacritics else Coding.GSM7
    limit = MAX_SEGMENTS[coding]
    attempt = _finish(template.format(**fields), diacritics=diacritics)
    if attempt.segments <= limit:
        return attempt
    shorter = {**fields, "station": short}
    attempt = _finish(template.format(**shorter), diacritics=diacritics)
    words = shorter.get("advice", "").split()
    while attempt.segments > limit and words:
        words.pop()
        attempt = _finish(
            template.format(**{**shorter, "advice": " ".join(words).rstrip(",:;") + ".."}),
            diacritics=diacritics,
        )
    return attempt


def render_alert(
    kind: Kind,
    facts: AlertFacts,
    *,
    language: Language,
    diacritics: bool,
    minutes: int = 0,
) -> Rendered:
    """Render an alert, escalation or resolved message (``ALERT_KINDS``) for one subscriber."""
    advice = facts.advice[language]
    fields = {
        "tier": Severity(facts.severity).label(language).upper(),
        "station": facts.station[language],
        "time": facts.at.astimezone(LOCAL).strftime("%H:%M %d/%m"),
        "advice": advice,
        "condition": advice.split(":")[0],
        "quantity": quantity_label(facts.quantity, language),
        "value": _value(facts, language),
        "code": alert_code(facts.alert_id),
        "minutes": str(minutes),
    }
    return _fit(ALERT[language][kind], fields, diacritics=diacritics, short=facts.station_id)


def render_digest(items: Sequence[DigestItem], *, language: Language, diacritics: bool) -> Rendered:
    """Render one SMS standing for many alerts: as many as fit, most severe first, then +N."""
    ordered = sorted(items, key=lambda i: (-i.severity, i.alert_id))
    parts = [
        f"{i.station_id} {quantity_label(i.quantity, language)}"
        f"{'' if i.value is None else ' ' + _number(i.value, language)} ({alert_code(i.alert_id)})"
        for i in ordered
    ]
    coding = Coding.UCS2 if diacritics else Coding.GSM7
    template = DIGEST[language]
    for shown in range(len(parts), 0, -1):
        more = len(parts) - shown
        listed = "; ".join(parts[:shown]) + (f"; +{more}" if more else "")
        rendered = _finish(template.format(count=len(parts), items=listed), diacritics=diacritics)
        if fits(rendered.text, coding, max_segments=MAX_SEGMENTS[coding]):
            return rendered
    return _finish(template.format(count=len(parts), items=f"+{len(parts)}"), diacritics=diacritics)


def render_notice(notice: Kind, *, language: Language, diacritics: bool, **fields: str) -> Rendered:
    """Render a service message (budget, opt-out, acknowledgement, help): a ``NOTICE_KINDS``."""
    text = NOTICES[language][notice].format(**fields)
    return _fit("{text}", {"text": text}, diacritics=diacritics, short="")


def rule_text(rule_id: str) -> tuple[str, str, Mapping[Language, str]]:
    """Quantity, units and advice of the rules that are not in a threshold profile."""
    parts = rule_id.split(".")
    if rule_id == BuiltinRule.OFFLINE:
        return (
            "",
            "",
            {
                "vi": "Trạm không gửi số liệu: cán bộ đang kiểm tra",
                "en": "Station sends no data: officers are checking",
            },
        )
    if rule_id == BuiltinRule.DAWN_FORECAST:
        return (
            "do_dawn",
            "mg/L",
            {
                "vi": "Dự báo oxy thấp lúc rạng sáng: chuẩn bị bật quạt nước",
                "en": "Low oxygen expected at dawn: get aerators ready",
            },
        )
    if parts[0] == "maintenance" and len(parts) == 2:
        code = parts[1]
        unit = PARAMETERS[code].unit if code in PARAMETERS else ""
        return (
            code,
            unit,
            {
                "vi": f"Cảm biến {quantity_label(code, 'vi')} cần bảo trì: tạm không dùng số liệu",
                "en": f"{quantity_label(code, 'en')} sensor needs maintenance: data set aside",
            },
        )
    if parts[:2] == ["pollution", "upstream"] and len(parts) >= 4:
        code, upstream = parts[-1], ".".join(parts[2:-1])
        unit = PARAMETERS[code].unit if code in PARAMETERS else ""
        return (
            code,
            unit,
            {
                "vi": f"Ô nhiễm {quantity_label(code, 'vi')} ở thượng nguồn {upstream}:"
                " tạm ngừng lấy nước",
                "en": f"{quantity_label(code, 'en')} pollution upstream at {upstream}:"
                " hold off taking in water",
            },
        )
    return "", "", {"vi": rule_id, "en": rule_id}
