#!/usr/bin/env bash
# The demo fleet of tools/run, as tools/demo makes it through fleetctl: on an empty database the
# city, six vehicles on four protocols with their drivers, the assignments of now, an admin and a
# limited dispatcher whose passwords log in; a second run cancels the earlier work and plans it
# again; a database with a fleet of its own is left alone (exit 3, nothing added).
#   demo.sh FLEETD FLEETCTL STATE ROOT
set -u
fleetd=$1 fleetctl=$2 state=$3 root=$4
export FLEET_FLEETCTL="$fleetctl"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../server/api_lib.sh"
api_setup demo
dir="$work/demo"
out=$("$root/tools/demo" setup "$url" "$dir" 2>&1) || fail "demo setup: $out"
echo "$out" | grep -q "a new demo fleet" || fail "no new fleet said: $out"
[ "$(sql "SELECT string_agg(registration || ':' || d.protocol, ',' ORDER BY registration) FROM fleet.vehicles v JOIN fleet.devices d USING (vehicle_id)")" = \
  "BUS-101:teltonika,BUS-102:gt06,BUS-103:osmand,BUS-201:native,BUS-202:teltonika,TRUCK-7:teltonika" ] ||
  fail "the vehicles: $(sql "SELECT registration FROM fleet.vehicles")"
[ "$(sql "SELECT count(*) FROM fleet.shift_assignments WHERE cancelled_at IS NULL AND driver_id IS NOT NULL")" = 6 ] ||
  fail "six assignments with drivers wanted"
[ "$(sql "SELECT count(*) FROM fleet.journal WHERE actor = 'fleetctl'")" -gt 20 ] || fail "the demo is not journalled as fleetctl's work"
[ "$(stat -c %a "$dir/accounts")" = 600 ] || fail "the accounts file is readable by others"
read -r name password <"$dir/accounts"
[ "$name" = admin ] && [ ${#password} -ge 12 ] || fail "the admin account: $name"
# The printed password logs in (fleetd checks it as the API does).
api_start
status=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
  --data-binary "{\"name\":\"admin\",\"password\":\"$password\"}" "$base/api/session")
[ "$status" = 200 ] || fail "the demo admin cannot log in: $status"
kill "$fleetd_pid"; wait "$fleetd_pid" 2>/dev/null; fleetd_pid=""
echo "ok   a new demo fleet: six vehicles on four protocols, six assignments, an admin who logs in"

out=$("$root/tools/demo" setup "$url" "$dir" 2>&1) || fail "demo setup again: $out"
echo "$out" | grep -q "the demo fleet again" || fail "not said: $out"
[ "$(sql "SELECT count(*) FILTER (WHERE cancelled_at IS NULL) || '/' || count(*) FROM fleet.shift_assignments")" = "6/12" ] ||
  fail "a second run: $(sql "SELECT count(*) FILTER (WHERE cancelled_at IS NULL) || '/' || count(*) FROM fleet.shift_assignments")"
[ "$(sql "SELECT count(*) FROM fleet.vehicles")" = 6 ] || fail "a second run added vehicles"
echo "ok   a second run cancels the earlier work and plans it from now"

psql "$server" -qc "CREATE DATABASE ${db}_own" >/dev/null
own="$server dbname=${db}_own"
"$fleetctl" --database-url "$own" --log-level warn migrate >/dev/null
"$fleetctl" --database-url "$own" --log-level warn vehicle add OWN-1 >/dev/null
"$root/tools/demo" setup "$own" "$work/own" >"$work/own.out" 2>&1
rc=$?
psql "$own" -qtAc "SELECT count(*) FROM fleet.vehicles" >"$work/own.count"
psql "$server" -qc "DROP DATABASE ${db}_own WITH (FORCE)" >/dev/null
[ "$rc" = 3 ] || fail "a database with its own fleet: exit $rc, wanted 3: $(cat "$work/own.out")"
grep -q "has a fleet of its own (1 vehicles): no demo" "$work/own.out" || fail "not said: $(cat "$work/own.out")"
[ "$(cat "$work/own.count")" = 1 ] || fail "the demo added to a fleet of its own"
echo "ok   a database with a fleet of its own gets no demo"
