-- The operations journal names what each entry concerns, so that it can be read by vehicle,
-- driver, waybill or assignment, and by kind (geo/journal.hpp).
ALTER TABLE fleet.journal
    ADD COLUMN kind          text,
    ADD COLUMN vehicle_id    bigint REFERENCES fleet.vehicles ON DELETE SET NULL,
    ADD COLUMN driver_id     bigint REFERENCES fleet.drivers ON DELETE SET NULL,
    ADD COLUMN waybill_id    bigint REFERENCES fleet.waybills ON DELETE SET NULL,
    ADD COLUMN assignment_id bigint REFERENCES fleet.shift_assignments ON DELETE SET NULL;

UPDATE fleet.journal SET kind = split_part(action, ' ', 1);
ALTER TABLE fleet.journal ALTER COLUMN kind SET NOT NULL;

CREATE INDEX ON fleet.journal (kind, recorded_at);
CREATE INDEX ON fleet.journal (vehicle_id, recorded_at) WHERE vehicle_id IS NOT NULL;
CREATE INDEX ON fleet.journal (driver_id, recorded_at) WHERE driver_id IS NOT NULL;
CREATE INDEX ON fleet.journal (waybill_id) WHERE waybill_id IS NOT NULL;
CREATE INDEX ON fleet.journal (assignment_id) WHERE assignment_id IS NOT NULL;
