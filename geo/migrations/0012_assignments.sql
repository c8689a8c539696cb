-- Several assignments a day per vehicle (dispatch/assignments.hpp): each names its feed and the
-- time zone its service date is local to, can be cancelled with a reason, and every change to
-- one is announced on the channel `fleet_assignments` (payload: the assignment id), so that a
-- running fleetd applies it within seconds.

ALTER TABLE fleet.shift_assignments
    ADD COLUMN feed          text,   -- the feed of its trips, route and stops
    ADD COLUMN time_zone     text,   -- IANA zone of its service date: the feed's agency zone, or the one given
    ADD COLUMN updated_at    timestamptz,
    ADD COLUMN cancelled_at  timestamptz,
    ADD COLUMN cancel_reason text;

UPDATE fleet.shift_assignments a SET feed = coalesce(
    (SELECT t.feed FROM fleet.assignment_trips x JOIN fleet.trips t USING (trip_id)
      WHERE x.assignment_id = a.assignment_id ORDER BY x.seq LIMIT 1),
    (SELECT r.feed FROM fleet.routes r WHERE r.route_id = a.route_id),
    'local');
UPDATE fleet.shift_assignments a SET time_zone = coalesce(
    (SELECT f.agency -> 0 ->> 'agency_timezone' FROM fleet.feeds f WHERE f.feed = a.feed), 'UTC');
UPDATE fleet.shift_assignments SET cancelled_at = created_at WHERE status = 'cancelled';

ALTER TABLE fleet.shift_assignments
    ALTER COLUMN feed SET DEFAULT 'local',
    ALTER COLUMN feed SET NOT NULL,
    ALTER COLUMN time_zone SET DEFAULT 'UTC',
    ALTER COLUMN time_zone SET NOT NULL,
    ADD CONSTRAINT shift_assignments_status CHECK (status IN ('planned', 'cancelled')) NOT VALID;

-- Clashes are looked for by driver and by trip on a service date.
CREATE INDEX ON fleet.shift_assignments (service_date, driver_id) WHERE driver_id IS NOT NULL;
CREATE INDEX ON fleet.assignment_trips (trip_id);

-- The start of a GTFS service day in `zone`: noon minus 12 h, so that a time past 24:00 falls on
-- the next calendar day and the day of a clock change is still counted from "midnight".
CREATE FUNCTION fleet.service_day_start(day date, zone text)
RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT ((day + time '12:00') AT TIME ZONE zone) - interval '12 hours'
$$;

-- The time each assignment's work takes: the shift start and end when given, else its trips'
-- first departure and last arrival; with the blocks its trips belong to.
CREATE VIEW fleet.assignment_work AS
SELECT a.assignment_id, a.service_date, a.vehicle_id, a.driver_id, a.kind, a.feed, a.time_zone,
       a.status, a.block_code, a.route_id,
       coalesce(a.planned_start, w.first_departure) AS work_start,
       coalesce(a.planned_end, w.last_arrival) AS work_end,
       coalesce(w.blocks, '{}') AS blocks
  FROM fleet.shift_assignments a
  LEFT JOIN LATERAL (
      SELECT fleet.service_day_start(a.service_date, a.time_zone)
               + min(coalesce(st.departure_s, st.arrival_s)) * interval '1 second' AS first_departure,
             fleet.service_day_start(a.service_date, a.time_zone)
               + max(coalesce(st.arrival_s, st.departure_s)) * interval '1 second' AS last_arrival,
             array_agg(DISTINCT t.block_code) FILTER (WHERE t.block_code IS NOT NULL) AS blocks
        FROM fleet.assignment_trips x
        JOIN fleet.trips t USING (trip_id)
        JOIN fleet.stop_times st USING (trip_id)
       WHERE x.assignment_id = a.assignment_id) w ON a.kind = 'timetable';

CREATE FUNCTION fleet.notify_assignment_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Identical notifications of one transaction are delivered once, at its commit.
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM pg_notify('fleet_assignments', OLD.assignment_id::text);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM pg_notify('fleet_assignments', NEW.assignment_id::text);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER shift_assignments_notify AFTER INSERT OR UPDATE OR DELETE ON fleet.shift_assignments
    FOR EACH ROW EXECUTE FUNCTION fleet.notify_assignment_change();
CREATE TRIGGER assignment_trips_notify AFTER INSERT OR UPDATE OR DELETE ON fleet.assignment_trips
    FOR EACH ROW EXECUTE FUNCTION fleet.notify_assignment_change();
CREATE TRIGGER assignment_stops_notify AFTER INSERT OR UPDATE OR DELETE ON fleet.assignment_stops
    FOR EACH ROW EXECUTE FUNCTION fleet.notify_assignment_change();
