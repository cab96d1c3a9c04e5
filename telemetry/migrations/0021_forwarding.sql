-- Forwarding readings upstream as Circular 10/2021 files (aquawatch forward).
--
-- forward_log: one row per file per receiver. A file is marked 'sending' (committed) before
-- its upload starts and 'sent' after the receiver confirmed it, so after a crash the one file
-- left 'sending' is checked on the receiver before it is sent again.
CREATE TABLE forward_log (
    receiver   text NOT NULL,
    station_id text NOT NULL,
    file_time  timestamptz NOT NULL,
    name       text NOT NULL,
    size       integer NOT NULL CHECK (size >= 0),
    state      text NOT NULL CHECK (state IN ('sending', 'sent')),
    attempts   integer NOT NULL DEFAULT 1,
    sent_at    timestamptz,
    PRIMARY KEY (receiver, station_id, file_time)
);

-- Where each (receiver, station) stands: the newest instant sent, and the last failure.
CREATE TABLE forward_state (
    receiver        text NOT NULL,
    station_id      text NOT NULL,
    sent_until      timestamptz,
    last_sent_at    timestamptz,
    last_error      text,
    last_error_at   timestamptz,
    PRIMARY KEY (receiver, station_id)
);
