-- Alert workers share the stations through leases (issue 15). A worker beats in
-- alert_workers every tick; it owns a station while station_leases names it, renews its
-- leases every tick and locks them for the tick's transaction, so a worker that lost a lease
-- (stopped longer than the lease, and another took it) cannot commit for that station.
-- Lease times are the workers' clocks (kept on NTP): only when a lease may be taken depends
-- on them; who may write never does.
CREATE TABLE alert_workers (
    worker     text PRIMARY KEY,
    expires_at timestamptz NOT NULL  -- counted among the live workers until then
);

CREATE TABLE station_leases (
    station_id text PRIMARY KEY,
    owner      text,                 -- null: free to take
    expires_at timestamptz NOT NULL DEFAULT '-infinity'  -- others may take it from then on
);
CREATE INDEX station_leases_owner ON station_leases (owner);
