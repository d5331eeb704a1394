-- GoTrack's events table, as GoTrack.Ingest creates it itself when PG_AUTO_MIGRATE=true (the default).
-- Run it by hand (psql -f deploy/local/init.sql) when GoTrack's database user may not create tables.
-- The DDL below is kept identical to GoTrack.Core/Postgres/PostgresSchema.cs by a test.
CREATE TABLE IF NOT EXISTS "events_json" (
    id       bigserial   PRIMARY KEY,
    event_id uuid        NOT NULL UNIQUE,
    ts       timestamptz NOT NULL,
    payload  jsonb       NOT NULL
);
CREATE INDEX IF NOT EXISTS "events_json_ts_idx" ON "events_json" (ts);
CREATE INDEX IF NOT EXISTS "events_json_payload_gin" ON "events_json" USING gin (payload);
