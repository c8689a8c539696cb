-- Devices that were refused at login, remembered for an operator to add (ingest/devices.hpp):
-- one row per identifier and protocol, upserted at most once per refusal period (60 s by
-- default) while the device keeps trying. `attempts` counts the logins refused, those answered
-- from memory in between included; `peer_address` is the address of the latest. `reason`:
-- 'unknown' (not in fleet.devices and unknown devices are refused) or 'wrong_protocol' (in
-- fleet.devices, bound to another protocol).
CREATE TABLE fleet.unknown_devices (
    identifier   text NOT NULL,
    protocol     text NOT NULL,
    peer_address text NOT NULL,
    first_seen   timestamptz NOT NULL DEFAULT now(),
    last_seen    timestamptz NOT NULL DEFAULT now(),
    attempts     bigint NOT NULL DEFAULT 1 CHECK (attempts > 0),
    reason       text NOT NULL CHECK (reason IN ('unknown', 'wrong_protocol')),
    PRIMARY KEY (identifier, protocol)
);
CREATE INDEX ON fleet.unknown_devices (last_seen);

-- A device's identifier is bound to its protocol: a login with any other protocol is refused as
-- 'wrong_protocol'. NULL (a device entered without a protocol) is bound to the protocol of the
-- device's first accepted login, journalled as "device protocol bound".
COMMENT ON COLUMN fleet.devices.protocol IS
    'the protocol the device logs in with (teltonika, gt06, osmand, native); NULL: bound at its '
    'first login';
