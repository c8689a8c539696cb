-- Changes that a running fleetd must act on at once are announced on the channel
-- 'fleet_register' (LISTEN in server/register_watch.hpp), whoever made them: fleetctl, the API
-- of this or another fleetd, an operator's SQL. The payload names what changed:
--   devices      a tracker added by hand, moved to another vehicle, rebound or removed: its
--                connection is closed and its next login looked up afresh (before: within 15 s,
--                meanwhile its fixes were filed under the old vehicle)
--   credentials  a user's role, groups or activity, a token revoked or its expiry changed, a
--                session ended: cached principals are dropped (before: a revoked token worked
--                for up to 10 s)
--   directory    vehicles and their groups, as the API names them (before: up to 30 s); a
--                group's members are a dispatcher's credentials too
-- A notification is a hint: fleetd still reads these every few seconds, and reads everything
-- again when its listening connection was lost. PostgreSQL delivers one notification per
-- payload and transaction, however many rows changed.
CREATE FUNCTION fleet.notify_register() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 0 .. TG_NARGS - 1 LOOP
        PERFORM pg_notify('fleet_register', TG_ARGV[i]);
    END LOOP;
    RETURN NULL;
END
$$;

-- A device that fleetd registered itself (unknown-devices = register) changes nothing it holds;
-- nor does fleetd binding a device's protocol on its first login (protocol from NULL).
CREATE TRIGGER devices_added AFTER INSERT ON fleet.devices
    FOR EACH ROW WHEN (NOT NEW.auto_registered)
    EXECUTE FUNCTION fleet.notify_register('devices');
CREATE TRIGGER devices_changed AFTER UPDATE ON fleet.devices
    FOR EACH ROW WHEN (OLD.vehicle_id IS DISTINCT FROM NEW.vehicle_id OR
                       OLD.identifier IS DISTINCT FROM NEW.identifier OR
                       (OLD.protocol IS NOT NULL AND OLD.protocol IS DISTINCT FROM NEW.protocol))
    EXECUTE FUNCTION fleet.notify_register('devices');
CREATE TRIGGER devices_removed AFTER DELETE ON fleet.devices
    FOR EACH ROW EXECUTE FUNCTION fleet.notify_register('devices');

-- Not a token's last use (written at every authentication), a new token or session, nor the
-- removal of sessions that had expired already (fleetd sweeps them every half minute).
CREATE TRIGGER users_changed AFTER UPDATE OR DELETE ON fleet.users
    FOR EACH ROW EXECUTE FUNCTION fleet.notify_register('credentials');
CREATE TRIGGER user_groups_changed AFTER INSERT OR UPDATE OR DELETE ON fleet.user_groups
    FOR EACH ROW EXECUTE FUNCTION fleet.notify_register('credentials');
CREATE TRIGGER api_tokens_changed AFTER UPDATE OF user_id, token_sha256, expires_at OR DELETE
    ON fleet.api_tokens
    FOR EACH ROW EXECUTE FUNCTION fleet.notify_register('credentials');
CREATE TRIGGER api_sessions_ended AFTER DELETE ON fleet.api_sessions
    FOR EACH ROW WHEN (OLD.expires_at > now())
    EXECUTE FUNCTION fleet.notify_register('credentials');

-- A vehicle fleetd registers with an unknown device (unknown-devices = register) is named by the
-- next periodic read: a fleet's first connections would otherwise reload the directory as often
-- as trackers log in.
CREATE TRIGGER vehicles_added AFTER INSERT ON fleet.vehicles
    FOR EACH ROW WHEN (NEW.attributes->>'auto_registered' IS DISTINCT FROM 'true')
    EXECUTE FUNCTION fleet.notify_register('directory');
CREATE TRIGGER vehicles_changed AFTER UPDATE OR DELETE ON fleet.vehicles
    FOR EACH ROW EXECUTE FUNCTION fleet.notify_register('directory');
-- A dispatcher limited to groups sees their vehicles: a member added or removed changes what a
-- cached principal and an open stream may show.
CREATE TRIGGER vehicle_groups_changed AFTER INSERT OR UPDATE OR DELETE ON fleet.vehicle_groups
    FOR EACH ROW EXECUTE FUNCTION fleet.notify_register('directory', 'credentials');
CREATE TRIGGER vehicle_group_members_changed
    AFTER INSERT OR UPDATE OR DELETE ON fleet.vehicle_group_members
    FOR EACH ROW EXECUTE FUNCTION fleet.notify_register('directory', 'credentials');
