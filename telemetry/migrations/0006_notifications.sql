-- SMS notifications: subscribers, what they follow, the outbox, and the messages they send us.

CREATE TABLE subscribers (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL,
    phone        text NOT NULL UNIQUE CHECK (phone ~ '^\+84[35789][0-9]{8}$'),  -- E.164
    role         text NOT NULL CHECK (role IN ('farmer', 'officer')),
    language     text NOT NULL DEFAULT 'vi' CHECK (language IN ('vi', 'en')),
    diacritics   boolean NOT NULL DEFAULT false,   -- UCS-2 with diacritics, else GSM-7
    min_severity smallint NOT NULL DEFAULT 2 CHECK (min_severity BETWEEN 1 AND 3),
    quiet_start  time,                             -- local time; critical alerts ignore it
    quiet_end    time,
    on_duty      boolean NOT NULL DEFAULT false,   -- officers who get escalations and notices
    opted_out_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((quiet_start IS NULL) = (quiet_end IS NULL))
);

CREATE TABLE subscriptions (
    subscriber_id bigint NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    station_id    text NOT NULL,
    PRIMARY KEY (subscriber_id, station_id)
);
CREATE INDEX subscriptions_station ON subscriptions (station_id);

-- The outbox: one row per message and recipient, written in the transaction that causes it.
CREATE TABLE notifications (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    subscriber_id   bigint REFERENCES subscribers (id) ON DELETE SET NULL,
    phone           text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('alert', 'escalation', 'resolved', 'digest',
                                                  'budget', 'optout', 'ack', 'ack_refused',
                                                  'help')),
    alert_id        bigint REFERENCES alerts (id),
    station_id      text,
    rule_id         text,
    severity        smallint NOT NULL DEFAULT 1,
    -- pending → sending → sent → delivered; or held (for a digest) → digested; or failed,
    -- undelivered, suppressed (a rate limit), cancelled (moot before it was sent).
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sending', 'sent', 'delivered', 'failed',
                                     'undelivered', 'held', 'digested', 'suppressed',
                                     'cancelled')),
    reason          text,
    text            text,          -- fixed when first claimed, so a retry sends the same words
    coding          smallint,
    segments        smallint,
    not_before      timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    claimed_by      text,
    claimed_at      timestamptz,
    sent_at         timestamptz,
    delivered_at    timestamptz,
    dlr_status      smallint,
    digest_id       bigint REFERENCES notifications (id),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_due ON notifications (not_before, id) WHERE state = 'pending';
CREATE INDEX notifications_recipient ON notifications (subscriber_id, created_at);
CREATE INDEX notifications_sending ON notifications (claimed_at) WHERE state = 'sending';
CREATE INDEX notifications_sent ON notifications (sent_at);
-- At most one digest waiting per subscriber: held alerts join it.
CREATE UNIQUE INDEX notifications_one_digest ON notifications (subscriber_id)
    WHERE kind = 'digest' AND state = 'pending';

-- Messages phones sent us (Kannel MO), and what was done with each.
CREATE TABLE inbound_messages (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sender        text NOT NULL,
    receiver      text,
    text          text NOT NULL,
    subscriber_id bigint REFERENCES subscribers (id) ON DELETE SET NULL,
    action        text NOT NULL CHECK (action IN ('ack', 'ack_refused', 'optout', 'help',
                                                  'unknown_sender')),
    alert_id      bigint REFERENCES alerts (id),
    received_at   timestamptz NOT NULL DEFAULT now()
);
