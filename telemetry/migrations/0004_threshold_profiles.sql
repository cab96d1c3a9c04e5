-- The rules in force at each station, as compiled from the threshold profiles (YAML files
-- that name their sources). Rewritten by the alert engine at start, so officers and the API
-- read exactly what the engine evaluates.
CREATE TABLE threshold_profiles (
    station_id       text NOT NULL,
    rule_id          text NOT NULL,
    profile          text NOT NULL,
    rule_set         text NOT NULL,
    family           text NOT NULL,
    quantity         text NOT NULL,
    series           text NOT NULL,
    average_s        double precision,
    direction        text NOT NULL CHECK (direction IN ('above', 'below')),
    units            text NOT NULL,
    advisory         double precision,
    warning          double precision,
    critical         double precision,
    advisory_source  text,
    warning_source   text,
    critical_source  text,
    min_duration_s   double precision NOT NULL,
    clear_band       double precision NOT NULL,
    clear_duration_s double precision NOT NULL,
    max_gap_s        double precision NOT NULL,
    message_vi       text NOT NULL,
    message_en       text NOT NULL,
    source           text NOT NULL,
    verify           boolean NOT NULL,
    options          jsonb NOT NULL,
    basis            text,
    override_source  text,
    digest           text NOT NULL,   -- sha256 of the profile files it was compiled from
    synced_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (station_id, rule_id)
);
