-- The gateway's id of a reply (Kannel's %I), so a reply delivered twice is acted on once.
-- Optional: a gateway that passes none stores NULL, and NULLs never conflict.
ALTER TABLE inbound_messages ADD COLUMN gateway_id text;
ALTER TABLE inbound_messages ADD CONSTRAINT inbound_messages_gateway_id_key UNIQUE (gateway_id);
