-- Deviation events as the dispatch engine reports them: opened, updated and closed by the same
-- identity (vehicle, kind, start, and the stop for stop events), so that reports are idempotent
-- and an engine that replays a day after a restart updates its events instead of doubling them.
ALTER TABLE fleet.events
    ADD COLUMN trip_id bigint REFERENCES fleet.trips ON DELETE SET NULL,
    ADD COLUMN discriminator text NOT NULL DEFAULT '',
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
CREATE UNIQUE INDEX events_identity ON fleet.events (vehicle_id, kind, started_at, discriminator);
CREATE INDEX events_open ON fleet.events (vehicle_id) WHERE ended_at IS NULL;
