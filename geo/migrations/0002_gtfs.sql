-- GTFS static timetables (dispatch/gtfs): the imported feeds and their service days. Routes,
-- stops, shapes, trips and stop times live in the tables of 0001, their rows carrying the feed
-- name in `feed`.
CREATE TABLE fleet.feeds (
    feed         text PRIMARY KEY,                 -- the name rows of this feed carry in `feed`
    imported_at  timestamptz NOT NULL DEFAULT now(),
    source       text,                             -- where it was read from (a path)
    agency       jsonb NOT NULL DEFAULT '[]',      -- agency.txt rows
    counts       jsonb NOT NULL DEFAULT '{}'       -- rows stored per file
);

-- Weekly pattern of a service (calendar.txt); dates inclusive.
CREATE TABLE fleet.calendar (
    feed          text NOT NULL REFERENCES fleet.feeds ON DELETE CASCADE,
    service_code  text NOT NULL,                   -- GTFS service_id
    monday        boolean NOT NULL,
    tuesday       boolean NOT NULL,
    wednesday     boolean NOT NULL,
    thursday      boolean NOT NULL,
    friday        boolean NOT NULL,
    saturday      boolean NOT NULL,
    sunday        boolean NOT NULL,
    start_date    date NOT NULL,
    end_date      date NOT NULL,
    PRIMARY KEY (feed, service_code),
    CHECK (end_date >= start_date)
);

-- Exceptions to the pattern on single dates (calendar_dates.txt); a service may be defined by
-- these alone.
CREATE TABLE fleet.calendar_dates (
    feed            text NOT NULL REFERENCES fleet.feeds ON DELETE CASCADE,
    service_code    text NOT NULL,
    date            date NOT NULL,
    exception_type  smallint NOT NULL CHECK (exception_type IN (1, 2)),  -- 1 added, 2 removed
    PRIMARY KEY (feed, service_code, date)
);

-- The services of a feed that run on a day: the weekly pattern, minus the dates removed, plus
-- the dates added.
CREATE FUNCTION fleet.services_on(p_feed text, p_day date)
RETURNS SETOF text LANGUAGE sql STABLE AS $$
    SELECT c.service_code FROM fleet.calendar c
     WHERE c.feed = p_feed AND p_day BETWEEN c.start_date AND c.end_date
       AND (ARRAY[c.monday, c.tuesday, c.wednesday, c.thursday, c.friday, c.saturday,
                  c.sunday])[extract(isodow FROM p_day)::integer]
    EXCEPT
    SELECT d.service_code FROM fleet.calendar_dates d
     WHERE d.feed = p_feed AND d.date = p_day AND d.exception_type = 2
    UNION
    SELECT d.service_code FROM fleet.calendar_dates d
     WHERE d.feed = p_feed AND d.date = p_day AND d.exception_type = 1
$$;

-- Trips of a service day, and the foreign keys checked when a re-import removes stops, shapes
-- and trips.
CREATE INDEX ON fleet.trips (feed, service_code);
CREATE INDEX ON fleet.trips (shape_id);
CREATE INDEX ON fleet.stop_times (stop_id);
