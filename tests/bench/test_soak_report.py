"""The soak's memory judgement: flat once the alert workers' shares have settled."""

from __future__ import annotations

from bench.soak_report import Report, Sample, judge_memory, settled


def samples(rss: list[float], leases: list[int]) -> list[Sample]:
    """One alert worker, one sample a second from t = 100."""
    return [
        Sample(100.0 + n, 0, None, True, {"alerts-1": r}, {"alerts-1": held})
        for n, (r, held) in enumerate(zip(rss, leases, strict=True))
    ]


def judged(rss: list[float], leases: list[int]) -> Report:
    report = Report(config={})
    judge_memory(report, settled(report, samples(rss, leases), after=100.0))
    return report


def test_flat_memory_with_tick_peaks_passes() -> None:
    report = judged([400.0, 900.0, 400.0] * 20, [1500] * 60)
    assert report.ok
    assert report.memory_growth_mb == {"alerts-1": 0.0}
    assert report.leases_settled_s == 101.0


def test_a_leak_fails() -> None:
    # 5 MB a second: the least of the last third (t 140 on) 200 MB above the first's,
    # beyond the 100 MB (25 %) allowed.
    report = judged([400.0 + 5 * n for n in range(60)], [1500] * 60)
    assert report.failures == ["alerts-1 memory grew 200 MB"]


def test_a_worker_taking_its_share_is_judged_from_then_on() -> None:
    # Idle at 200 MB, then 1,500 stations (and their windows) at 2,400 MB: not a leak.
    report = judged([200.0] * 20 + [2400.0] * 40, [0] * 20 + [1500] * 40)
    assert report.ok
    assert report.leases_settled_s == 120.0
    assert report.memory_growth_mb == {"alerts-1": 0.0}


def test_a_leak_after_the_shares_settled_still_fails() -> None:
    # Judged from t 120: 40 samples, thirds of 13; 27 x 40 MB above the start.
    rss = [200.0] * 20 + [2400.0 + 40 * n for n in range(40)]
    report = judged(rss, [0] * 20 + [1500] * 40)
    assert report.failures == ["alerts-1 memory grew 1080 MB"]


def test_shares_changing_to_the_end_leave_nothing_to_judge() -> None:
    report = judged([400.0] * 60, [1500, 3000] * 30)
    assert report.failures == ["too short a steady stretch after the faults to judge memory"]
