-- What arrived since a watermark (the alert engine's tick, the rollup refresh) is found by a
-- btree on ingested_at, not the BRIN it replaces. The engine writes every reading's QC flag
-- back soon after it arrives, and each UPDATE puts the row's new version elsewhere in the
-- heap, so the BRIN's block ranges stopped excluding anything: every tick scanned the day's
-- partition (0.19 s of a 0.31 s tick at 10,000 stations with 200 reporting, bench/alerts).
-- Rows arrive in ingested_at order, so the btree grows at its right edge.
DROP INDEX readings_ingested_at;
CREATE INDEX readings_ingested_at ON readings (ingested_at);
