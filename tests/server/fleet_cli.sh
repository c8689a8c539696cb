#!/usr/bin/env bash
# The register of a fleet through fleetctl, as an operator (or a script) sets one up: models with
# their norms, groups, vehicles, trackers and drivers added, listed, changed, moved and removed;
# every refusal with its reason and exit code 1, every bad usage exit 2; CSV imports all or
# nothing with every bad line named, progress on stderr; list output as a table and as CSV safe
# to open; the journal read back.
#   fleet_cli.sh FLEETCTL STATE
set -u
fleetctl=$1 state=$2
server=$(cat "$state/url")
db="fleet_fleet_cli_$$"
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

run() { "$fleetctl" --database-url "$url" --log-level warn "$@" >"$work/out" 2>"$work/err"; }
must() { run "$@" || fail "fleetctl $* exited non-zero"; }
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
sql() { psql "$url" -XAtqc "$1"; }
# The register's tables and the journal, to compare before and after a refusal.
snapshot() {
  sql "SELECT (SELECT count(*) FROM fleet.vehicles) || '/' || (SELECT count(*) FROM fleet.devices)
       || '/' || (SELECT count(*) FROM fleet.drivers) || '/' || (SELECT count(*) FROM fleet.vehicle_models)
       || '/' || (SELECT count(*) FROM fleet.vehicle_group_members) || '/' || (SELECT count(*) FROM fleet.journal)"
}

must migrate

# Help and bad usage (exit 2) need no database work.
must vehicle --help
for c in "vehicle add" "vehicle set" "vehicle list" "vehicle remove" "vehicle import"; do has "$c" "vehicle --help"; done
must device add --help
has "--protocol" "device add --help"
exits 2 "REG is required" vehicle add
exits 2 "--format must be table or csv" vehicle list --format xml
exits 2 "--protocol is required" device add 356307042441013 --vehicle A123BC77
exits 2 "--active and --inactive exclude each other" vehicle set A1 --active --inactive
exits 2 "unrecognised option" vehicle add A1 --colour red
exits 2 "--to is required" journal --from "2026-01-01 00:00Z"

# Models with their norms; a norm the class's formula does not have is refused by name.
must model add "LiAZ 5292" --class bus --fuel-grade diesel --base-l-per-100km 41.5 --heater-l-per-h 3.5
has "model LiAZ 5292 added"
must model add "LADA Largus" --class car --fuel-grade petrol --base-l-per-100km 8.4 --quiet
[ -s "$work/out" ] && fail "--quiet printed something"
before=$(snapshot)
refused "heater_l_per_h: is 2, but only buses have that term, not a car" \
  model add "UAZ Patriot" --class car --base-l-per-100km 13 --heater-l-per-h 2
[ "$(snapshot)" = "$before" ] || fail "a refused model changed the database"
must model list
has "LiAZ 5292" && has "41.5"

must group add depot-1 --description "Northern depot"

# Vehicles: the model gives the class; every refusal says why and changes nothing.
must vehicle add A123BC77 --model "LiAZ 5292" --garage-number 17 --region Moscow --built-on 2019-05-01 --groups depot-1
grep -q '^vehicle A123BC77 added (id [0-9]*)$' "$work/out" || fail "vehicle add output"
before=$(snapshot)
refused "'A123BC77' is already registered" vehicle add A123BC77
refused "vehicle_class: 'van' is not one of car, bus, truck, dump_truck, special" vehicle add C1 --class van
refused "make_model: unknown make and model 'LiAZ 5293'" vehicle add C1 --model "LiAZ 5293"
refused "vehicle_class: 'car' is not the class of model 'LiAZ 5292' (bus)" vehicle add C1 --model "LiAZ 5292" --class car
refused "built_on: expected a date YYYY-MM-DD, got '01.05.2019'" vehicle add C1 --built-on 01.05.2019
refused "groups: unknown group 'depot-9'" vehicle add C1 --groups depot-9
refused "unknown vehicle 'Z999'" vehicle set Z999 --region Tver
[ "$(snapshot)" = "$before" ] || fail "a refused vehicle changed the database"

must vehicle set A123BC77 --garage-number 18 --quiet
[ -s "$work/out" ] && fail "vehicle set --quiet printed something"
must vehicle add B456CD77 --model "LADA Largus"
must vehicle list
has "A123BC77" && has "bus" && has "18" && has "depot-1"
must vehicle list --format csv
head -1 "$work/out" | grep -q '^registration,vehicle_class,make_model,garage_number,fuel_grade,region,built_on,odometer_capacity_km,groups,active' ||
  fail "vehicle list csv header"
grep -q '^A123BC77,bus,LiAZ 5292,18,,Moscow,2019-05-01,1000000,depot-1,true' "$work/out" || fail "vehicle list csv row"

# A spreadsheet would run a cell that begins with '=': the CSV neutralises it.
must vehicle set B456CD77 --garage-number '=HYPERLINK("http://x.io","o")'
must vehicle list --format csv
grep -qF "\"'=HYPERLINK(\"\"http://x.io\"\",\"\"o\"\")\"" "$work/out" || fail "formula not neutralised"

# Devices: bound to their protocol; moved with both vehicles in the journal.
must device add 356307042441013 --protocol teltonika --vehicle A123BC77
has "teltonika device 356307042441013 added on vehicle A123BC77"
refused "a Teltonika device sends its 15-digit IMEI" device add 35630704244101 --protocol teltonika --vehicle A123BC77
refused "'356307042441013' is already registered on vehicle 'A123BC77'" device add 356307042441013 --protocol teltonika --vehicle B456CD77
refused "protocol: 'h02' is not one of teltonika, gt06, osmand, native" device add x --protocol h02 --vehicle A123BC77
must device move 356307042441013 --vehicle B456CD77
has "device 356307042441013 moved to vehicle B456CD77"
must device move 356307042441013 --vehicle B456CD77
has "nothing changed"
must device list --vehicle B456CD77
has "356307042441013"
refused "vehicle 'B456CD77' has devices (356307042441013)" vehicle remove B456CD77

# Drivers.
must device add cab-7 --protocol native --vehicle A123BC77
must driver add T-17 --name "Ivanov Ivan Ivanovich" --licence-series "77 12" --licence-number 345678 --licence-issued 2015-03-01 --terminal cab-7
refused "personnel_number: 'T-17' is already the personnel number of Ivanov Ivan Ivanovich" driver add T-17 --name "Petrov Petr"
refused "licence_issued_on: 2999-01-01 is in the future" driver add T-18 --name "Petrov Petr" --licence-issued 2999-01-01
refused "device 'cab-7' is the terminal of driver(s) T-17" device remove cab-7
must driver set "Ivanov Ivan Ivanovich" --terminal ''
must device remove cab-7
must driver list --format csv
grep -q '^T-17,Ivanov Ivan Ivanovich,77 12,345678,2015-03-01,,true' "$work/out" || fail "driver list csv"

# Imports: all or nothing, every bad line named in file order.
cat >"$work/vehicles.csv" <<'CSV'
registration,vehicle_class,make_model,built_on,groups
E100AA77,car,,2020-01-01,depot-1
E101AA77,van,,2020-13-01,
E102AA77,,LADA Largus,,
E100AA77,,,,
E103AA77,,,,"depot-1,night"
e101aa77,,,,
CSV
before=$(snapshot)
refused "vehicles.csv:3: vehicle_class: 'van' is not one of" vehicle import "$work/vehicles.csv"
grep -qF "vehicles.csv:3: built_on: expected a date YYYY-MM-DD, got '2020-13-01'" "$work/err" || fail "line 3 built_on not named"
grep -qF "vehicles.csv:5: registration: 'E100AA77' appears earlier in this batch" "$work/err" || fail "line 5 not named"
grep -qF "vehicles.csv:6: groups: unknown group 'night'" "$work/err" || fail "line 6 not named"
# A registration twice is refused even when its first line is refused too (never stored).
grep -qF "vehicles.csv:7: registration: 'e101aa77' appears earlier in this batch" "$work/err" || fail "line 7 not named"
grep -qF "nothing imported: 5 problem(s) on 4 of 6 line(s)" "$work/err" || fail "import summary"
[ "$(grep -o 'vehicles.csv:[0-9]*' "$work/err" | uniq | tr '\n' ' ')" = "vehicles.csv:3 vehicles.csv:5 vehicles.csv:6 vehicles.csv:7 " ] ||
  fail "problems not in file order"
[ "$(snapshot)" = "$before" ] || fail "a refused import changed the database"
exits 1 "unknown column 'colour'" vehicle import <(printf 'registration,colour\nX1,red\n')

{
  echo "registration,vehicle_class,garage_number"
  for i in $(seq 1 250); do echo "F$i,truck,$i"; done
} >"$work/many.csv"
must vehicle import "$work/many.csv" --check
has "checked 250 vehicles"
[ "$(sql "SELECT count(*) FROM fleet.vehicles WHERE registration LIKE 'F%'")" = 0 ] || fail "--check stored"
must vehicle import "$work/many.csv"
has "imported 250 vehicles from $work/many.csv"
grep -q '^vehicle import: 100 of 250 vehicles$' "$work/err" || fail "no progress at 100"
grep -q '^vehicle import: 250 of 250 vehicles$' "$work/err" || fail "no progress at the end"
[ "$(sql "SELECT count(*) FROM fleet.vehicles WHERE vehicle_class = 'truck'")" = 250 ] || fail "import count"

printf 'identifier,protocol,vehicle\n862000000000001,gt06,F1\nphone-1,osmand,F2\n' >"$work/devices.csv"
must device import "$work/devices.csv"
has "imported 2 devices"
printf 'identifier,protocol,vehicle\n862000000000002,gt06,F3\n1234,teltonika,NOPE\n' >"$work/bad_devices.csv"
refused "bad_devices.csv:3: identifier: a Teltonika device sends its 15-digit IMEI" device import "$work/bad_devices.csv"
grep -qF "bad_devices.csv:3: vehicle: unknown vehicle 'NOPE'" "$work/err" || fail "device import: vehicle not named"
[ "$(sql "SELECT count(*) FROM fleet.devices WHERE identifier = '862000000000002'")" = 0 ] || fail "device import not all or nothing"
printf 'personnel_number,full_name,licence_issued_on\nT-20,"Sidorov, Semyon",2010-06-01\n' >"$work/drivers.csv"
must driver import "$work/drivers.csv"
printf 'make_model,vehicle_class,fuel_grade,base_l_per_100km,work_l_per_100tkm\nKAMAZ 65117,truck,diesel,24.5,1.3\n' >"$work/models.csv"
must model import "$work/models.csv"
must model list --format csv
grep -q '^KAMAZ 65117,truck,diesel,24.5,0,1.3,0,0,0,0,0,0' "$work/out" || fail "model list csv row"

# Removal: a vehicle with history is kept.
must vehicle add TYPO1
must vehicle remove TYPO1
has "vehicle TYPO1 removed"
sql "INSERT INTO fleet.positions (vehicle_id, device_time, geom) SELECT vehicle_id, now(),
     ST_SetSRID(ST_MakePoint(37.6, 55.7), 4326) FROM fleet.vehicles WHERE registration = 'F9'" >/dev/null
refused "vehicle 'F9' has history (positions) and is kept: deactivate it instead" vehicle remove F9
must vehicle set F9 --inactive
must vehicle list --inactive --format csv
[ "$(wc -l <"$work/out")" -eq 2 ] || fail "one inactive vehicle expected"

must group members depot-1 --add B456CD77,F1 --remove A123BC77
has "group depot-1: 2 added, 1 removed"
refused "add: unknown vehicle 'NOPE'" group members depot-1 --add NOPE
must group members depot-1
has "B456CD77" && has "F1"

# Devices refused at login, as ingest's registry keeps them (tests/server/fleetd_lifecycle.sh
# shows fleetd filling the table).
sql "INSERT INTO fleet.unknown_devices VALUES ('777000000000001', 'teltonika', '10.0.0.9:41000',
     now(), now(), 3, 'unknown')" >/dev/null
must device list
has "seen but not registered" && has "777000000000001"

# The journal: by vehicle (the move away included), kind, zone; CSV with the ids.
must journal --from "2000-01-01 00:00Z" --to "2100-01-01 00:00Z" --vehicle A123BC77
has "vehicle added" && has "device moved" && has "group members changed"
must journal --from "2000-01-01 00:00+03" --to "2100-01-01 00:00+03" --kind driver --tz Europe/Moscow --format csv
head -1 "$work/out" | grep -q '^recorded_at,kind,action,subject,actor,vehicle,driver,waybill_id,assignment_id,entry_id,details' ||
  fail "journal csv header"
grep -q '^[0-9-]*T[0-9:]*+03:00,driver,driver added,T-17,fleetctl,,T-17,,,[0-9]*,' "$work/out" || fail "journal csv row"
refused "from: expected a time with its offset" journal --from 2026-11-27 --to "2026-11-28 00:00Z"
refused "time zone: unknown zone 'Mars/Base'" journal --from "2026-11-27 00:00Z" --to "2026-11-28 00:00Z" --tz Mars/Base
must journal --from "2000-01-01 00:00Z" --to "2100-01-01 00:00Z" --kind vehicles
grep -qF "no entry of kind 'vehicles' at all" "$work/err" || fail "journal: unknown kind not hinted"
echo "ok   fleet cli"
