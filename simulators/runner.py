"""The simulation clock and loop: which station sends what, when, and what got through.

Each :class:`StationRunner` generates its samples in blocks of simulated time (signals and
faults are pure functions of time, so blocks do not change the output), keeps them until
their release time (a link outage holds them back) and turns them into readings documents:
one per sampling instant while the link is up, batches of up to ``batch_size`` samples with
their original times after an outage. :func:`run` drives the runners from a simulated
clock (real time times ``speed``, or as fast as the sink accepts) and hands each message to a
:class:`Sink`; the :class:`Tally` counts only what the sink acknowledged.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Protocol, cast

import numpy as np

from simulators import faults, signals
from simulators.kinds import RESOLUTION
from simulators.noise import FloatArray
from simulators.scenario import Script, on_grid
from stations import Station
from telemetry import (
    ReadingsDocument,
    Sample,
    StationState,
    StatusDocument,
    TopicScheme,
    encode_readings,
    encode_status,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One MQTT message to publish at simulated time ``release``.

    Attributes:
        release: Simulated time at which the station sends it.
        station: Station id.
        topic: MQTT topic.
        payload: Encoded document.
        retain: Whether the broker keeps it (status messages).
        samples: Samples in a readings document (0 for status).
        count: Number of values in a readings document.
        identities: The (parameter, timestamp) of each value when the station's clock is
            skewed (two samples may then share a timestamp and the database keeps one).
        backfill: True for a batch of samples held back by a link outage.
    """

    release: float
    station: str
    topic: str
    payload: bytes
    retain: bool = False
    samples: int = 0
    count: int = 0
    identities: frozenset[tuple[str, float]] | None = None
    backfill: bool = False


class Sink(Protocol):
    """Where messages go: the MQTT publisher, or a list in tests."""

    def send(self, message: Outgoing, on_ack: Callable[[Outgoing], None]) -> None:
        """Send ``message``; call ``on_ack`` once the receiver acknowledged it."""


@dataclass(slots=True)
class Tally:
    """Acknowledged messages, counted from the sink's acknowledgement callbacks."""

    messages: int = 0
    samples: int = 0
    readings: int = 0
    backfill_messages: int = 0
    status_messages: int = 0
    _seen: dict[str, set[tuple[str, float]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def acknowledged(self, message: Outgoing) -> None:
        """Count ``message`` (thread-safe: called from the MQTT network thread)."""
        with self._lock:
            if not message.samples:
                self.status_messages += 1
                return
            self.messages += 1
            self.samples += message.samples
            self.backfill_messages += message.backfill
            if message.identities is None:
                self.readings += message.count
            else:  # a skewed clock can repeat a (parameter, time): the database keeps one
                seen = self._seen.setdefault(message.station, set())
                self.readings += len(message.identities - seen)
                seen |= message.identities


@dataclass(slots=True)
class _Pending:
    release: float
    epoch: float
    sample: Sample


class StationRunner:
    """One simulated station: its samples, faults, buffer and sequence numbers.

    Args:
        station: The station.
        seed: The run's seed.
        script: Scenario episodes and faults for this station.
        topics: The topic scheme.
        batch_size: Most samples per backfill message.
    """

    def __init__(
        self,
        station: Station,
        *,
        seed: int,
        script: Script,
        topics: TopicScheme,
        batch_size: int,
    ) -> None:
        self.station = station
        self._seed = seed
        self._episodes = script.episodes
        self._faults = tuple(self._resolve(f) for f in script.faults)
        self._skewed = any(isinstance(f, faults.ClockSkew) for f in script.faults)
        self._topic = topics.readings(station.id)
        self._status_topic = topics.status(station.id)
        self._batch_size = batch_size
        self._pending: deque[_Pending] = deque()
        self._cursor: float | None = None
        self._seq = 0
        self.dropped = 0
        outages = [f for f in self._faults if isinstance(f, faults.Outage)]
        self._link_events = sorted(
            [(o.start, StationState.OFFLINE) for o in outages]
            + [(o.end, StationState.ONLINE) for o in outages]
        )

    def _resolve(self, fault: faults.Fault) -> faults.Fault:
        if isinstance(fault, faults.Stuck) and fault.value is None:
            first = on_grid(fault.start, self.station.sampling_interval_s)
            value = self.sample_values(np.array([first]))[fault.parameter][0]
            return replace(fault, value=float(value))
        return fault

    def sample_values(self, epochs: FloatArray) -> dict[str, FloatArray]:
        """Return the fault-free values at ``epochs``, rounded to sensor resolution."""
        raw = signals.simulate(self.station, epochs, seed=self._seed, episodes=self._episodes)
        return {code: np.round(v, RESOLUTION[code]) for code, v in raw.items()}

    def withheld(self, until: float) -> int:
        """Samples taken by ``until`` but not sent (still in the outage buffer)."""
        return sum(1 for p in self._pending if p.epoch <= until)

    def status(self, state: StationState, at: float) -> Outgoing:
        """Return a retained status message."""
        payload = encode_status(StatusDocument(state, at), tz=self.station.zone)
        return Outgoing(at, self.station.id, self._status_topic, payload, retain=True)

    def generate(self, start: float, end: float) -> None:
        """Generate the samples taken in [start, end) (on the station's sampling grid)."""
        interval = self.station.sampling_interval_s
        first = on_grid(start if self._cursor is None else self._cursor, interval)
        count = max(0, math.ceil((end - first) / interval))
        self._cursor = first + count * interval
        if count == 0:
            return
        epochs = first + interval * np.arange(count, dtype=np.float64)
        block = faults.apply_faults(faults.Block(epochs, self.sample_values(epochs)), self._faults)
        codes = tuple(block.values)
        values = np.stack([block.values[c] for c in codes], axis=1)  # (samples, codes)
        states = np.stack([block.status[c] for c in codes], axis=1)
        partial = cast("list[bool]", np.isnan(values).any(axis=1).tolist())
        flagged = cast("list[bool]", states.any(axis=1).tolist())
        rows = zip(
            block.epochs.tolist(),
            block.stamps.tolist(),
            block.release.tolist(),
            block.kept.tolist(),
            values.tolist(),
            partial,
            flagged,
            strict=True,
        )
        for index, (epoch, stamp, release, kept, row, nan, flags) in enumerate(rows):
            sample_values = dict(zip(codes, row, strict=True))
            if nan:  # NaN marks a value lost to a dropout
                sample_values = {c: v for c, v in sample_values.items() if v == v}
            if not kept or not sample_values:
                self.dropped += 1
                continue
            status = {}
            if flags:
                status = {
                    c: int(state)
                    for c, state in zip(codes, states[index], strict=True)
                    if state and c in sample_values
                }
            self._pending.append(_Pending(release, epoch, Sample(stamp, sample_values, status)))

    def due(self, until: float) -> list[Outgoing]:
        """Return the messages this station sends up to simulated time ``until``."""
        out: list[Outgoing] = []
        while self._link_events and self._link_events[0][0] <= until:
            at, state = self._link_events.pop(0)
            out.append(self.status(state, at))
        while self._pending and self._pending[0].release <= until:
            head = self._pending.popleft()
            batch = [head.sample]
            if head.release > head.epoch:  # held back by an outage: send as a backfill batch
                while (
                    len(batch) < self._batch_size
                    and self._pending
                    and self._pending[0].release == head.release
                    and self._pending[0].epoch < head.release  # not the first live sample
                ):
                    batch.append(self._pending.popleft().sample)
            out.append(self._document(head.release, batch, backfill=head.release > head.epoch))
        return out

    def _document(self, release: float, batch: list[Sample], *, backfill: bool) -> Outgoing:
        self._seq += 1
        doc = ReadingsDocument(self.station.id, tuple(batch), self._seq)
        identities = (
            frozenset((code, s.epoch) for s in batch for code in s.values) if self._skewed else None
        )
        return Outgoing(
            release,
            self.station.id,
            self._topic,
            encode_readings(doc, tz=self.station.zone),
            samples=len(batch),
            count=sum(len(s.values) for s in batch),
            identities=identities,
            backfill=backfill,
        )


@dataclass(frozen=True, slots=True)
class Schedule:
    """The simulated time a run covers and how fast it goes.

    Attributes:
        start: Simulated start (epoch seconds).
        end: Simulated end (exclusive), or None to run until stopped.
        speed: Simulated seconds per real second.
        fast: Ignore the wall clock and run as fast as the sink allows.
        block: Simulated seconds generated per step.
        live_from: Simulated time matching the wall clock at launch (default ``start``); an
            earlier ``start`` is history, published at once before the live run.
    """

    start: float
    end: float | None
    speed: float = 1.0
    fast: bool = False
    block: float = 3_600.0
    live_from: float | None = None


def run(
    runners: Sequence[StationRunner],
    sink: Sink,
    *,
    schedule: Schedule,
    tally: Tally,
    stop: threading.Event,
    announce: bool = True,
) -> float:
    """Publish every station's messages as the simulated clock advances.

    Args:
        runners: The stations.
        sink: Where messages go.
        schedule: Start, end, speed and mode.
        tally: Counts acknowledged messages.
        stop: Set to end the run early (SIGINT, SIGTERM).
        announce: Publish retained ``online`` for every station first and ``offline`` at the end.

    Returns:
        The simulated time reached.
    """
    if announce:
        for runner in runners:
            sink.send(runner.status(StationState.ONLINE, schedule.start), tally.acknowledged)
    generated = schedule.start
    until = schedule.start
    wall_start = time.monotonic()
    while not stop.is_set():
        if schedule.fast:
            until = (
                min(until + schedule.block, schedule.end)
                if schedule.end is not None
                else until + schedule.block
            )
        else:
            origin = schedule.start if schedule.live_from is None else schedule.live_from
            until = origin + (time.monotonic() - wall_start) * schedule.speed
            until = until if schedule.end is None else min(until, schedule.end)
        while generated <= until and (schedule.end is None or generated < schedule.end):
            step_end = generated + schedule.block
            step_end = step_end if schedule.end is None else min(step_end, schedule.end)
            for runner in runners:
                runner.generate(generated, step_end)
            generated = step_end
        _publish(runners, sink, until=until, tally=tally, stop=stop)
        if schedule.end is not None and until >= schedule.end:
            break
        if not schedule.fast:
            stop.wait(min(0.5, max(0.01, 1.0 / schedule.speed)))
    if announce:
        for runner in runners:
            sink.send(runner.status(StationState.OFFLINE, until), tally.acknowledged)
    return until


def _publish(
    runners: Iterable[StationRunner],
    sink: Sink,
    *,
    until: float,
    tally: Tally,
    stop: threading.Event,
) -> None:
    due = [m for r in runners for m in r.due(until)]
    due.sort(key=lambda m: m.release)  # stable: keeps each station's own order
    for message in due:
        if stop.is_set():  # what is not sent is not counted
            return
        sink.send(message, tally.acknowledged)
    if due:
        logger.debug("sent %d messages up to %s", len(due), datetime.fromtimestamp(until, UTC))
