-- A login token names the account's token version; changing the password, the role or the
-- active flag increments it, so every token issued before is refused from then on.
ALTER TABLE users ADD COLUMN token_version integer NOT NULL DEFAULT 0;
