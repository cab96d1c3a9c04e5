-- Plain PostgreSQL: readings in native daily range partitions created ahead of need, plus
-- rollup tables (1 minute, 1 hour, 1 local day) that the service refreshes from a watermark.

CREATE TABLE readings (
    time          timestamptz NOT NULL,
    station_id    text NOT NULL,
    parameter_id  smallint NOT NULL,
    value         double precision NOT NULL,
    qc            smallint NOT NULL DEFAULT 2,
    device_status smallint NOT NULL DEFAULT 0,
    ingested_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT readings_identity UNIQUE (station_id, parameter_id, time)
) PARTITION BY RANGE (time);

-- Catches what no daily partition covers (old backfill), so no insert can ever fail for want
-- of a partition.
CREATE TABLE readings_default PARTITION OF readings DEFAULT;

-- Finds what arrived since the last rollup refresh; BRIN costs next to nothing on insert.
CREATE INDEX readings_ingested_at ON readings USING brin (ingested_at) WITH (autosummarize = on);

-- Creates the daily partitions from days_back before today to days_ahead after it (UTC days).
-- A day whose rows already sit in the default partition is left there.
CREATE FUNCTION aquawatch_ensure_partitions(days_back integer, days_ahead integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    day date;
    name text;
    created integer := 0;
BEGIN
    FOR day IN
        SELECT d::date FROM generate_series(
            (now() AT TIME ZONE 'UTC')::date - days_back,
            (now() AT TIME ZONE 'UTC')::date + days_ahead,
            interval '1 day') AS d
    LOOP
        name := format('readings_%s', to_char(day, 'YYYYMMDD'));
        CONTINUE WHEN to_regclass(name) IS NOT NULL;
        CONTINUE WHEN EXISTS (
            SELECT 1 FROM readings_default
            WHERE time >= (day::timestamp AT TIME ZONE 'UTC')
              AND time < ((day + 1)::timestamp AT TIME ZONE 'UTC'));
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF readings FOR VALUES FROM (%L) TO (%L)',
            name, day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC');
        created := created + 1;
    END LOOP;
    RETURN created;
END $$;

SELECT aquawatch_ensure_partitions(7, 14);

-- Rollups: the same names and columns as the TimescaleDB continuous aggregates, so both
-- flavours answer the same queries. Days are local days (Asia/Ho_Chi_Minh, UTC+7, no DST).
CREATE TABLE readings_1m (
    bucket       timestamptz NOT NULL,
    station_id   text NOT NULL,
    parameter_id smallint NOT NULL,
    n            bigint NOT NULL,
    mean         double precision NOT NULL,
    min          double precision NOT NULL,
    max          double precision NOT NULL,
    PRIMARY KEY (station_id, parameter_id, bucket)
);
CREATE TABLE readings_1h (LIKE readings_1m INCLUDING ALL);
CREATE TABLE readings_1d (LIKE readings_1m INCLUDING ALL);

CREATE TABLE rollup_watermark (
    id        boolean PRIMARY KEY DEFAULT true CHECK (id),
    watermark timestamptz NOT NULL
);
INSERT INTO rollup_watermark VALUES (true, '-infinity');

-- Recomputes every bucket touched by rows ingested since the watermark, up to now() - settle.
-- Rows are dated by their transaction's start, so settle must exceed the longest ingest
-- transaction. Returns the number of 1-minute buckets recomputed.
CREATE FUNCTION aquawatch_refresh_rollups(settle interval)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    origin constant timestamptz := '2000-01-01 00:00:00+07';
    low timestamptz;
    high timestamptz := now() - settle;
    touched bigint;
BEGIN
    SELECT watermark INTO low FROM rollup_watermark FOR UPDATE;
    IF high <= low THEN
        RETURN 0;
    END IF;

    CREATE TEMP TABLE rollup_dirty ON COMMIT DROP AS
        SELECT DISTINCT station_id, parameter_id, date_bin('1 minute', time, origin) AS bucket
        FROM readings WHERE ingested_at > low AND ingested_at <= high;
    GET DIAGNOSTICS touched = ROW_COUNT;

    INSERT INTO readings_1m (bucket, station_id, parameter_id, n, mean, min, max)
    SELECT d.bucket, d.station_id, d.parameter_id,
           count(*), avg(r.value), min(r.value), max(r.value)
    FROM rollup_dirty d
    JOIN readings r ON r.station_id = d.station_id AND r.parameter_id = d.parameter_id
                   AND r.time >= d.bucket AND r.time < d.bucket + interval '1 minute'
    GROUP BY d.bucket, d.station_id, d.parameter_id
    ON CONFLICT (station_id, parameter_id, bucket) DO UPDATE
        SET n = excluded.n, mean = excluded.mean, min = excluded.min, max = excluded.max;

    INSERT INTO readings_1h (bucket, station_id, parameter_id, n, mean, min, max)
    SELECT d.bucket, d.station_id, d.parameter_id,
           sum(m.n), sum(m.mean * m.n) / sum(m.n), min(m.min), max(m.max)
    FROM (SELECT DISTINCT station_id, parameter_id, date_bin('1 hour', bucket, origin) AS bucket
          FROM rollup_dirty) d
    JOIN readings_1m m ON m.station_id = d.station_id AND m.parameter_id = d.parameter_id
                      AND m.bucket >= d.bucket AND m.bucket < d.bucket + interval '1 hour'
    GROUP BY d.bucket, d.station_id, d.parameter_id
    ON CONFLICT (station_id, parameter_id, bucket) DO UPDATE
        SET n = excluded.n, mean = excluded.mean, min = excluded.min, max = excluded.max;

    INSERT INTO readings_1d (bucket, station_id, parameter_id, n, mean, min, max)
    SELECT d.bucket, d.station_id, d.parameter_id,
           sum(h.n), sum(h.mean * h.n) / sum(h.n), min(h.min), max(h.max)
    FROM (SELECT DISTINCT station_id, parameter_id, date_bin('1 day', bucket, origin) AS bucket
          FROM rollup_dirty) d
    JOIN readings_1h h ON h.station_id = d.station_id AND h.parameter_id = d.parameter_id
                      AND h.bucket >= d.bucket AND h.bucket < d.bucket + interval '1 day'
    GROUP BY d.bucket, d.station_id, d.parameter_id
    ON CONFLICT (station_id, parameter_id, bucket) DO UPDATE
        SET n = excluded.n, mean = excluded.mean, min = excluded.min, max = excluded.max;

    UPDATE rollup_watermark SET watermark = high;
    RETURN touched;
END $$;
