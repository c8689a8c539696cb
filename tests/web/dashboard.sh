#!/usr/bin/env bash
# The dashboard in a real browser: fleetd serves the built page (web-root) with a small fleet on
# a GTFS timetable, fleetsim drives it over Teltonika (BUS-1 on time, BUS-2 five minutes late,
# TRUCK-1 unassigned; BUS-1 has the native in-cab terminal and driver D1), and
# server/web/test/browser/dashboard.mjs drives Debian's Chromium through playwright-core: log-in,
# the map and board, the late event acknowledged, a notice drawn on the map read on BUS-1's
# terminal, the journal, reconnection, tablet width, a dispatcher limited to a group.
# Screenshots go to SHOTS.
#   dashboard.sh FLEETD FLEETCTL FLEETSIM STATE WEB_ROOT SHOTS
set -u
fleetd=$1 fleetctl=$2 fleetsim=$3 state=$4 web_root=$5 shots=$6
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../server/api_lib.sh"
api_setup dashboard
sim_pids=()
stop_sims() { for p in "${sim_pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
trap 'stop_sims; api_cleanup' EXIT
ctl migrate

# A 3 km route due east along 55.75° N, stops every kilometre, 2 minutes a kilometre (the
# 30 km/h fleetsim drives). T1 leaves S0 as BUS-1's first fix is sent; T2 left five minutes
# before BUS-2's.
now=$(date -u +%s)
t0=$((now + 5))
day=$(date -u -d "@$t0" +%Y-%m-%d)
midnight=$(date -u -d "$day 00:00:00" +%s)
hms() { local s=$(($1 - midnight)); printf '%02d:%02d:%02d' $((s / 3600)) $((s % 3600 / 60)) $((s % 60)); }
ymd=$(date -u -d "@$t0" +%Y%m%d)
lon() { awk -v m="$1" 'BEGIN { printf "%.7f", 37.6 + m / (111412.84 * cos(55.75 * 3.14159265358979 / 180) - 93.5 * cos(3 * 55.75 * 3.14159265358979 / 180)) }'; }
feed="$work/gtfs"; mkdir -p "$feed"
printf 'agency_id,agency_name,agency_url,agency_timezone\nA,Test Transit,https://example.org,UTC\n' >"$feed/agency.txt"
{ echo "stop_id,stop_name,stop_lat,stop_lon"
  for i in 0 1 2 3; do echo "S$i,Stop $i,55.75,$(lon $((i * 1000)))"; done; } >"$feed/stops.txt"
printf 'route_id,agency_id,route_short_name,route_type\nR1,A,1,3\n' >"$feed/routes.txt"
printf 'route_id,service_id,trip_id,block_id\nR1,ALL,T1,B1\nR1,ALL,T2,B2\n' >"$feed/trips.txt"
{ echo "trip_id,arrival_time,departure_time,stop_id,stop_sequence,timepoint"
  for i in 0 1 2 3; do t=$(hms $((t0 + i * 120))); echo "T1,$t,$t,S$i,$((i + 1)),1"; done
  for i in 0 1 2 3; do t=$(hms $((t0 - 300 + i * 120))); echo "T2,$t,$t,S$i,$((i + 1)),1"; done; } >"$feed/stop_times.txt"
printf 'service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\nALL,1,1,1,1,1,1,1,%s,%s\n' "$ymd" "$ymd" >"$feed/calendar.txt"
{ echo "shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence"
  for i in 0 1 2 3; do echo "SH,55.75,$(lon $((i * 1000))),$i"; done; } >"$feed/shapes.txt"
ctl import gtfs "$feed" --feed city
cat >"$work/route.geojson" <<JSON
{"type": "Feature", "properties": {"name": "route 1"}, "geometry": {"type": "LineString",
 "coordinates": [[$(lon 0), 55.75], [$(lon 3000), 55.75]]}}
JSON

ctl group add north
ctl group add south
ctl vehicle add BUS-1 --class bus --groups north
ctl vehicle add BUS-2 --class bus --groups south
ctl vehicle add TRUCK-1 --class truck --groups north
ctl device add 356307042441001 --protocol native --vehicle BUS-1
ctl driver add D1 --name "Dana One"
ctl device add 356307042442001 --protocol teltonika --vehicle BUS-2
ctl device add 356307042443001 --protocol teltonika --vehicle TRUCK-1
# CAB-9: a car whose driver D9 has an in-cab terminal that answers messages (tests/web/cab.py).
ctl vehicle add CAB-9 --class car --groups south
ctl device add cab-9 --protocol native --vehicle CAB-9
ctl driver add D9 --name "Nina Nine" --terminal cab-9
ctl assign --date "$day" --vehicle BUS-1 --driver D1 --feed city --block B1
ctl assign --date "$day" --vehicle BUS-2 --feed city --block B2
echo 'admin password one' | ctl user add admin --role admin --password-stdin
echo 'north dispatcher' | ctl user add north --role dispatcher --groups north --password-stdin

# Yesterday's waybill of TRUCK-1, issued, checked, released and returned; its 120 km by the
# odometer have no GPS track, a discrepancy the accountants' table marks and explains.
yday=$(date -u -d "@$((now - 86400))" +%Y-%m-%d)
ctl driver add T-7 --name "Tess Seven" --licence-series "77 12" --licence-number 345678 --licence-issued 2015-03-01
ctl waybill issuer --code ACME --name "Acme Transport" --legal-form LLC --time-zone UTC
ctl waybill issue --issuer ACME --vehicle TRUCK-1 --driver T-7 --from "$yday" --odometer 12000 --fuel 40
waybill=$(sed -n 's/^issued waybill ACME\/1 (id \([0-9]*\)).*/\1/p' "$work/out")
[ -n "$waybill" ] || fail "no waybill id in: $(cat "$work/out")"
ctl waybill check "$waybill" --kind technical --at "$yday 07:10+00" --person "Sidorov S." --odometer 12000
ctl waybill check "$waybill" --kind medical_pre --at "$yday 07:15+00" --person "Dr Petrova"
ctl waybill release "$waybill" --at "$yday 07:30+00" --dispatcher "Kuznetsova K."
ctl waybill return "$waybill" --at "$yday 18:00+00" --odometer 12120 --fuel 30

teltonika_port=$(free_port)
native_port=$(free_port)
api_start --web-root "$web_root" --late-after 60 --deviation-persist 5
grep -q "api: dashboard: .* files" "$work/fleetd.log" || fail "fleetd does not serve the dashboard"

# The page and its files, as a browser gets them; the API's paths are never the page.
curl -s -D "$work/h" -o "$work/index.html" "$base/" || fail "GET /"
grep -qi '^content-security-policy: default-src .self.' "$work/h" || fail "no CSP on the page: $(cat "$work/h")"
grep -qi '^x-content-type-options: nosniff' "$work/h" || fail "no nosniff"
asset=$(grep -o '/assets/[^"]*\.js' "$work/index.html" | head -1)
[ -n "$asset" ] || fail "no script in the page"
curl -s -D "$work/h" -o /dev/null "$base$asset"
grep -qi '^cache-control: public, max-age=31536000, immutable' "$work/h" || fail "the asset is not cached"
etag=$(grep -i '^etag:' "$work/h" | cut -d' ' -f2 | tr -d '\r')
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$base$asset")" = 304 ] || fail "no 304"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/board/anything")" = 200 ] || fail "a view path"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/assets/missing.js")" = 404 ] || fail "a missing asset"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/api/nothing")" = 404 ] || fail "an API typo got the page"
[ "$(curl -s -o /dev/null -w '%{http_code}' --path-as-is "$base/../../etc/passwd")" = 400 ] ||
  [ "$(curl -s --path-as-is "$base/../../etc/passwd" | grep -c root:)" = 0 ] || fail "a path out of the site"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/index.html")" = 404 ] || fail "a POST to the page"
echo "ok   the page is served with its headers; assets cached; API paths stay the API's"

# The map's layers and the page's settings, as the page reads them with its session cookie.
jar="$work/cookies"
curl -s -c "$jar" -o /dev/null -H 'Content-Type: application/json' \
  --data-binary '{"name":"admin","password":"admin password one"}' "$base/api/session"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/api/map/routes")" = 401 ] || fail "the layers without a session"
curl -s -b "$jar" "$base/api/map/routes" >"$work/routes.json"
curl -s -b "$jar" "$base/api/map/stops" >"$work/stops.json"
curl -s -b "$jar" "$base/api/ui" >"$work/ui.json"
python3 - "$work" <<'PY' || fail "the map layers: $(head -c 400 "$work/routes.json")"
import json, sys
w = sys.argv[1]
routes = json.load(open(w + "/routes.json"))
assert routes["type"] == "FeatureCollection" and len(routes["features"]) == 1, routes
r = routes["features"][0]
# Route R1's line, made by the GTFS import from its trips' shape: 4 points due east.
assert r["geometry"]["type"] == "LineString" and len(r["geometry"]["coordinates"]) == 4, r
assert all(abs(c[1] - 55.75) < 1e-6 for c in r["geometry"]["coordinates"]), r
assert r["properties"]["code"] == "R1" and r["properties"]["short_name"] == "1", r
stops = json.load(open(w + "/stops.json"))
assert sorted(f["properties"]["code"] for f in stops["features"]) == ["S0", "S1", "S2", "S3"], stops
assert stops["features"][0]["geometry"]["type"] == "Point"
ui = json.load(open(w + "/ui.json"))
assert ui["map_tiles"] is None and ui["on_time_window_s"] == {"early": 60, "late": 60}, ui
assert ui["user"] == {"name": "admin", "role": "admin", "limited_to_groups": False}, ui
PY
echo "ok   the map layers (routes from their trips' shapes, stops) and the page's settings"

# Four arrivals of BUS-1 at stops of route 1 twenty minutes ago, as the engine records them:
# on time, 400 s late, 120 s early, 30 s late (late and early beyond 60 s with this fleetd).
sql "INSERT INTO fleet.stop_arrivals (vehicle_id, service_date, trip_id, trip_code, stop_index, scheduled_at, arrived_at)
     SELECT v.vehicle_id, current_date, t.trip_id, 'T1', 10 + i, now() - interval '20 min',
            now() - interval '20 min' + make_interval(secs => (ARRAY[0, 400, -120, 30])[i + 1])
       FROM fleet.vehicles v, fleet.trips t, generate_series(0, 3) i
      WHERE v.registration = 'BUS-1' AND t.code = 'T1'" >/dev/null
arrival_day=$(sql "SELECT to_char(now() - interval '20 min', 'YYYY-MM-DD')")
curl -s -b "$jar" "$base/api/reports/punctuality?from=$(date -u -d '-1 hour' +%FT%TZ)&to=$(date -u -d '+1 minute' +%FT%TZ)" >"$work/punct.json"
python3 - "$work/punct.json" <<'PY' || fail "punctuality: $(cat "$work/punct.json")"
import json, sys
d = json.load(open(sys.argv[1]))
rows = [r for r in d["rows"] if r["route_code"] == "R1"]
assert sum(r["arrivals"] for r in rows) == 4 and sum(r["late"] for r in rows) == 1, d
assert sum(r["early"] for r in rows) == 1 and sum(r["on_time"] for r in rows) == 2, d
PY
[ "$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" "$base/api/reports/punctuality?from=2026-12-01T00:00Z&to=2026-12-02T00:00Z&tz=Mars/Olympus")" = 400 ] ||
  fail "an unknown zone was taken"
for bad in "from=2026-12-02T00:00Z&to=2026-12-01T00:00Z" "from=2026-01-01T00:00Z&to=2026-12-01T00:00Z" \
           "from=2026-12-01T00:00Z" "from=yesterday&to=2026-12-01T00:00Z"; do
  code=$(curl -s -o "$work/body" -w '%{http_code}' -b "$jar" "$base/api/reports/punctuality?$bad")
  case "$code" in 400 | 422) ;; *) fail "punctuality with $bad: $code $(cat "$work/body")" ;; esac
  grep -q '"message"' "$work/body" || fail "punctuality with $bad: no reason"
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/api/reports/punctuality?from=2026-12-01T00:00Z&to=2026-12-02T00:00Z")" = 401 ] ||
  fail "punctuality without a session"
echo "ok   punctuality by route and hour: 2 of 4 on time, 1 late, 1 early; bad periods refused"

sim() {
  "$fleetsim" run --vehicles 1 --imei-base "$1" \
    --interval-s 2 --duration-s 300 --time-scale 1 "${@:2}" >"$work/sim-$1.log" 2>&1 &
  sim_pids+=($!)
}
python3 "$here/cab.py" "$native_port" cab-9 55.744 37.61 >"$work/cab.log" 2>&1 &
sim_pids+=($!)
sim 356307042441001 --protocol native --port "$native_port" --read-after 1 --route "$work/route.geojson" --speed-kmh 30
sim 356307042442001 --protocol teltonika --port "$teltonika_port" --route "$work/route.geojson" --speed-kmh 30
sim 356307042443001 --protocol teltonika --port "$teltonika_port" --origin-lat 55.755 --origin-lon 37.62 --speed-kmh 20

BASE="$base" ADMIN="admin:admin password one" DISPATCHER="north:north dispatcher" \
  ALL="BUS-1,BUS-2,CAB-9,TRUCK-1" NORTH="BUS-1,TRUCK-1" LATE="BUS-2" SHOTS="$shots" FROM="$yday" TO="$day" ARRIVAL_DAY="$arrival_day" \
  node "$here/../../server/web/test/browser/dashboard.mjs" || fail "the browser test failed (above)"
# What the page did is in the store.
[ "$(sql "SELECT count(*) FROM fleet.events WHERE kind = 'late' AND acknowledgement LIKE 'Traffic jam%'")" -ge 1 ] ||
  fail "the acknowledgement is not stored"
[ "$(sql "SELECT count(*) FROM fleet.journal WHERE actor = 'api:admin' AND details->>'text' = 'Called the depot about the bridge'")" = 1 ] ||
  fail "the note is not in the journal: $(sql "SELECT actor, action, details FROM fleet.journal ORDER BY entry_id DESC LIMIT 3")"
# The CSV the page downloaded is the report, byte for byte.
"$fleetctl" --database-url "$url" --log-level warn report waybills --from "$yday" --to "$day" >"$work/cli.csv" ||
  fail "fleetctl report waybills"
cmp -s "$shots/waybills.csv" "$work/cli.csv" ||
  fail "the page's CSV differs from the report: $(diff "$shots/waybills.csv" "$work/cli.csv" | head -5)"
deliveries=$(sql "SELECT string_agg(d.personnel_number || ':' || n.state, ',') FROM fleet.notice_deliveries n
                   JOIN fleet.drivers d USING (driver_id) JOIN fleet.notices x USING (notice_id)
                  WHERE x.title = 'Bridge closed'")
[ "$deliveries" = "D1:read" ] || fail "the drawn notice's deliveries: '$deliveries', wanted D1:read"
reply=$(sql "SELECT n.state || '|' || n.reply_kind || '|' || n.reply_text FROM fleet.notice_deliveries n
              JOIN fleet.drivers d USING (driver_id) JOIN fleet.notices x USING (notice_id)
             WHERE d.personnel_number = 'D9' AND x.kind = 'message'")
[ "$reply" = "read|canned|Running late" ] || fail "the message's reply: '$reply'"
echo "ok   the acknowledgement, the note, the notice read by D1 and D9's reply are stored; screenshots in $shots"
