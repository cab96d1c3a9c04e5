"""End to end through real Kannel and its fake carrier: alert → outbox → SMS → reports, replies."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime

import httpx
import psycopg
import pytest

from alerts import acknowledge, resolve
from telemetry import FixedClock
from tests.alerts.notify.conftest import Sms, stop
from tests.support.common import wait_for

pytestmark = pytest.mark.integration

AT = datetime(2026, 11, 22, 21, 35, tzinfo=UTC).timestamp()  # 04:35 on 23/11 in Kiên Giang
FARMER = "+84912345678"


def test_an_alert_arrives_as_the_exact_sms_and_its_delivery_is_recorded(sms: Sms) -> None:
    sms.subscriber("0912 345 678", "KG-SR-02")
    alert_id = sms.alert("KG-SR-02", "shrimp.do.low", 3, 1.8, AT)
    notifier = sms.notifier()
    try:
        texts = wait_for(lambda: sms.to(FARMER), timeout=30, what="the SMS at the carrier")
        wait_for(
            lambda: sms.scalar("SELECT state FROM notifications") == "delivered",
            timeout=30,
            what="the delivery report",
        )
    finally:
        stop(notifier)
    assert alert_id == 1
    assert texts == [
        "KHAN CAP Kenh Thu Muoi Mot, An Minh 04:35 23/11: Oxy hoa tan thap: bat quat nuoc,"
        " giam cho an (DO 1,8 mg/L). Tra loi OK 1"
    ]
    assert sms.kannel.received()[0].sender == "AquaWatch"
    assert sms.scalar("SELECT dlr_status FROM notifications") == 1


def test_vietnamese_with_diacritics_arrives_intact_as_ucs2(sms: Sms) -> None:
    sms.subscriber(FARMER, "KG-CS-02", diacritics=True)
    sms.alert("KG-CS-02", "cage.temp.high", 2, 33.6, AT)
    notifier = sms.notifier()
    try:
        wait_for(
            lambda: sms.scalar("SELECT state FROM notifications") == "delivered",
            timeout=30,
            what="the delivery report",
        )
    finally:
        stop(notifier)
    received = sms.kannel.received()
    assert [m.coding for m in received] == ["ucs-2"]  # two UCS-2 parts, joined
    assert received[0].text == sms.scalar("SELECT text FROM notifications")
    assert received[0].text == (
        "CẢNH BÁO KG-CS-02 04:35 23/11: Nhiệt độ nước cao: giảm cho ăn, tăng độ sâu lồng nếu"
        " được (Nhiệt độ 33,6 °C). Trả lời OK 1"
    )
    assert sms.scalar("SELECT segments FROM notifications") == 2


def test_killed_mid_send_and_restarted_sends_every_sms_exactly_once(sms: Sms) -> None:
    phones = [f"+8490{n:07d}" for n in range(150)]
    for phone in phones:
        sms.subscriber(phone, "KG-SR-01")
    sms.alert("KG-SR-01", "shrimp.do.low", 3, 1.5, AT)
    first = sms.notifier(batch_size="5")
    wait_for(lambda: len(sms.kannel.received()) >= 20, timeout=60, what="sending under way")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    at_kill = len(sms.kannel.received())
    second = sms.notifier(batch_size="5")
    try:
        wait_for(
            lambda: (
                sms.scalar("SELECT count(*) FROM notifications WHERE state = 'delivered'")
                == len(phones)
            ),
            timeout=120,
            what="every notification delivered",
        )
    finally:
        stop(second)
    received = sorted(m.to for m in sms.kannel.received())
    assert at_kill < len(phones)
    assert received == sorted(phones)


def test_cooldown_hourly_cap_digest_and_critical_bypass(sms: Sms) -> None:
    sms.subscriber(FARMER, "KG-SR-01")
    notifier = sms.notifier(hourly_cap="3", digest_delay_s="1")
    try:
        first = sms.alert("KG-SR-01", "shrimp.do.low", 2, 3.2, AT)
        wait_for(lambda: len(sms.to(FARMER)) == 1, timeout=30, what="the first SMS")
        # A person closes it and the condition returns: within the cooldown, no second SMS.
        with psycopg.connect(sms.url) as conn:
            resolve(conn, first, actor="officer", note="aerators on")
        sms.alert("KG-SR-01", "shrimp.do.low", 2, 3.1, AT + 3600)
        wait_for(
            lambda: sms.scalar("SELECT count(*) FROM notifications WHERE state = 'suppressed'"),
            timeout=30,
            what="the repeat suppressed",
        )
        # Four more at once: two fill the hourly cap, two wait for one digest.
        later = [
            sms.alert("KG-SR-01", rule, 2, value, AT + 7200)
            for rule, value in (
                ("shrimp.ph.low", 6.8),
                ("shrimp.temp.high", 35.2),
                ("shrimp.sal.low", 4.1),
                ("shrimp.no2.high", 1.4),
            )
        ]
        wait_for(lambda: len(sms.to(FARMER)) == 4, timeout=30, what="two SMS and a digest")
        # A critical alert goes out even with the cap spent.
        sms.alert("KG-SR-01", "shrimp.nh3.high", 3, 0.4, AT + 7200)
        wait_for(lambda: len(sms.to(FARMER)) == 5, timeout=30, what="the critical SMS")
    finally:
        stop(notifier)
    texts = sms.to(FARMER)
    digest = texts[3]
    assert digest.startswith("2 canh bao moi: KG-SR-01 ")
    held = [c for c in ("4", "5", "6", "7") if f"({c})" in digest]
    assert len(held) == 2
    assert texts[4].startswith("KHAN CAP Song Xeo Ro, An Bien")
    assert len(later) == 4
    states = sms.scalar(
        "SELECT string_agg(state, ',' ORDER BY id) FROM notifications WHERE kind = 'alert'"
    )
    assert states == "delivered,suppressed,delivered,delivered,digested,digested,delivered"


def test_ok_reply_acknowledges_the_alert_and_is_confirmed(sms: Sms) -> None:
    sms.subscriber(FARMER, "KG-SR-02")
    alert_id = sms.alert("KG-SR-02", "shrimp.do.low", 3, 1.8, AT)
    notifier = sms.notifier()
    try:
        wait_for(lambda: sms.to(FARMER), timeout=30, what="the alert SMS")
        sms.kannel.reply(FARMER, "ok 1")
        wait_for(lambda: len(sms.to(FARMER)) == 2, timeout=30, what="the confirmation")
    finally:
        stop(notifier)
    assert sms.scalar("SELECT state FROM alerts WHERE id = %s", alert_id) == "acknowledged"
    assert (
        sms.scalar("SELECT actor || ' ' || note FROM alert_events WHERE kind = 'acknowledged'")
        == f"{FARMER} SMS reply"
    )
    assert sms.to(FARMER)[1] == "Da xac nhan canh bao 1 tai KG-SR-02. Cam on."


def test_a_reply_the_gateway_delivers_twice_is_acted_on_and_confirmed_once(sms: Sms) -> None:
    sms.subscriber(FARMER, "KG-SR-02")
    alert_id = sms.alert("KG-SR-02", "shrimp.do.low", 3, 1.8, AT)
    query = {"token": sms.token, "id": "5f1c9b9e-1b9e", "from": FARMER, "text": f"OK {alert_id}"}
    answers = [httpx.get(f"{sms.api}/api/v1/sms/mo", params=query) for _ in range(2)]
    assert [(a.status_code, a.text) for a in answers] == [(200, ""), (200, "")]
    notifier = sms.notifier()
    try:
        wait_for(lambda: len(sms.to(FARMER)) == 2, timeout=30, what="the alert and confirmation")
        time.sleep(1)  # absence: no second confirmation
    finally:
        stop(notifier)
    assert sms.to(FARMER)[1] == f"Da xac nhan canh bao {alert_id} tai KG-SR-02. Cam on."
    assert len(sms.to(FARMER)) == 2
    assert sms.scalar("SELECT count(*) FROM alert_events WHERE kind = 'acknowledged'") == 1
    assert sms.scalar("SELECT count(*) FROM inbound_messages") == 1
    assert sms.scalar("SELECT count(*) FROM notifications WHERE kind <> 'alert'") == 1


def test_tu_choi_opts_out_with_a_confirmation_and_nothing_after(sms: Sms) -> None:
    sms.subscriber(FARMER, "KG-SR-03")
    notifier = sms.notifier()
    try:
        sms.kannel.reply(FARMER, "Tu choi")
        wait_for(lambda: sms.to(FARMER), timeout=30, what="the opt-out confirmation")
        sms.alert("KG-SR-03", "shrimp.do.low", 3, 1.2, AT)
        wait_for(
            lambda: sms.scalar("SELECT count(*) FROM inbound_messages") == 1,
            timeout=5,
            what="the reply stored",
        )
    finally:
        stop(notifier)
    assert sms.to(FARMER) == [
        "Ban da ngung nhan tin AquaWatch. Muon nhan lai, xin lien he can bo thuy san."
    ]
    assert sms.scalar("SELECT count(*) FROM notifications WHERE kind = 'alert'") == 0
    assert sms.scalar("SELECT opted_out_at IS NOT NULL FROM subscribers") is True


OFFICER = "+84355555555"


def test_an_unacknowledged_critical_alert_goes_to_the_officer_on_duty(sms: Sms) -> None:
    sms.subscriber(FARMER, "KG-SR-02")
    sms.subscriber(OFFICER, role="officer", on_duty=True)
    critical = sms.alert("KG-SR-02", "shrimp.do.low", 3, 1.8, AT)
    acknowledged = sms.alert("KG-SR-02", "shrimp.nh3.high", 3, 0.4, AT)
    with psycopg.connect(sms.url) as conn:
        acknowledge(conn, acknowledged, actor=FARMER, note=None)
    notifier = sms.notifier(escalate_after_s="1")
    try:
        wait_for(lambda: sms.to(OFFICER), timeout=30, what="the escalation")
        wait_for(lambda: len(sms.to(FARMER)) == 2, timeout=30, what="the farmer's two SMS")
        time.sleep(2)  # absence: two more escalation periods, and still one escalation
    finally:
        stop(notifier)
    (escalation,) = sms.to(OFFICER)
    assert escalation.startswith("CHUA AI XU LY sau ")
    assert escalation.endswith(f"Tra loi OK {critical}")  # only the one nobody acknowledged


def test_the_daily_budget_stops_routine_sms_and_tells_the_officers_once(sms: Sms) -> None:
    sms.subscriber(FARMER, "KG-SR-01")
    sms.subscriber(OFFICER, role="officer", on_duty=True)
    # The budget is per local day: on the machine's clock, a run across midnight (17:00
    # UTC) would start a new day between the sends. The notifier runs when the alerts do.
    with sms.notifier_at(FixedClock(AT), daily_budget="2", hourly_cap="10"):
        for rule, value in (
            ("shrimp.ph.low", 6.8),
            ("shrimp.temp.high", 35.2),
            ("shrimp.sal.low", 4.1),
        ):
            sms.alert("KG-SR-01", rule, 2, value, AT)
        wait_for(lambda: sms.to(OFFICER), timeout=30, what="the budget notice")
        sms.alert("KG-SR-01", "shrimp.nh3.high", 3, 0.4, AT)  # critical: still sent
        wait_for(lambda: len(sms.to(FARMER)) == 3, timeout=30, what="the critical SMS")
        wait_for(
            lambda: sms.scalar("SELECT count(*) FROM notifications WHERE state = 'delivered'") == 4,
            timeout=30,
            what="the delivery reports",
        )
    farmer = sms.to(FARMER)
    assert farmer[2].startswith("KHAN CAP ")
    assert sms.to(OFFICER) == [
        "AquaWatch da gui het 2 tin SMS cua hom nay. Tin khong khan dung den 0 gio;"
        " tin KHAN CAP van duoc gui."
    ]
    assert sms.scalar("SELECT count(*) FROM notifications WHERE state = 'suppressed'") == 1
