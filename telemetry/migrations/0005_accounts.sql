-- Accounts for the HTTP API: people with a role, API keys with scopes for integrations,
-- failed logins (rate limiting) and the audit log of every change made through the API.

CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      text NOT NULL UNIQUE,
    role          text NOT NULL CHECK (role IN ('admin', 'officer', 'viewer')),
    password_hash text NOT NULL,   -- argon2id, parameters in the hash
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Keys look like aw_<prefix>_<secret>; only the secret's sha256 is kept (the secret has
-- 256 bits of entropy, so a fast hash is enough).
CREATE TABLE api_keys (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    prefix        text NOT NULL UNIQUE,
    secret_sha256 text NOT NULL,
    name          text NOT NULL,
    scopes        text[] NOT NULL,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);

-- Failed password logins, counted per user name and per client address over a window.
CREATE TABLE login_failures (
    username text NOT NULL,
    client   text NOT NULL,
    at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_username ON login_failures (username, at);
CREATE INDEX login_failures_client ON login_failures (client, at);

-- Every change made through the API, written in the change's own transaction.
CREATE TABLE audit_log (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     timestamptz NOT NULL DEFAULT now(),
    actor  text NOT NULL,            -- user:<name> or key:<prefix>
    action text NOT NULL,            -- e.g. alert.acknowledge, user.create
    target text NOT NULL,            -- e.g. alert:42, station:KG-SR-01/shrimp.do.low
    before jsonb,
    after  jsonb
);
CREATE INDEX audit_log_at ON audit_log (at, id);

-- Limits changed through the API, layered over the compiled rules in threshold_profiles:
-- a station's override wins over an edit of its profile's rule, which wins over the file.
-- Each changed limit names its source, as the profile files do.
CREATE TABLE profile_edits (
    profile    text NOT NULL,
    rule_id    text NOT NULL,
    advisory   double precision,
    warning    double precision,
    critical   double precision,
    source     text NOT NULL,
    updated_by text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (profile, rule_id)
);

CREATE TABLE threshold_overrides (
    station_id text NOT NULL,
    rule_id    text NOT NULL,
    advisory   double precision,
    warning    double precision,
    critical   double precision,
    source     text NOT NULL,
    updated_by text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (station_id, rule_id)
);
