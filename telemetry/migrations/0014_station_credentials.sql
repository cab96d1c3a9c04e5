-- Each station's secret for MQTT and FTP, kept only as a PBKDF2-SHA512 hash in the form
-- Mosquitto's dynamic-security plugin stores (salt, iterations, hash), so the broker's
-- configuration can be written from this table without ever holding the secret.
CREATE TABLE station_credentials (
    station_id  text PRIMARY KEY REFERENCES stations (id) ON DELETE CASCADE,
    salt        bytea NOT NULL CHECK (length(salt) = 12),
    iterations  integer NOT NULL CHECK (iterations > 0),
    hash        bytea NOT NULL CHECK (length(hash) = 64),
    issued_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
