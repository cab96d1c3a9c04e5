-- Tables every flavour shares. The readings table and its rollups are per flavour (0002).

CREATE TABLE parameters (
    id      smallint PRIMARY KEY,
    code    text NOT NULL UNIQUE,
    unit    text NOT NULL,
    name_vi text NOT NULL,
    name_en text NOT NULL
);

CREATE TABLE stations (
    id                  text PRIMARY KEY,
    kind                text NOT NULL,
    name_vi             text NOT NULL,
    name_en             text NOT NULL,
    district            text NOT NULL,
    latitude            double precision NOT NULL,
    longitude           double precision NOT NULL,
    timezone            text NOT NULL DEFAULT 'Asia/Ho_Chi_Minh',
    sampling_interval_s integer NOT NULL CHECK (sampling_interval_s > 0),
    parameters          text[] NOT NULL,
    example_site        boolean NOT NULL DEFAULT false,
    clone_of            text,
    active              boolean NOT NULL DEFAULT true,
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE boards (
    id         text PRIMARY KEY,
    name_vi    text NOT NULL,
    name_en    text NOT NULL,
    location   text NOT NULL,
    latitude   double precision NOT NULL,
    longitude  double precision NOT NULL,
    stations   text[] NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The last status a station announced on its retained status topic (or its will message).
CREATE TABLE station_status (
    station_id  text PRIMARY KEY,
    state       text NOT NULL CHECK (state IN ('online', 'offline')),
    reported_at timestamptz,
    fw          text,
    battery_v   double precision,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- Every message the ingester could not accept: raw bytes kept so nothing is lost.
CREATE TABLE rejects (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    topic       text NOT NULL,
    reason      text NOT NULL,
    detail      text NOT NULL,
    payload     bytea NOT NULL
);
CREATE INDEX rejects_received_at ON rejects (received_at);
CREATE INDEX rejects_reason ON rejects (reason, received_at);
