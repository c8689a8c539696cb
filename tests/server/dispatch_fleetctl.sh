#!/usr/bin/env bash
# fleetctl's dispatch commands as an operator meets them: freight work with planned stops on the
# command line and from a long CSV (with progress), a route's own thresholds and speed limits, and
# the messages of what it refuses.
#   dispatch_fleetctl.sh FLEETCTL STATE
set -u
fleetctl=$1 state=$2
server=$(cat "$state/url")
db="fleet_ctl_$$"
work=$(mktemp -d)
trap 'rm -rf "$work"; psql "$server" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1' EXIT
psql "$server" -qc "CREATE DATABASE $db" >/dev/null || exit 1
url="$server dbname=$db"
ctl() { "$fleetctl" --database-url "$url" "$@"; }
q() { psql "$url" -Atc "$1"; }
failed=0
expect() {  # expect NAME WANT_EXIT REGEX -- command...: exit code, and REGEX in stdout+stderr
  local name=$1 want=$2 regex=$3; shift 4
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" != "$want" ] || ! grep -qE -- "$regex" <<<"$out"; then
    echo "FAIL $name: exit $rc (want $want), output:"; echo "$out" | sed 's/^/    /'
    failed=1
  else
    echo "ok   $name"
  fi
}
same() {  # same NAME GOT WANT
  if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: got '$2', want '$3'"; failed=1; fi
}

ctl migrate >/dev/null || { echo "FAIL migrate"; exit 1; }
# Route F1 runs 5 km due east along 55.75° N; the yard at its start, warehouse 7 at its end.
q "INSERT INTO fleet.routes (code, geom) VALUES
     ('F1', ST_GeomFromText('LINESTRING(37.6 55.75, 37.6796 55.75)', 4326));
   INSERT INTO fleet.stops (code, name, geom, radius_m) VALUES
     ('YARD', 'Loading yard', ST_GeomFromText('POINT(37.6 55.75)', 4326), 40),
     ('WH7', 'Warehouse 7', ST_GeomFromText('POINT(37.6796 55.75)', 4326), NULL);
   INSERT INTO fleet.vehicles (registration, vehicle_class) VALUES ('T-7', 'truck')" >/dev/null

expect freight-on-the-command-line 0 '^assignment [0-9]+: T-7 on 2024-03-05, route F1 with 3 stops$' -- \
  ctl assign --date 2024-03-05 --vehicle T-7 --route F1 --start 07:45 --end 12:00 --tz Europe/Moscow \
  --stop 'YARD;;;08:00;08:20' --stop 'Bakery;37.632;55.7502;08:20;08:50;80' --stop 'WH7;;;09:00;09:40'
same stops-stored "$(q "SELECT string_agg(name || ':' || coalesce(radius_m::text, '-') || ':' ||
  to_char(window_from AT TIME ZONE 'Europe/Moscow', 'HH24:MI'), ',' ORDER BY seq) FROM fleet.assignment_stops")" \
  'Loading yard:40:08:00,Bakery:80:08:20,Warehouse 7:-:09:00'
expect bad-stop 1 "stop 'Bakery;37.632;08:20;08:50' is not NAME;LON;LAT;FROM;TO" -- \
  ctl assign --date 2024-03-05 --vehicle T-7 --route F1 --start 07:45 --end 12:00 \
  --stop 'Bakery;37.632;08:20;08:50'
expect window-outside-shift 1 "stop 'Warehouse 7': its window .* lies outside the shift" -- \
  ctl assign --date 2024-03-05 --vehicle T-7 --route F1 --start 07:45 --end 09:00 --stop 'WH7;;;09:00;09:40'

# A season of daily runs from one CSV: 300 assignments, progress on stderr, all or nothing.
{ echo "date,vehicle,route,start,end,tz,stop,lon,lat,from,to"
  for i in $(seq 0 299); do
    d=$(date -u -d "2025-01-01 + $i day" +%F)
    echo "$d,T-7,F1,07:45,12:00,Europe/Moscow,YARD,,,08:00,08:20"
    echo "$d,T-7,,,,,\"Bakery, Lenin St\",37.632,55.7502,08:20,08:50"
  done; } >"$work/season.csv"
ctl assign --csv "$work/season.csv" >"$work/out" 2>"$work/err"
same csv-exit $? 0
same csv-saved "$(q "SELECT count(*) FROM fleet.shift_assignments WHERE service_date >= '2025-01-01'")" 300
same csv-progress "$(grep '^assign:' "$work/err" | tr '\n' '|')" 'assign: 100 of 300 (33%)|assign: 200 of 300 (66%)|assign: 300 of 300 (100%)|'
sed -i '$ s/Bakery, Lenin St\",37.632/Bakery\",37.9/' "$work/season.csv"  # the last stop 14 km off
sed -i 's/^2025-/2026-/' "$work/season.csv"
expect csv-bad-row 1 "season.csv:600: stop 'Bakery' is [0-9]+ m from route 'F1'" -- ctl assign --csv "$work/season.csv"
same csv-bad-row-saves-nothing "$(q "SELECT count(*) FROM fleet.shift_assignments WHERE service_date >= '2026-01-01'")" 0

# A route's own thresholds.
expect threshold-set 0 '^local/F1: late-after = 600 s \(configured: 300\)' -- ctl route-threshold set --route F1 late-after 600
expect threshold-list 0 '^local/F1  late-after = 600 s \(configured: 120\)$' -- ctl --late-after 120 route-threshold list
expect threshold-unknown 1 "'late'; a route may set: on-route-distance, max-match-speed, .*, overspeed-min" -- \
  ctl route-threshold set --route F1 late 600
expect threshold-config-only 1 "'moving-speed' is judged without a route" -- ctl route-threshold set --route F1 moving-speed 9
expect threshold-range 1 "'on-route-distance' must be between 5 and 5000 m, got 2" -- \
  ctl route-threshold set --route F1 on-route-distance 2
expect threshold-route 1 "unknown route 'F2' in feed 'local'" -- ctl route-threshold set --route F2 late-after 600
expect threshold-usage 2 'usage: route-threshold set' -- ctl route-threshold set late-after 600
expect threshold-unset 0 'late-after back to the configured 300 s' -- ctl route-threshold unset --route F1 late-after
same threshold-journal "$(q "SELECT string_agg(action, ',' ORDER BY entry_id) FROM fleet.journal WHERE action LIKE 'route threshold%'")" \
  'route threshold set,route threshold unset'

# Speed limits along it.
expect speed-set 0 '^local/F1: 40 km/h from 1000 m to 2000 m' -- \
  ctl route-speed-limit set --route F1 --from-m 1000 --to-m 2000 --limit 40
expect speed-paint 0 '^local/F1: 30 km/h from 1500 m' -- \
  ctl route-speed-limit set --route F1 --from-m 1500 --to-m 1800 --limit 30
expect speed-list 0 '^local/F1  1800 – 2000 m  40 km/h$' -- ctl route-speed-limit list --route F1
same speed-stretches "$(ctl route-speed-limit list | wc -l)" 3
expect speed-usage 2 'usage: route-speed-limit set' -- ctl route-speed-limit set --route F1 --from-m 1000 --to-m 2000
expect speed-beyond 1 "route 'F1' is [0-9]+ m long; 9000 m is beyond its end" -- \
  ctl route-speed-limit set --route F1 --from-m 9000 --to-m 9500 --limit 40
exit $failed
