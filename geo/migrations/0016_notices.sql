-- Road and weather notices and dispatchers' messages to drivers (dispatch/notices.hpp), their
-- deliveries with every state a delivery passes through and the drivers' replies, and the
-- journal made append-only.

-- A notice: what (category, severity, a short text for terminal screens and a full text),
-- when (valid_from .. valid_until) and where: an area (a polygon, or the buffer of `buffer_m`
-- metres around the drawn `line`, kept as drawn), and/or routes and stops.
-- A message is a notice addressed to drivers (by driver, vehicle, group or route) rather than to
-- an area, offering the driver canned replies.
ALTER TABLE fleet.notices
    ADD COLUMN kind            text NOT NULL DEFAULT 'notice',
    ADD COLUMN replies         text[] NOT NULL DEFAULT '{}',
    ADD COLUMN category        text NOT NULL DEFAULT 'other',
    ADD COLUMN short_text      text NOT NULL DEFAULT '',
    ADD COLUMN line            geometry(Geometry, 4326),
    ADD COLUMN buffer_m        double precision,
    ADD COLUMN withdrawn_at    timestamptz,
    ADD COLUMN withdrawn_by    text,
    ADD COLUMN withdraw_reason text,
    ADD CONSTRAINT notices_kind CHECK (kind IN ('notice', 'message')),
    ADD CONSTRAINT notices_category CHECK (category IN (
        'closure', 'road_works', 'accident', 'congestion', 'ice', 'snow', 'fog', 'storm',
        'flooding', 'other')),
    ADD CONSTRAINT notices_severity CHECK (severity BETWEEN 1 AND 3),
    ADD CONSTRAINT notices_validity CHECK (valid_until IS NULL OR valid_until > valid_from);

CREATE TABLE fleet.notice_routes (
    notice_id bigint NOT NULL REFERENCES fleet.notices ON DELETE CASCADE,
    route_id  bigint NOT NULL REFERENCES fleet.routes ON DELETE CASCADE,
    PRIMARY KEY (notice_id, route_id)
);
CREATE TABLE fleet.notice_stops (
    notice_id bigint NOT NULL REFERENCES fleet.notices ON DELETE CASCADE,
    stop_id   bigint NOT NULL REFERENCES fleet.stops ON DELETE CASCADE,
    PRIMARY KEY (notice_id, stop_id)
);

-- One delivery per notice and driver, whichever rule found the driver first:
--   inside      the driver's vehicle was inside the area when the notice was made;
--   assignment  the driver's assignment passes through the area (or runs on one of the routes,
--               or calls at one of the stops) during the validity;
--   entered     the driver's vehicle entered the area later, while the notice was valid;
--   addressed   a message's addressee: the driver, the driver of the vehicle, of a vehicle of the
--               group, or on the route.
-- The state moves queued → sent (written to the device's connection) → delivered (the device
-- answered) → read (the driver's receipt); or ends expired (validity over before it reached
-- the device), failed (the device cannot carry it: `failure` says why) or withdrawn (the
-- notice was withdrawn before it was sent). A withdrawal goes to every device that got the
-- notice: withdrawal_state queued → sent → delivered.
ALTER TABLE fleet.notice_deliveries
    ADD COLUMN state                   text NOT NULL DEFAULT 'queued',
    ADD COLUMN rule                    text NOT NULL DEFAULT 'inside',
    ADD COLUMN assignment_id           bigint REFERENCES fleet.shift_assignments ON DELETE SET NULL,
    ADD COLUMN queued_at               timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN attempts                integer NOT NULL DEFAULT 0,
    ADD COLUMN expired_at              timestamptz,
    ADD COLUMN failed_at               timestamptz,
    ADD COLUMN failure                 text,
    ADD COLUMN withdrawal_state        text,
    ADD COLUMN withdrawal_sent_at      timestamptz,
    ADD COLUMN withdrawal_delivered_at timestamptz,
    ADD COLUMN reply_kind              text,
    ADD COLUMN reply_text              text,
    ADD COLUMN replied_at              timestamptz,
    ADD CONSTRAINT notice_deliveries_state CHECK (state IN (
        'queued', 'sent', 'delivered', 'read', 'expired', 'failed', 'withdrawn')),
    ADD CONSTRAINT notice_deliveries_rule CHECK (rule IN ('inside', 'assignment', 'entered',
        'addressed')),
    ADD CONSTRAINT notice_deliveries_reply CHECK (reply_kind IN (
        'acknowledged', 'cannot_comply', 'canned', 'free_text')),
    ADD CONSTRAINT notice_deliveries_withdrawal CHECK (withdrawal_state IN (
        'queued', 'sent', 'delivered'));
-- What is still to be sent to a vehicle when its device connects.
CREATE INDEX ON fleet.notice_deliveries (vehicle_id)
    WHERE state IN ('queued', 'sent') OR withdrawal_state IN ('queued', 'sent');

-- Every change to a notice is announced on `fleet_notices` (payload: the notice id), so that a
-- running fleetd targets and sends a notice made by fleetctl within a second.
CREATE FUNCTION fleet.notify_notice_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('fleet_notices', NEW.notice_id::text);
    RETURN NULL;
END $$;
CREATE TRIGGER notices_notify AFTER INSERT OR UPDATE ON fleet.notices
    FOR EACH ROW EXECUTE FUNCTION fleet.notify_notice_change();

-- The journal names the notice an entry concerns, the counterpart of a communication
-- (a customer, a loading point, a depot, a station), and the entry an entry corrects.
ALTER TABLE fleet.journal
    ADD COLUMN notice_id   bigint REFERENCES fleet.notices ON DELETE SET NULL,
    ADD COLUMN counterpart text,
    ADD COLUMN corrects    bigint REFERENCES fleet.journal;
CREATE INDEX ON fleet.journal (notice_id) WHERE notice_id IS NOT NULL;

-- The journal is append-only: an entry is never changed or deleted; a correction is a new
-- entry that names the one it corrects. The one change let through is a link to a vehicle,
-- driver, waybill, assignment or notice falling away when that row is deleted (ON DELETE SET
-- NULL): what the entry says stays as written.
CREATE FUNCTION fleet.journal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND (NEW.entry_id, NEW.recorded_at, NEW.actor, NEW.action, NEW.subject, NEW.details,
            NEW.kind, NEW.counterpart, NEW.corrects)
           IS NOT DISTINCT FROM
           (OLD.entry_id, OLD.recorded_at, OLD.actor, OLD.action, OLD.subject, OLD.details,
            OLD.kind, OLD.counterpart, OLD.corrects)
       AND (NEW.vehicle_id IS NULL OR NEW.vehicle_id = OLD.vehicle_id)
       AND (NEW.driver_id IS NULL OR NEW.driver_id = OLD.driver_id)
       AND (NEW.waybill_id IS NULL OR NEW.waybill_id = OLD.waybill_id)
       AND (NEW.assignment_id IS NULL OR NEW.assignment_id = OLD.assignment_id)
       AND (NEW.notice_id IS NULL OR NEW.notice_id = OLD.notice_id) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'journal entry % cannot be changed or deleted: the journal is append-only (record a correcting entry that refers to it)',
        OLD.entry_id USING ERRCODE = 'check_violation';
END $$;
CREATE TRIGGER journal_append_only BEFORE UPDATE OR DELETE ON fleet.journal
    FOR EACH ROW EXECUTE FUNCTION fleet.journal_append_only();
CREATE FUNCTION fleet.refuse_journal_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the journal is append-only and is kept' USING ERRCODE = 'check_violation';
END $$;
CREATE TRIGGER journal_not_truncated BEFORE TRUNCATE ON fleet.journal
    FOR EACH STATEMENT EXECUTE FUNCTION fleet.refuse_journal_truncate();
