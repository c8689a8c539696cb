-- Freight work and per-route rules for the dispatch engine.

-- The planned stops of a freight (delivery) assignment, in travel order along its route: a place
-- (a known stop or a point of its own), an arrival radius and the window to arrive in.
CREATE TABLE fleet.assignment_stops (
    assignment_id  bigint NOT NULL REFERENCES fleet.shift_assignments ON DELETE CASCADE,
    seq            integer NOT NULL CHECK (seq > 0),
    stop_id        bigint REFERENCES fleet.stops ON DELETE SET NULL,  -- the place was a known stop
    name           text NOT NULL,
    geom           geometry(Point, 4326) NOT NULL,
    radius_m       real CHECK (radius_m > 0),                       -- NULL: the stop-radius threshold
    window_from    timestamptz NOT NULL,
    window_to      timestamptz NOT NULL,
    PRIMARY KEY (assignment_id, seq),
    CHECK (window_to >= window_from)
);
CREATE INDEX ON fleet.assignment_stops (stop_id);

-- A freight assignment names its route and its shift times (rows older than this rule are left
-- as they are).
ALTER TABLE fleet.shift_assignments ADD CONSTRAINT shift_assignments_freight_planned
    CHECK (kind <> 'freight' OR (route_id IS NOT NULL AND planned_start IS NOT NULL
                                 AND planned_end > planned_start)) NOT VALID;

-- A route's own thresholds, overriding fleetd's configuration on trips of that route. `name` is
-- the configuration key (late-after, on-route-distance, ...); fleetctl route-threshold checks
-- names and ranges, and the engine ignores a name it does not know.
CREATE TABLE fleet.route_thresholds (
    route_id  bigint NOT NULL REFERENCES fleet.routes ON DELETE CASCADE,
    name      text NOT NULL,
    value     double precision NOT NULL,
    PRIMARY KEY (route_id, name)
);

-- Speed limits along a route: [from_m, to_m) in metres along the route's line (fleet.routes.geom),
-- never overlapping (setting a stretch replaces what it covers).
CREATE TABLE fleet.route_speed_limits (
    route_id   bigint NOT NULL REFERENCES fleet.routes ON DELETE CASCADE,
    from_m     double precision NOT NULL CHECK (from_m >= 0),
    to_m       double precision NOT NULL,
    limit_kmh  real NOT NULL CHECK (limit_kmh > 0),
    PRIMARY KEY (route_id, from_m),
    CHECK (to_m > from_m)
);
