-- Late history waiting for the alert engine's history pass: per station, the data-time
-- range of readings that arrived dated before the engine's live window (a logger's buffer
-- after a long outage, an FTP backlog, an import). The tick that reads them queues the
-- range in its own transaction; the history pass flags and evaluates it a chunk at a time
-- and shrinks or deletes the row in the chunk's transaction.
CREATE TABLE qc_backlog (
    station_id text PRIMARY KEY,
    from_time  timestamptz NOT NULL,
    to_time    timestamptz NOT NULL,
    queued_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (from_time <= to_time)
);
