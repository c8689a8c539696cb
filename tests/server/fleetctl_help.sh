#!/usr/bin/env bash
# fleetctl explaining itself, as a newcomer meets it: `--help` lists the general options and
# every command, a line each, and every command's --help shows the general options too; a
# --feed left out is said to mean 'local' wherever it applies; stderr stays empty on success
# unless --verbose; every unknown route, feed, vehicle, driver, device, group or assignment is
# named with exit code 1 and nothing changed; malformed values say what is wanted; numbers are
# printed as people write them; `status` summarises a fleet set up here through fleetctl.
#   fleetctl_help.sh FLEETCTL STATE
set -u
fleetctl=$1 state=$2
server=$(cat "$state/url")
db="fleet_ctl_help_$$"
work=$(mktemp -d)
cleanup() {
  psql "$server" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in out err; do [ -s "$work/$f" ] && sed "s/^/    $f: /" "$work/$f"; done
  exit 1
}
psql "$server" -qc "CREATE DATABASE $db" >/dev/null || fail "create database"
url="$server dbname=$db"

# No --log-level here: fleetctl's own default must keep stderr quiet.
run() { "$fleetctl" --database-url "$url" "$@" >"$work/out" 2>"$work/err"; }
must() { run "$@" || fail "fleetctl $* exited $?"; }
# exits CODE TEXT COMMAND...: exits with CODE and says TEXT on standard error.
exits() {
  local code=$1 expect=$2
  shift 2
  run "$@"
  local got=$?
  [ "$got" -eq "$code" ] || fail "fleetctl $*: exit code $got, expected $code"
  grep -qF -- "$expect" "$work/err" || fail "fleetctl $*: stderr does not say '$expect'"
}
refused() { exits 1 "$@"; }
has() { grep -qF -- "$1" "$work/out" || fail "${2:-output} does not show '$1'"; }
hasnt() { grep -qF -- "$1" "$work/out" && fail "${2:-output} shows '$1'"; return 0; }
quiet_stderr() { [ -s "$work/err" ] && fail "fleetctl $*: stderr is not empty"; return 0; }
sql() { psql "$url" -XAtqc "$1"; }
snapshot() {
  sql "SELECT (SELECT count(*) FROM fleet.vehicles) || '/' || (SELECT count(*) FROM fleet.devices)
       || '/' || (SELECT count(*) FROM fleet.drivers) || '/' || (SELECT count(*) FROM fleet.shift_assignments)
       || '/' || (SELECT count(*) FROM fleet.route_thresholds) || '/' || (SELECT count(*) FROM fleet.route_speed_limits)
       || '/' || (SELECT count(*) FROM fleet.journal)"
}

# --- help -------------------------------------------------------------------------------------
commands=("assign" "assign cancel" "assign change" "assign handover" "assign list"
  "device add" "device import" "device list" "device move" "device remove" "export track"
  "driver add" "driver import" "driver list" "driver remove" "driver set"
  "group add" "group list" "group members" "group remove"
  "import gtfs" "import routes" "import stops" "import zones" "journal" "migrate"
  "model add" "model import" "model list" "model set"
  "message send" "notice create" "notice list" "notice show" "notice withdraw" "report waybills"
  "report eta-accuracy" "eta subscribe" "eta subscriptions" "eta unsubscribe" "eta deliveries"
  "transport cargo" "transport detect" "transport list"
  "route-speed-limit" "route-threshold" "status"
  "user add" "user list" "user remove" "user set" "user token"
  "vehicle add" "vehicle import" "vehicle list" "vehicle remove" "vehicle set"
  "waybill accept" "waybill amend" "waybill cancel" "waybill check" "waybill check-withdraw"
  "waybill correct" "waybill fuel-import" "waybill issue"
  "waybill issuer" "waybill list" "waybill odometer" "waybill reconcile" "waybill release"
  "waybill return" "waybill show")
general=(--database-url --config --log-level --verbose --check-config --database-wait FLEET_DATABASE_URL)

"$fleetctl" --help >"$work/out" 2>"$work/err" || fail "fleetctl --help exited non-zero"
for o in "${general[@]}"; do has "$o" "fleetctl --help"; done
has "Exit codes" "fleetctl --help"
has "'local'" "fleetctl --help (the default feed)"
hasnt "--teltonika-port" "fleetctl --help (a fleetd-only key)"
has "fleetd --help" "fleetctl --help (the note on fleetd's keys)"
for c in "${commands[@]}"; do
  grep -q "^  $c  " "$work/out" || fail "fleetctl --help does not list '$c' on a line of its own"
done
# One line per command, and no command left out of the list above.
listed=$(sed -n '/^Commands/,$p' "$work/out" | grep -c '^  [a-z]')
[ "$listed" -eq "${#commands[@]}" ] || fail "fleetctl --help lists $listed commands, expected ${#commands[@]}"

for c in "${commands[@]}"; do
  # shellcheck disable=SC2086
  "$fleetctl" $c --help >"$work/out" 2>"$work/err" || fail "fleetctl $c --help exited non-zero"
  has "Usage: fleetctl [GENERAL OPTIONS] $c" "fleetctl $c --help"
  for o in "${general[@]}"; do has "$o" "fleetctl $c --help"; done
  hasnt "General options (--database-url, --config, ...): fleetctl --help" "fleetctl $c --help"
done
"$fleetctl" vehicle --help >"$work/out" 2>"$work/err" || fail "fleetctl vehicle --help"
has "vehicle add REG" "vehicle --help" && has "--verbose" "vehicle --help"

# Where a --feed may be left out, its help says what that means.
for c in "assign" "assign handover" "import routes" "import zones" "import stops" \
  "route-threshold" "route-speed-limit"; do
  # shellcheck disable=SC2086
  "$fleetctl" $c --help >"$work/out" 2>&1
  grep -A2 -- "--feed" "$work/out" | grep -q "default local" || fail "fleetctl $c --help: --feed's default not stated"
done

exits 2 "no command given" --log-level warn
exits 2 "'vehicle' needs a command: vehicle add, vehicle import" vehicle
exits 2 "unknown command 'vehicle frobnicate' (the vehicle commands: vehicle add" vehicle frobnicate
exits 2 "unknown command 'frobnicate'" frobnicate

# --- quiet unless --verbose ---------------------------------------------------------------------
must migrate
grep -q '^schema at migration [0-9]* ([0-9]* applied now)' "$work/out" || fail "migrate does not print the schema version"
quiet_stderr migrate
must --verbose migrate
grep -q 'info  database: connected to' "$work/err" || fail "--verbose does not log the connection"
grep -q 'info  database: schema at migration' "$work/err" || fail "--verbose does not log the migrations"
must vehicle add V1 --class truck
quiet_stderr vehicle add
must vehicle list -v
grep -q 'info  database: connected to' "$work/err" || fail "-v after the command does not log the connection"
must --log-level warn vehicle list
quiet_stderr "--log-level warn vehicle list"
must --verbose --log-level warn vehicle list
quiet_stderr "--verbose --log-level warn vehicle list"
# A warning is always shown: an unreachable database is retried, logged, then given up.
"$fleetctl" --database-url "host=$work/nowhere port=1 dbname=x user=x" --database-wait 1 status \
  >"$work/out" 2>"$work/err" && fail "status on an unreachable database succeeded"
grep -q 'warn  database: unreachable' "$work/err" || fail "the warning of an unreachable database is not shown"

# --- a fleet set up through fleetctl --------------------------------------------------------------
cat >"$work/routes.geojson" <<'JSON'
{"type": "FeatureCollection", "features": [
 {"type": "Feature", "properties": {"code": "F1"},
  "geometry": {"type": "LineString", "coordinates": [[37.6, 55.75], [37.6796, 55.75]]}}]}
JSON
cat >"$work/stops.geojson" <<'JSON'
{"type": "FeatureCollection", "features": [
 {"type": "Feature", "properties": {"code": "YARD"}, "geometry": {"type": "Point", "coordinates": [37.6, 55.75]}},
 {"type": "Feature", "properties": {"code": "WH7"}, "geometry": {"type": "Point", "coordinates": [37.6796, 55.75]}}]}
JSON
must import routes "$work/routes.geojson" --name-field code
has "into feed 'local'"
must import stops "$work/stops.geojson" --name-field code
data=$(cd "$(dirname "$0")/../data" && pwd)
must import gtfs "$data/gtfs/small" --feed city
must vehicle add V2 --class truck
must vehicle add V3 --class truck
must vehicle add OLD --class car --inactive
must device add 356307042441013 --protocol teltonika --vehicle V1
must device add cab-2 --protocol native --vehicle V2
must driver add D-1 --name "Ivanov Ivan"
must driver add D-2 --name "Petrov Petr"
must driver add D-3 --name "Sidorov Semyon"
must driver add D-9 --name "Retired Driver" --inactive
must group add north

# --- unknown names: named, exit 1, nothing changed --------------------------------------------------
before=$(snapshot)
refused "unknown route 'NOPE' in any feed" route-threshold list --route NOPE
refused "unknown route 'NOPE' in feed 'local'" route-threshold list --route NOPE --feed local
refused "unknown feed 'nofeed': no route belongs to it" route-threshold list --feed nofeed
refused "unknown route 'NOPE' in feed 'local'" route-threshold set --route NOPE late-after 600
refused "unknown route 'NOPE' in feed 'local'" route-threshold unset --route NOPE late-after
refused "unknown route 'NOPE' in any feed" route-speed-limit list --route NOPE
refused "unknown route 'NOPE' in feed 'local'" route-speed-limit set --route NOPE --from-m 0 --to-m 100 --limit 40
refused "unknown route 'F1' in feed 'city'" route-speed-limit list --route F1 --feed city
refused "unknown vehicle 'NOPE'" assign list --date 2026-11-27 --vehicle NOPE
refused "unknown vehicle 'NOPE'" assign --date 2026-11-27 --vehicle NOPE --route F1 --start 08:00 --end 12:00 --stop 'YARD;;;08:00;08:20'
refused "unknown driver 'NOPE'" assign --date 2026-11-27 --vehicle V1 --driver NOPE --route F1 --start 08:00 --end 12:00 --stop 'YARD;;;08:00;08:20'
refused "unknown route 'NOPE' in feed 'local'" assign --date 2026-11-27 --vehicle V1 --route NOPE --start 08:00 --end 12:00 --stop 'YARD;;;08:00;08:20'
refused "feed 'local' (the default) has no trips: name the GTFS feed of the block or trips with --feed (GTFS feeds: city)" \
  assign --date 2024-03-05 --vehicle V1 --block B1
refused "unknown feed 'nofeed': no trips belong to it (GTFS feeds: city)" assign --date 2024-03-05 --vehicle V1 --block B1 --feed nofeed
refused "unknown trip 'NOPE' in feed 'city'" assign --date 2024-03-05 --vehicle V1 --trips T1,NOPE --feed city
refused "there is no assignment 9999" assign cancel 9999 --reason typo
refused "there is no assignment 9999" assign change 9999 --driver D-1
refused "unknown vehicle 'NOPE'" device list --vehicle NOPE
refused "unknown vehicle 'NOPE'" device move 356307042441013 --vehicle NOPE
refused "unknown device 'NOPE'" device move NOPE --vehicle V1
refused "unknown device 'NOPE'" device remove NOPE
refused "unknown vehicle 'NOPE'" vehicle set NOPE --region Tver
refused "unknown vehicle 'NOPE'" vehicle remove NOPE
refused "unknown group 'NOPE'" vehicle list --group NOPE
refused "unknown group 'NOPE'" group members NOPE
refused "remove: unknown vehicle 'NOPE'" group members north --remove NOPE
refused "unknown route 'NOPE' in feed 'local'" route-speed-limit unset --route NOPE --from-m 0 --to-m 100
refused "unknown group 'NOPE'" group remove NOPE
refused "unknown driver 'NOPE'" driver set NOPE --name X
refused "unknown driver 'NOPE'" driver remove NOPE
refused "unknown vehicle 'NOPE'" journal --from "2000-01-01 00:00Z" --to "2100-01-01 00:00Z" --vehicle NOPE
refused "unknown driver 'NOPE'" journal --from "2000-01-01 00:00Z" --to "2100-01-01 00:00Z" --driver NOPE
refused "unknown model 'NOPE'" model set NOPE --base-l-per-100km 9
[ "$(snapshot)" = "$before" ] || fail "a refused command changed the database"
# A known route without values of its own is not an error.
must route-threshold list --route F1
has "no route thresholds for route F1 (every value is the configured one)"

# --- what is wanted, numbers as people write them --------------------------------------------------
exits 2 "--odometer-capacity KM wants a whole number of kilometres, not '99999.5'" vehicle add V4 --odometer-capacity 99999.5
exits 2 "--base-l-per-100km X wants a number (digits, a '.' for decimals, no unit), not '8,4'" \
  model add "LADA Largus" --class car --base-l-per-100km 8,4
exits 2 "--max-stop-offset M wants a number of metres (digits, a '.' for decimals, no unit), not '1km'" \
  assign --date 2026-11-27 --vehicle V1 --route F1 --start 08:00 --end 12:00 --stop 'YARD;;;08:00;08:20' --max-stop-offset 1km
exits 2 "--from-m M wants a number of metres" route-speed-limit set --route F1 --from-m 1km --to-m 2000 --limit 40
exits 2 "unrecognised option '--colour' (fleetctl vehicle add --help lists its options)" vehicle add V4 --colour red
refused "must be a whole number of seconds, got 30.5" route-threshold set --route F1 late-after 30.5
refused "VALUE must be a number (digits, a '.' for decimals, no unit), not '10min'" route-threshold set --route F1 late-after 10min
refused "a stretch needs 0 <= from < to (metres along the route), got 2000 to 1000.5" \
  route-speed-limit set --route F1 --from-m 2000 --to-m 1000.5 --limit 40
refused "a speed limit must be between 5 and 300 km/h, got 3.5" route-speed-limit set --route F1 --from-m 0 --to-m 100 --limit 3.5
grep -q '\.000000' "$work/err" && fail "six decimals in a message"
must route-threshold set --route F1 on-route-distance 12.5
has "local/F1: on-route-distance = 12.5 m (configured: 60)"
must route-speed-limit set --route F1 --from-m 100.5 --to-m 2000 --limit 42.5
has "local/F1: 42.5 km/h from 100.5 m to 2000 m"
must route-speed-limit list --route F1
has "local/F1  100.5 – 2000 m  42.5 km/h"

# --- status ---------------------------------------------------------------------------------------
must waybill issuer --code ACME --name "Acme Transport" --time-zone Europe/Moscow
today=$(TZ=Europe/Moscow date +%F)
must assign --date "$today" --vehicle V1 --driver D-1 --route F1 --start 00:00 --end 23:59 --tz Europe/Moscow --stop 'YARD;;;08:00;08:20'
must assign --date "$today" --vehicle V2 --route F1 --start 00:00 --end 23:59 --tz Europe/Moscow --stop 'WH7;;;09:00;09:40'
cancelled=$(sed -n 's/^assignment \([0-9]*\):.*/\1/p' "$work/out")
must assign cancel "$cancelled" --reason "no demand"
must assign --date 2026-11-20 --vehicle V3 --route F1 --start 08:00 --end 12:00 --tz Europe/Moscow --stop 'YARD;;;08:00;08:20'
# Three waybills on three vehicles: one issued, one released, one returned awaiting acceptance.
issue() {
  must waybill issue --issuer ACME --vehicle "$1" --driver "$2" --from 2026-11-27 \
    --service-kind urban --transport-kind own_needs --odometer 12000 --fuel 40
  sed -n 's/^issued waybill ACME\/[0-9]* (id \([0-9]*\)).*/\1/p' "$work/out"
}
issue V1 D-1 >/dev/null
released=$(issue V2 D-2)
returned=$(issue V3 D-3)
for id in "$released" "$returned"; do
  must waybill check "$id" --kind technical --at "2026-11-27 07:10+03" --person "Sidorov S." --odometer 12000
  must waybill check "$id" --kind medical_pre --at "2026-11-27 07:15+03" --person "Dr Petrova"
  must waybill release "$id" --at "2026-11-27 07:30+03" --dispatcher "Kuznetsova K."
done
must waybill return "$returned" --at "2026-11-27 18:00+03" --odometer 12120 --fuel 30
# What only fleetd writes: a device it refused, and events (two open late, one closed, one open
# detour).
sql "INSERT INTO fleet.unknown_devices VALUES ('777000000000001', 'teltonika', '10.0.0.9:41000',
     now(), now(), 3, 'unknown')" >/dev/null
sql "INSERT INTO fleet.events (vehicle_id, kind, started_at, ended_at)
     SELECT vehicle_id, k, now() - s * interval '1 hour', e FROM fleet.vehicles,
       (VALUES ('late', 2, NULL::timestamptz), ('off_route', 2, NULL), ('late', 3, now())) AS x(k, s, e)
     WHERE registration IN ('V1', 'V2') AND NOT (registration = 'V2' AND k = 'off_route')" >/dev/null ||
  fail "events not inserted"
must status
quiet_stderr status
has "vehicles:            4 (3 active, 1 inactive)"
has "devices:             2 registered, 1 seen but not registered (fleetctl device list --unknown)"
has "drivers:             4 (3 active, 1 inactive)"
has "feeds:               2"
has "  city (GTFS): 2 routes, 6 stops, 0 zones"
has "  local (GIS files): 1 routes, 2 stops, 0 zones"
has "assignments today:   1 planned, 1 cancelled ($today in Europe/Moscow)"
has "open events:         late 2, off_route 1"
has "waybills open:       2 (1 issued, 1 released)"
has "waybills returned:   1 awaiting acceptance"
must status --tz UTC
has "in UTC)"
refused "time zone: unknown zone 'Mars/Base'" status --tz Mars/Base
echo "ok   fleetctl help"
