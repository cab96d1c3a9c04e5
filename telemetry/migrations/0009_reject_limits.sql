-- Rejects are bounded: a row keeps the first bytes of its payload (AQUAWATCH_REJECT_RAW_MAX_BYTES)
-- with the payload's full size, the ingest workers delete rows older than
-- AQUAWATCH_REJECT_RETENTION_DAYS, and the count of rejects per day and reason is kept apart so
-- that the statistics outlive the rows. Plain tables on every flavour.

ALTER TABLE rejects ADD COLUMN payload_size integer;
UPDATE rejects SET payload_size = length(payload);
ALTER TABLE rejects ALTER COLUMN payload_size SET NOT NULL;
COMMENT ON COLUMN rejects.payload_size IS
    'size of the payload as received, in bytes; payload holds its first bytes only';

-- Updated in the transaction that stores the rejects; days are UTC dates.
CREATE TABLE reject_counts (
    day           date NOT NULL,
    reason        text NOT NULL,
    messages      bigint NOT NULL,
    payload_bytes bigint NOT NULL,
    PRIMARY KEY (day, reason)
);

INSERT INTO reject_counts (day, reason, messages, payload_bytes)
SELECT (received_at AT TIME ZONE 'UTC')::date, reason, count(*), sum(length(payload))
FROM rejects
GROUP BY 1, 2;
