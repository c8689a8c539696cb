#!/usr/bin/env bash
# fleetctl's dispatch commands as an operator meets them: freight work with planned stops on the
# command line and from a long CSV (with progress), a route's own thresholds and speed limits, a
# day of shifts (two for one bus, clashes refused, list, change, hand-over to a spare, cancel),
# and the messages of what it refuses.
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
     ('WH7', 'Warehouse 7', ST_GeomFromText('POINT(37.6796 55.75)', 4326), NULL)" >/dev/null
ctl vehicle add T-7 --class truck >/dev/null || { echo "FAIL vehicle add"; exit 1; }

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
# A day of shifts on the small GTFS feed (Europe/Moscow): B1 08:00–08:45 (T1, T2), B2 23:50–24:10.
data=$(cd "$(dirname "$0")/../data" && pwd)
ctl import gtfs "$data/gtfs/small" --feed city >/dev/null 2>&1 || { echo "FAIL gtfs import"; exit 1; }
{ ctl vehicle add BUS-1 && ctl vehicle add BUS-2 && ctl driver add 0042 --name "Ivan Petrov" &&
  ctl driver add 0043 --name "Anna Smirnova"; } >/dev/null || { echo "FAIL fleet setup"; exit 1; }
last() { q "SELECT max(assignment_id) FROM fleet.shift_assignments"; }
day='--date 2024-03-05 --feed city'
expect shift-morning 0 '^assignment [0-9]+: BUS-1 on 2024-03-05, block B1$' -- ctl assign $day --vehicle BUS-1 --block B1 --driver 0042
morning=$(last)
expect shift-evening 0 '^assignment [0-9]+: BUS-1 on 2024-03-05, block B2$' -- ctl assign $day --vehicle BUS-1 --block B2 --driver 0043
evening=$(last)
expect clash-block 1 "clashes: block 'B1' of feed 'city' is already assigned on 2024-03-05: assignment $morning of vehicle BUS-1, 2024-03-05 08:00–08:45 \(Europe/Moscow\) \(--force saves it anyway\)" -- \
  ctl assign $day --vehicle BUS-2 --block B1
expect unknown-option 2 'force-not-an-option' -- ctl assign $day --vehicle BUS-2 --block B1 --force-not-an-option
expect clash-driver 1 "clashes: driver 'Ivan Petrov' already works then: assignment $morning of vehicle BUS-1" -- \
  ctl assign $day --vehicle BUS-2 --trips T3 --driver 0042 --start 08:30
same clash-saves-nothing "$(q "SELECT count(*) FROM fleet.shift_assignments WHERE vehicle_id = (SELECT vehicle_id FROM fleet.vehicles WHERE registration = 'BUS-2')")" 0
expect list 0 "^$morning +BUS-1 +Ivan Petrov +block B1: T1, T2 +08:00 +08:45 +Europe/Moscow +planned\$" -- ctl assign list --date 2024-03-05
expect list-past-midnight 0 "^$evening +BUS-1 +Anna Smirnova +block B2: T3 +23:50 +00:10 \(\+1\) +Europe/Moscow +planned\$" -- \
  ctl assign list --date 2024-03-05 --vehicle BUS-1
same list-csv "$(ctl assign list --date 2024-03-05 --vehicle BUS-1 --format csv 2>/dev/null | sed -n 2p | tr -d '\r')" \
  "$morning,2024-03-05,planned,BUS-1,Ivan Petrov,0042,timetable,city,B1,T1;T2,,0,2024-03-05T08:00:00+03:00,2024-03-05T08:45:00+03:00,Europe/Moscow,"
expect list-usage 2 '--date is required' -- ctl assign list --vehicle BUS-1
expect change-driver 0 "^assignment $evening changed\$" -- ctl assign change "$evening" --driver 0042 --reason swap
expect change-same 0 "^assignment $evening already is so: nothing changed\$" -- ctl assign change "$evening" --driver 0042
expect change-clash 1 "clashes: block 'B1' of feed 'city' is already assigned" -- ctl assign change "$evening" --block B1
expect change-unknown 1 'there is no assignment 9999' -- ctl assign change 9999 --driver 0042
expect change-nothing 2 'nothing to change' -- ctl assign change "$evening"
expect handover 0 "^assignment [0-9]+: BUS-2 takes over from trip T2 \(1 trip\); assignment $morning keeps 1 trip\$" -- \
  ctl assign handover $day --block B1 --from-trip T2 --vehicle BUS-2 --reason gearbox
spare=$(last)
same handover-trips "$(ctl assign list --date 2024-03-05 --format csv 2>/dev/null | grep ',city,B1,' | cut -d, -f1,4,5,10 | tr -d '\r' | tr '\n' '|')" \
  "$morning,BUS-1,Ivan Petrov,T1|$spare,BUS-2,Ivan Petrov,T2|"
expect handover-missing 1 "assignment $morning does not hold trip 'T2' \(its trips: T1\)" -- \
  ctl assign handover "$morning" --from-trip T2 --vehicle BUS-2
expect handover-usage 2 'name the assignment' -- ctl assign handover --from-trip T2 --vehicle BUS-2
expect cancel 0 "^assignment $evening cancelled: no demand\$" -- ctl assign cancel "$evening" --reason 'no demand'
expect cancel-again 1 "assignment $evening was cancelled already \(.*: no demand\)" -- ctl assign cancel "$evening" --reason again
expect cancel-no-reason 2 'reason is required' -- ctl assign cancel "$evening"
expect cancel-bad-id 2 "an assignment ID is a positive integer, not 'x'" -- ctl assign cancel x --reason y
expect list-cancelled 0 "^$evening .* cancelled: no demand\$" -- ctl assign list --date 2024-03-05
same shift-journal "$(q "SELECT string_agg(action || ':' || assignment_id, ',' ORDER BY entry_id) FROM fleet.journal
  WHERE kind = 'assignment' AND subject IN ('BUS-1', 'BUS-2') AND vehicle_id IS NOT NULL")" \
  "assignment created:$morning,assignment created:$evening,assignment changed:$evening,assignment handed over:$morning,assignment created:$spare,assignment cancelled:$evening"
exit $failed
