-- TimescaleDB: readings as a hypertable (1-day chunks) compressed after 7 days, with
-- continuous aggregates of the same names and columns as the plain-PostgreSQL rollups
-- (readings_1m, readings_1h, readings_1d), so both flavours answer the same queries.
-- Days are local days (Asia/Ho_Chi_Minh, UTC+7, no DST); stacked aggregates must share one
-- bucket origin, and a +07:00 origin leaves minutes and hours where they were.

CREATE TABLE readings (
    time          timestamptz NOT NULL,
    station_id    text NOT NULL,
    parameter_id  smallint NOT NULL,
    value         double precision NOT NULL,
    qc            smallint NOT NULL DEFAULT 2,
    device_status smallint NOT NULL DEFAULT 0,
    ingested_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT readings_identity UNIQUE (station_id, parameter_id, time)
);

SELECT create_hypertable('readings', by_range('time', INTERVAL '1 day'));

ALTER TABLE readings SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'station_id, parameter_id',
    timescaledb.compress_orderby = 'time'
);
SELECT add_compression_policy('readings', INTERVAL '7 days');

CREATE MATERIALIZED VIEW readings_1m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 minute', time, origin => '2000-01-01 00:00:00+07'::timestamptz)
           AS bucket,
       station_id, parameter_id,
       count(*) AS n, avg(value) AS mean, min(value) AS min, max(value) AS max
FROM readings
GROUP BY 1, station_id, parameter_id
WITH NO DATA;

CREATE MATERIALIZED VIEW readings_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', bucket, origin => '2000-01-01 00:00:00+07'::timestamptz)
           AS bucket,
       station_id, parameter_id,
       sum(n)::bigint AS n, sum(mean * n) / sum(n) AS mean, min(min) AS min, max(max) AS max
FROM readings_1m
GROUP BY 1, station_id, parameter_id
WITH NO DATA;

CREATE MATERIALIZED VIEW readings_1d
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 day', bucket, origin => '2000-01-01 00:00:00+07'::timestamptz)
           AS bucket,
       station_id, parameter_id,
       sum(n)::bigint AS n, sum(mean * n) / sum(n) AS mean, min(min) AS min, max(max) AS max
FROM readings_1h
GROUP BY 1, station_id, parameter_id
WITH NO DATA;

-- Late and backfilled readings invalidate their buckets; the policies re-materialise them.
SELECT add_continuous_aggregate_policy('readings_1m', start_offset => INTERVAL '30 days',
    end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '1 minute');
SELECT add_continuous_aggregate_policy('readings_1h', start_offset => INTERVAL '30 days',
    end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '5 minutes');
SELECT add_continuous_aggregate_policy('readings_1d', start_offset => INTERVAL '60 days',
    end_offset => INTERVAL '1 day', schedule_interval => INTERVAL '1 hour');

-- The plain-PostgreSQL flavour's upkeep functions, here no-ops: TimescaleDB creates chunks
-- on demand and its policies refresh the aggregates. The ingest workers call them either way.
CREATE FUNCTION aquawatch_ensure_partitions(days_back integer, days_ahead integer)
RETURNS integer LANGUAGE sql AS $$ SELECT 0 $$;

CREATE FUNCTION aquawatch_refresh_rollups(settle interval)
RETURNS bigint LANGUAGE sql AS $$ SELECT 0::bigint $$;
