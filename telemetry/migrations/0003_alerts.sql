-- Alerts: one row per episode of a rule's condition at a station, its transitions as events.

CREATE TABLE alerts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    station_id  text NOT NULL,
    rule_id     text NOT NULL,
    family      text NOT NULL
                CHECK (family IN ('threshold', 'trend', 'pollution', 'risk', 'quality', 'offline')),
    severity    smallint NOT NULL CHECK (severity BETWEEN 1 AND 3),  -- advisory, warning, critical
    state       text NOT NULL DEFAULT 'open'
                CHECK (state IN ('open', 'acknowledged', 'resolved')),
    -- Data time the condition became due (held for its minimum duration): with station and
    -- rule, the episode's identity, so re-deriving it after a restart changes nothing.
    opened_at   timestamptz NOT NULL,
    resolved_at timestamptz,
    resolved_by text,                            -- 'engine' or the user who resolved it
    late        boolean NOT NULL DEFAULT false,  -- raised from late or backfilled data
    value       double precision,
    details     jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT alerts_episode UNIQUE (station_id, rule_id, opened_at)
);
-- At most one open (or acknowledged) alert per station and rule.
CREATE UNIQUE INDEX alerts_one_open ON alerts (station_id, rule_id) WHERE state <> 'resolved';
CREATE INDEX alerts_state ON alerts (state, severity, opened_at);

CREATE TABLE alert_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id   bigint NOT NULL REFERENCES alerts (id),
    kind       text NOT NULL
               CHECK (kind IN ('opened', 'escalated', 'acknowledged', 'resolved')),
    severity   smallint NOT NULL,
    data_time  timestamptz,        -- when, in the data, it happened (null for people's actions)
    actor      text NOT NULL,      -- 'engine' or the user who acted
    note       text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_events_alert ON alert_events (alert_id, id);

-- How far the alert engine has read: rows ingested up to this instant were evaluated.
CREATE TABLE alert_watermarks (
    worker     text PRIMARY KEY,
    watermark  timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
