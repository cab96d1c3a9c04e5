"""The batcher closes a batch when the queue goes idle, when it is full, or on its timer."""

from __future__ import annotations

import threading
import time

from ingest.inbound import Inbound, Rejection
from ingest.service import IngestService
from ingest.settings import IngestSettings
from telemetry import FixedClock, RejectReason

LONG_S = 60.0  # a timer the test would notice waiting for


def item(mid: int, *, waited_s: float = 0.0) -> Inbound:
    return Inbound(
        mid=mid,
        qos=1,
        generation=0,
        topic="t",
        payload=b"",
        station_id=None,
        body=Rejection(RejectReason.BAD_TOPIC, "test"),
        taken_at=time.monotonic() - waited_s,
    )


def service(**settings: float) -> IngestService:
    return IngestService(
        IngestSettings(metrics_port=0, **settings),  # type: ignore[arg-type]
        clock=FixedClock(0.0),
    )


def test_an_idle_queue_closes_the_batch_long_before_the_timer() -> None:
    worker = service(flush_interval_s=LONG_S, flush_idle_s=0.05)
    for mid in range(3):
        worker.inbox.put(item(mid))
    started = time.monotonic()
    batch = worker._collect()
    assert [i.mid for i in batch] == [0, 1, 2]
    assert time.monotonic() - started < LONG_S / 2


def test_messages_that_keep_coming_join_the_batch() -> None:
    worker = service(flush_interval_s=LONG_S, flush_idle_s=1.0)
    worker.inbox.put(item(0))

    def more() -> None:
        for mid in range(1, 4):
            time.sleep(0.05)  # well within the idle time
            worker.inbox.put(item(mid))

    feeder = threading.Thread(target=more)
    feeder.start()
    batch = worker._collect()
    feeder.join()
    assert [i.mid for i in batch] == [0, 1, 2, 3]


def test_a_full_batch_closes_at_once() -> None:
    worker = service(flush_interval_s=LONG_S, flush_idle_s=LONG_S, batch_max_messages=2)
    for mid in range(3):
        worker.inbox.put(item(mid))
    assert [i.mid for i in worker._collect()] == [0, 1]


def test_a_batch_whose_first_message_waited_the_interval_closes_when_the_queue_empties() -> None:
    worker = service(flush_interval_s=LONG_S / 2, flush_idle_s=LONG_S)
    worker.inbox.put(item(0, waited_s=LONG_S))  # came while the last batch was committing
    worker.inbox.put(item(1))
    started = time.monotonic()
    batch = worker._collect()
    assert [i.mid for i in batch] == [0, 1]
    assert time.monotonic() - started < LONG_S / 2


def test_messages_that_waited_still_fill_the_batch() -> None:
    worker = service(flush_interval_s=1.0, flush_idle_s=LONG_S, batch_max_messages=3)
    for mid in range(4):
        worker.inbox.put(item(mid, waited_s=LONG_S))  # a backlog: none waits for the timer
    assert [i.mid for i in worker._collect()] == [0, 1, 2]
    assert [i.mid for i in worker._collect()] == [3]
