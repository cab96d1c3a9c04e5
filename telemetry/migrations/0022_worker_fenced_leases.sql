-- A station's lease lives as long as its owner's row in alert_workers (issue 15): a tick
-- renews and locks that one row instead of every station's, and a worker takes a dead one's
-- stations only by deleting its row, which waits for any tick it has open. The per-station
-- expiry is no longer read.
ALTER TABLE station_leases DROP COLUMN expires_at;
