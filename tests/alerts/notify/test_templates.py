"""Every template at worst-case lengths: one GSM-7 segment, or at most two UCS-2 ones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alerts import Severity, load_profiles
from alerts.notify.states import ALERT_KINDS, NOTICE_KINDS, Kind
from alerts.notify.templates import (
    ALERT,
    NOTICES,
    AlertFacts,
    DigestItem,
    Language,
    alert_code,
    render_alert,
    render_digest,
    render_notice,
    rule_text,
)
from alerts.notify.text import Coding
from stations import load_registry
from viz.messages import MESSAGES, SEVERITY_KEYS

AT = datetime(2026, 11, 22, 21, 35, tzinfo=UTC)
REGISTRY = load_registry()
LONGEST_STATION = max(REGISTRY.stations.values(), key=lambda s: len(s.name_vi))
BUILTIN = [
    "station.offline",
    "forecast.do.dawn",
    "maintenance.tss",
    "pollution.upstream.KG-EF-02.cod",
]


def every_rule() -> list[tuple[str, str, dict[Language, str]]]:
    rows = load_profiles().as_rows(REGISTRY.stations.values())
    found = {
        r.rule_id: (r.quantity, r.units, {"vi": r.message_vi, "en": r.message_en}) for r in rows
    }
    return [*found.values(), *(rule_text(rule) for rule in BUILTIN)]


def worst(quantity: str, units: str, advice: dict[Language, str], severity: int) -> AlertFacts:
    return AlertFacts(
        alert_id=999_999_999,
        station_id="KG-EF-02",
        station={"vi": LONGEST_STATION.name_vi, "en": LONGEST_STATION.name_en},
        quantity=quantity,
        units=units,
        value=-12345.678,
        advice=advice,
        severity=severity,
        at=AT,
    )


@pytest.mark.parametrize("kind", sorted(ALERT_KINDS))
@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("diacritics", [False, True])
def test_alert_templates_fit_at_worst_case_lengths(
    kind: Kind, language: Language, diacritics: bool
) -> None:
    assert set(ALERT[language]) == ALERT_KINDS
    for quantity, units, advice in every_rule():
        for severity in (1, 2, 3):
            facts = worst(quantity, units, advice, severity)
            rendered = render_alert(
                kind,
                facts,
                language=language,
                diacritics=diacritics,
                minutes=1440,
            )
            limit = 2 if diacritics else 1
            assert rendered.segments <= limit, rendered.text
            assert rendered.coding is (Coding.UCS2 if diacritics else Coding.GSM7)
            assert rendered.text.endswith(alert_code(999_999_999))
            assert ("-12346" if kind != Kind.RESOLVED else "") in rendered.text


def test_a_typical_alert_keeps_the_station_name_and_advice() -> None:
    quantity, units, advice = next(r for r in every_rule() if r[0] == "do")
    facts = AlertFacts(
        alert_id=7,
        station_id="KG-SR-02",
        station={"vi": "Kênh Thứ Mười Một, An Minh", "en": "Thu Muoi Mot Canal, An Minh"},
        quantity=quantity,
        units=units,
        value=2.345,
        advice=advice,
        severity=2,
        at=AT,
    )
    vi = render_alert("alert", facts, language="vi", diacritics=False)
    en = render_alert("alert", facts, language="en", diacritics=False)
    assert vi.text == (
        "CANH BAO Kenh Thu Muoi Mot, An Minh 04:35 23/11: Oxy hoa tan thap: bat quat nuoc,"
        " giam cho an (DO 2,35 mg/L). Tra loi OK 7"
    )
    assert en.text == (
        "WARNING Thu Muoi Mot Canal, An Minh 04:35 23/11: Low dissolved oxygen: start"
        " aerators, cut feed (DO 2.35 mg/L). Reply OK 7"
    )
    assert (vi.segments, en.segments) == (1, 1)


@pytest.mark.parametrize(
    ("severity", "language", "diacritics", "opening"),
    [
        (1, "vi", True, "LƯU Ý "),
        (2, "vi", True, "CẢNH BÁO "),
        (3, "vi", True, "KHẨN CẤP "),
        (3, "vi", False, "KHAN CAP "),
        (1, "en", False, "ADVISORY "),
        (3, "en", False, "CRITICAL "),
    ],
)
def test_an_sms_names_its_tier_as_the_dashboards_do(
    severity: int, language: Language, diacritics: bool, opening: str
) -> None:
    """One word per tier and language (alerts.Severity.label), in capitals in an SMS."""
    quantity, units, advice = next(r for r in every_rule() if r[0] == "do")
    facts = worst(quantity, units, advice, severity)
    rendered = render_alert("alert", facts, language=language, diacritics=diacritics)
    assert rendered.text.startswith(opening)
    if diacritics or language == "en":
        shown = MESSAGES[SEVERITY_KEYS[Severity(severity)]]
        assert getattr(shown, language).upper() == opening.strip()


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("diacritics", [False, True])
def test_digest_lists_what_fits_and_counts_the_rest(language: Language, diacritics: bool) -> None:
    items = [
        DigestItem(999_999_000 + n, "KG-EF-02", "sal_drop_24h", -12345.678, 1 + n % 3)
        for n in range(40)
    ]
    rendered = render_digest(items, language=language, diacritics=diacritics)
    assert rendered.segments <= (2 if diacritics else 1)
    assert rendered.text.startswith("40 ")
    assert "; +" in rendered.text


def test_digest_of_two() -> None:
    items = [DigestItem(5, "KG-SR-01", "temp", 35.2, 2), DigestItem(4, "KG-SR-01", "ph", 6.8, 3)]
    assert render_digest(items, language="vi", diacritics=False).text == (
        "2 canh bao moi: KG-SR-01 pH 6,8 (4); KG-SR-01 Nhiet do 35,2 (5)."
        " Tra loi OK <ma> de xac nhan"
    )


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("diacritics", [False, True])
def test_notices_fit(language: Language, diacritics: bool) -> None:
    assert set(NOTICES[language]) == NOTICE_KINDS
    for notice in NOTICE_KINDS:
        rendered = render_notice(
            notice,
            language=language,
            diacritics=diacritics,
            budget="1000000",
            code="ZZZZZZ",
            station="KG-EF-02",
        )
        assert rendered.segments <= (2 if diacritics else 1), rendered.text
