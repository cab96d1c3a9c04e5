-- What the Circular 10/2021 file transport needs from the registry, and the inbox's ledger.
--
-- file_code: the station's code in file names (<CODE>_<YYYYMMDDhhmmss>.txt), its id when the
-- registry names none. transport: how the station sends (mqtt, ftp or both). province: the
-- current province (Kiên Giang was merged into An Giang on 1 July 2025); former_province the
-- one before, kept for the record (district stays the former district).
ALTER TABLE stations
    ADD COLUMN file_code text,
    ADD COLUMN transport text NOT NULL DEFAULT 'mqtt' CHECK (transport IN ('mqtt', 'ftp', 'both')),
    ADD COLUMN province text,
    ADD COLUMN former_province text;
UPDATE stations SET file_code = id;
ALTER TABLE stations ALTER COLUMN file_code SET NOT NULL;
ALTER TABLE stations ADD CONSTRAINT stations_file_code_key UNIQUE (file_code);

-- A station written without a file code (by anything but the registry sync) files as its id.
CREATE FUNCTION stations_default_file_code() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.file_code := coalesce(NEW.file_code, NEW.id);
    RETURN NEW;
END
$$;
CREATE TRIGGER stations_default_file_code BEFORE INSERT OR UPDATE ON stations
    FOR EACH ROW EXECUTE FUNCTION stations_default_file_code();

-- One row per file the inbox took, written in the transaction that stores its readings or its
-- reject: a file found again after a crash (or uploaded again, byte for byte) is recognised by
-- its key, sha256 of station, file name and content, and only moved on, never stored twice.
CREATE TABLE inbox_files (
    key         bytea PRIMARY KEY CHECK (length(key) = 32),
    station_id  text NOT NULL,
    name        text NOT NULL,
    outcome     text NOT NULL CHECK (outcome IN ('stored', 'rejected')),
    reason      text,
    readings    integer NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inbox_files_received_at ON inbox_files (received_at);
