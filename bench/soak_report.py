"""The soak's report: what it measured each second, what it found, and the plot of it."""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Sample:
    """One second of the run."""

    t: float
    stored: int
    lag_s: float | None
    api_up: bool
    rss_mb: dict[str, float]
    leases: dict[str, int] = field(default_factory=dict)  # alert worker: stations it holds


@dataclass
class Report:
    """What the soak found."""

    config: dict[str, Any]
    published: int = 0
    stored: int = 0
    distinct: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    alerts: int = 0
    alerts_by_rule: dict[str, int] = field(default_factory=dict)
    opened_twice: int = 0
    missed_alerts: list[str] = field(default_factory=list)
    sms: int = 0
    sms_twice: int = 0
    normal_lag_s: float = 0.0
    recovered_after_s: float | None = None
    memory_growth_mb: dict[str, float] = field(default_factory=dict)
    memory_mb: dict[str, dict[str, float]] = field(default_factory=dict)  # start, peak, end
    leases_settled_s: float | None = None  # when the alert workers' shares last changed
    faults: list[tuple[float, str]] = field(default_factory=list)
    restarts: list[tuple[float, str]] = field(default_factory=list)  # exits the faults caused
    expected_offline: dict[str, int] = field(default_factory=dict)  # station: alerts opened
    outage_delays_s: dict[str, float] = field(default_factory=dict)  # held back the longest
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures


def judge_lag(
    report: Report,
    samples: list[Sample],
    *,
    interval_s: float,
    last_fault_end: float,
    recover_s: float,
) -> None:
    """Normal: the newest reading stored at most one sampling interval (plus 5 s) old."""
    report.normal_lag_s = interval_s + 5
    after = [s for s in samples if s.t >= last_fault_end and s.lag_s is not None]
    late = [s.t for s in after if s.lag_s is not None and s.lag_s > report.normal_lag_s]
    report.recovered_after_s = (max(late) - last_fault_end) if late else 0.0
    if not after or report.recovered_after_s > recover_s:
        report.failures.append(
            f"lag not back under {report.normal_lag_s:.0f} s within {recover_s:.0f} s"
            " of the last fault"
        )


def settled(report: Report, samples: list[Sample], *, after: float) -> list[Sample]:
    """The samples after ``after`` in which no alert worker's share of the stations changed.

    A worker that gains or gives up stations grows or shrinks its windows: memory is
    judged flat only while each holds the same share (and from the last change on).
    """
    later = [s for s in samples if s.t > after]
    changed = [b.t for a, b in itertools.pairwise(later) if a.leases != b.leases]
    report.leases_settled_s = max(changed, default=later[0].t if later else after)
    return [s for s in later if s.t >= report.leases_settled_s]


def judge_memory(report: Report, samples: list[Sample]) -> None:
    """Flat: the least RSS of the last third within 25 MB or 25 % of the least of the first.

    The least, not the median: an alert tick's temporary arrays come and go, a leak stays.
    """
    if len(samples) < 9:
        report.failures.append("too short a steady stretch after the faults to judge memory")
        return
    roles = sorted({r for s in samples for r in s.rss_mb})
    third = len(samples) // 3
    for role in roles:
        early = [s.rss_mb[role] for s in samples[:third] if role in s.rss_mb]
        late = [s.rss_mb[role] for s in samples[-third:] if role in s.rss_mb]
        if not early or not late:
            continue
        growth = min(late) - min(early)
        report.memory_growth_mb[role] = round(growth, 1)
        if growth > max(25.0, 0.25 * min(early)):
            report.failures.append(f"{role} memory grew {growth:.0f} MB")


def summarize_memory(report: Report, samples: list[Sample]) -> None:
    """Each process's RSS at its first sample, its peak and its last sample, over the run."""
    for role in sorted({r for s in samples for r in s.rss_mb}):
        rss = [s.rss_mb[role] for s in samples if role in s.rss_mb]
        report.memory_mb[role] = {
            "start": round(rss[0], 1),
            "peak": round(max(rss), 1),
            "end": round(rss[-1], 1),
        }


def plot(samples: list[Sample], report: Report, path: Path, *, title: str) -> None:
    """Throughput, lag and memory over time, one above the other, the faults marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [s.t for s in samples]
    rate = [0.0] + [
        max(0.0, (b.stored - a.stored) / max(b.t - a.t, 1e-3))
        for a, b in itertools.pairwise(samples)
    ]
    fig, (top, middle, bottom) = plt.subplots(3, 1, figsize=(11, 9), sharex=True)
    top.plot(t, rate, color="tab:blue", linewidth=1)
    top.set_ylabel("readings stored / s")
    top.set_title(title)
    down = [s.t for s in samples if not s.api_up]
    if down:
        top.scatter(down, [0] * len(down), color="red", marker="|", label="API /health not 200")
        top.legend(loc="upper right")
    middle.plot(t, [s.lag_s for s in samples], color="tab:orange", linewidth=1)
    middle.axhline(report.normal_lag_s, color="grey", linestyle=":", label="normal")
    middle.set_ylabel("lag behind simulator (s)")
    middle.legend(loc="upper right")
    for role in sorted({r for s in samples for r in s.rss_mb}):
        bottom.plot(t, [s.rss_mb.get(role) for s in samples], linewidth=1, label=role)
    if report.leases_settled_s is not None:
        bottom.axvline(
            report.leases_settled_s, color="grey", linestyle=":", label="alert leases settled"
        )
    bottom.set_ylabel("memory RSS (MB)")
    bottom.set_xlabel("seconds since start")
    bottom.legend(loc="upper left", fontsize="small", ncol=4)
    for at, what in report.faults:
        for axis in (top, middle, bottom):
            axis.axvline(at, color="red", alpha=0.4, linestyle="--")
        top.annotate(
            what,
            (at, 1),
            xycoords=("data", "axes fraction"),
            rotation=90,
            va="top",
            ha="right",
            fontsize=8,
            color="red",
        )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write(report: Report, out: Path) -> None:
    """``report.json`` and ``report.md`` (figures, failures, the plot and what it shows)."""
    body = asdict(report)
    body["ok"] = report.ok
    (out / "report.json").write_text(json.dumps(body, indent=2))
    lines = [
        "# AquaWatch soak",
        "",
        f"{'PASSED' if report.ok else 'FAILED'} in {report.seconds:.0f} s; config {report.config}",
        "",
        f"- readings published {report.published}, stored {report.stored}, distinct"
        f" {report.distinct}; messages rejected {report.rejected}",
        f"- alerts {report.alerts} {report.alerts_by_rule}, opened twice {report.opened_twice},"
        f" missed"
        f" {len(report.missed_alerts)}; offline alerts at the outage stations"
        f" {report.expected_offline} (longest a reading of theirs was held back, s:"
        f" {report.outage_delays_s})",
        f"- processes that exited and were started again: {report.restarts}",
        f"- SMS logged {report.sms}, twice {report.sms_twice}",
        f"- lag normal under {report.normal_lag_s:.0f} s; back to normal"
        f" {report.recovered_after_s} s after the last fault",
        f"- memory growth once settled after the faults (the alert workers' shares of the"
        f" stations unchanged since {report.leases_settled_s} s), least RSS of the last third"
        f" minus the first (MB): {report.memory_growth_mb}",
        f"- memory RSS (MB) at the start, the peak and the end of the run: {report.memory_mb}",
        f"- faults (s since start): {report.faults}",
        *(f"- FAILURE: {f}" for f in report.failures),
        "",
        "![soak](soak.png)",
        "",
        "Top: readings committed per second; middle: how far the newest stored reading is",
        "behind the simulator's clock, in real seconds (a sawtooth of one sampling interval",
        "when all is well); bottom: each process's resident memory. Dashed red lines: faults.",
    ]
    (out / "report.md").write_text("\n".join(lines) + "\n")
