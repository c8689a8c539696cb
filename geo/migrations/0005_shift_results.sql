-- Planned against actual for each assignment, written by the dispatch engine when the shift is
-- over (and rewritten if the engine replays the day); read by waybills and reports.
CREATE TABLE fleet.shift_results (
    assignment_id       bigint PRIMARY KEY REFERENCES fleet.shift_assignments ON DELETE CASCADE,
    vehicle_id          bigint NOT NULL REFERENCES fleet.vehicles,
    driver_id           bigint REFERENCES fleet.drivers,
    trips_planned       integer NOT NULL,
    trips_served        integer NOT NULL,
    stops_planned       integer NOT NULL,
    stops_served        integer NOT NULL,
    km_planned          double precision NOT NULL,
    km_driven           double precision NOT NULL,
    hours_planned       double precision NOT NULL,
    hours_worked        double precision NOT NULL,
    timepoints          integer NOT NULL,
    timepoints_on_time  integer NOT NULL,
    punctuality         double precision,          -- share of timepoints on time; NULL: none seen
    deviations          jsonb NOT NULL DEFAULT '[]',  -- kind, start, end, magnitude, cause
    computed_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON fleet.shift_results (vehicle_id);
