-- Views that QGIS (or any OGR tool) opens directly: each has a single integer key column `id`,
-- the vehicle's registration joined, and one geometry column `geom` whose type and SRID are
-- declared by a cast, so that geometry_columns (and QGIS, ogrinfo) list them with their type
-- instead of as "Geometry" of unknown SRID.

-- Each vehicle's track per day (UTC days) as a LineString of its valid fixes in device-time
-- order, with its length in metres, its first and last fix and the number of fixes; a day with
-- fewer than 2 valid fixes has no line and is left out. `id` is the vehicle id times 100000
-- plus the day's number since 2000-01-01: stable from one query to the next, so that QGIS can
-- keep it as the key. Filter on vehicle_id and day: the grouping reads every fix of the days
-- it keeps.
CREATE VIEW fleet.gis_daily_tracks AS
SELECT (d.vehicle_id * 100000 + (d.day - date '2000-01-01'))::bigint AS id,
       d.vehicle_id, v.registration, d.day, d.first_fix, d.last_fix, d.fixes,
       ST_Length(d.line::geography) AS length_m,
       d.line::geometry(LineString, 4326) AS geom
  FROM (SELECT p.vehicle_id, (p.device_time AT TIME ZONE 'UTC')::date AS day,
               min(p.device_time) AS first_fix, max(p.device_time) AS last_fix,
               count(*) AS fixes, ST_MakeLine(p.geom ORDER BY p.device_time) AS line
          FROM fleet.positions p
         WHERE p.valid
         GROUP BY p.vehicle_id, (p.device_time AT TIME ZONE 'UTC')::date
        HAVING count(*) >= 2) d
  JOIN fleet.vehicles v USING (vehicle_id);

-- The current state of each vehicle that has reported a fix: its latest position, the device's
-- latest status (fleet.vehicle_status), its assignment today (the service day in the
-- assignment's own zone; of several, the one whose work is under way, else the next, else the
-- last), and its open events: how many, their kinds, and the schedule deviation in seconds of
-- an open "late" or "early" event (positive late, negative early: the engine's latest
-- details.deviation_s, else the event's magnitude). `id` is the vehicle id.
CREATE VIEW fleet.gis_vehicle_state AS
SELECT v.vehicle_id AS id, v.registration, v.vehicle_class,
       l.device_time AS fix_time, l.speed_kmh, l.course_deg, l.valid, l.ignition,
       s.reported_at AS status_time, s."values"::text AS status,
       a.assignment_id, a.kind AS assignment_kind, a.block_code, r.code AS route,
       d.full_name AS driver, a.work_start, a.work_end,
       coalesce(e.open_events, 0)::integer AS open_events, e.open_kinds,
       e.deviation_s,
       l.geom::geometry(Point, 4326) AS geom
  FROM fleet.vehicles v
  JOIN fleet.latest_positions l USING (vehicle_id)
  LEFT JOIN fleet.vehicle_status s USING (vehicle_id)
  LEFT JOIN LATERAL (
      SELECT w.*
        FROM fleet.assignment_work w
       WHERE w.vehicle_id = v.vehicle_id AND w.status = 'planned'
         AND w.service_date = (now() AT TIME ZONE w.time_zone)::date
       ORDER BY (now() >= w.work_start AND now() < w.work_end) DESC NULLS LAST,
                (w.work_start > now()) DESC NULLS LAST,
                CASE WHEN w.work_start > now() THEN w.work_start END,
                w.work_start DESC NULLS LAST, w.assignment_id
       LIMIT 1) a ON true
  LEFT JOIN fleet.routes r ON r.route_id = a.route_id
  LEFT JOIN fleet.drivers d ON d.driver_id = a.driver_id
  LEFT JOIN LATERAL (
      SELECT count(*) AS open_events,
             string_agg(DISTINCT x.kind, ',' ORDER BY x.kind) AS open_kinds,
             max(CASE WHEN x.kind IN ('late', 'early') THEN coalesce(
                     (x.details ->> 'deviation_s')::double precision,
                     CASE x.kind WHEN 'late' THEN x.magnitude ELSE -x.magnitude END) END)
               AS deviation_s
        FROM fleet.events x
       WHERE x.vehicle_id = v.vehicle_id AND x.ended_at IS NULL) e ON true;

-- Events by the type of their place: a view of those at a point, one of those along a line
-- (an off-route stretch). The CASE keeps the cast from ever seeing a geometry of the other
-- type, whatever order the planner evaluates a caller's filters in. `id` is the event id.
CREATE VIEW fleet.gis_event_points AS
SELECT e.event_id AS id, e.vehicle_id, v.registration, e.kind, e.started_at, e.ended_at,
       e.ended_at IS NULL AS open, e.magnitude, e.cause, e.assignment_id, e.trip_id,
       e.details::text AS details,
       (CASE WHEN GeometryType(e.geom) = 'POINT' THEN e.geom END)::geometry(Point, 4326) AS geom
  FROM fleet.events e
  JOIN fleet.vehicles v USING (vehicle_id)
 WHERE GeometryType(e.geom) = 'POINT';

CREATE VIEW fleet.gis_event_lines AS
SELECT e.event_id AS id, e.vehicle_id, v.registration, e.kind, e.started_at, e.ended_at,
       e.ended_at IS NULL AS open, e.magnitude, e.cause, e.assignment_id, e.trip_id,
       e.details::text AS details,
       ST_Length(e.geom::geography) AS length_m,
       (CASE WHEN GeometryType(e.geom) = 'LINESTRING' THEN e.geom END)::geometry(LineString, 4326)
         AS geom
  FROM fleet.events e
  JOIN fleet.vehicles v USING (vehicle_id)
 WHERE GeometryType(e.geom) = 'LINESTRING';

COMMENT ON VIEW fleet.gis_daily_tracks IS 'each vehicle''s track per UTC day, for QGIS (key: id)';
COMMENT ON VIEW fleet.gis_vehicle_state IS 'each vehicle''s latest position, assignment today and open events, for QGIS (key: id)';
COMMENT ON VIEW fleet.gis_event_points IS 'events at a point, for QGIS (key: id)';
COMMENT ON VIEW fleet.gis_event_lines IS 'events along a line, for QGIS (key: id)';
