-- Login throttling without a lockout anyone can cause: failures are counted per (user name,
-- client), per client and per user name, and a client that has logged in as a user before is
-- remembered, so failures of that name from elsewhere do not hold it back.

CREATE TABLE login_clients (
    username     text NOT NULL,
    client       text NOT NULL,
    last_success timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (username, client)
);

-- Failures older than the window are deleted as new ones arrive.
CREATE INDEX login_failures_at ON login_failures (at);
