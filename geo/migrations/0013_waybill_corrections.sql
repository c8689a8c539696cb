-- Mistakes mended the way offices mend them (issue 12): a waybill issued by mistake is
-- cancelled with a reason, its number staying used; a check typed wrong is withdrawn with a
-- reason, kept but no longer counted; a returned waybill amended before acceptance keeps each
-- amendment's old and new values in the journal (fleet.journal, action "waybill amended").

ALTER TABLE fleet.waybills
    ADD COLUMN cancelled_at  timestamptz,
    ADD COLUMN cancelled_by  text,
    ADD COLUMN cancel_reason text,
    ADD CONSTRAINT waybills_cancel_reason
        CHECK (status <> 'cancelled' OR (cancelled_at IS NOT NULL AND cancel_reason <> ''))
        NOT VALID;

ALTER TABLE fleet.waybill_checks
    ADD COLUMN withdrawn_at     timestamptz,
    ADD COLUMN withdrawn_by     text,
    ADD COLUMN withdrawn_reason text,
    ADD CONSTRAINT waybill_checks_withdrawn_reason
        CHECK (withdrawn_at IS NULL OR withdrawn_reason <> '');

-- Overlaps of trips are looked for by driver over departures as well as by vehicle.
CREATE INDEX ON fleet.waybills (driver_id, departed_at);

-- A cancelled waybill is kept as it was cancelled, and a withdrawn check as it was withdrawn:
-- neither is edited or erased afterwards.
CREATE FUNCTION fleet.refuse_cancelled_waybill_edits() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'waybill % was cancelled and is kept as it is', OLD.number
        USING ERRCODE = 'check_violation';
END $$;
CREATE TRIGGER waybills_cancelled_are_final BEFORE UPDATE OR DELETE ON fleet.waybills
    FOR EACH ROW WHEN (OLD.status = 'cancelled')
    EXECUTE FUNCTION fleet.refuse_cancelled_waybill_edits();

CREATE FUNCTION fleet.refuse_withdrawn_check_edits() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'check % was withdrawn and is kept as it is', OLD.check_id
        USING ERRCODE = 'check_violation';
END $$;
CREATE TRIGGER waybill_checks_withdrawn_are_final BEFORE UPDATE OR DELETE ON fleet.waybill_checks
    FOR EACH ROW WHEN (OLD.withdrawn_at IS NOT NULL)
    EXECUTE FUNCTION fleet.refuse_withdrawn_check_edits();
