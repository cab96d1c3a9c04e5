-- What arrived since a watermark (the alert engine's tick) is found by a btree on
-- ingested_at, on every uncompressed chunk; compressed chunks get a minmax sparse index on it
-- from this btree (TimescaleDB 2.15 and later, timescaledb.auto_sparse_indexes), so their
-- batches are skipped without being decompressed.
CREATE INDEX readings_ingested_at ON readings (ingested_at);
