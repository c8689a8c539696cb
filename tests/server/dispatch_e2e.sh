#!/usr/bin/env bash
# The whole chain as an operator meets it: a timetable imported from GTFS, a vehicle assigned its
# block for today, fleetd running, and fleetsim driving the vehicle over Teltonika too slowly and
# around a detour. The late and off-route events must be in fleet.events when the drive ends; the
# arrival times predicted on the way are stored with the stops' arrivals, scored by `report
# eta-accuracy`, and a consignee subscribed to stop S2 gets its webhooks, signed (the receiver
# checks each signature) and retried after a refusal.
#   dispatch_e2e.sh FLEETD FLEETCTL FLEETSIM STATE
set -u
fleetd=$1 fleetctl=$2 fleetsim=$3 state=$4
server=$(cat "$state/url")
db="fleet_e2e_$$"
work=$(mktemp -d)
fleetd_pid="" receiver_pid=""
cleanup() {
  [ -n "$fleetd_pid" ] && kill "$fleetd_pid" 2>/dev/null && wait "$fleetd_pid" 2>/dev/null
  [ -n "$receiver_pid" ] && kill "$receiver_pid" 2>/dev/null && wait "$receiver_pid" 2>/dev/null
  psql "$server" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$work/fleetd.log" ] && tail -30 "$work/fleetd.log"; exit 1; }
psql "$server" -qc "CREATE DATABASE $db" >/dev/null || fail "create database"
url="$server dbname=$db"
"$fleetctl" --database-url "$url" migrate >/dev/null 2>&1 || fail "migrate"

# Timing: fleetsim simulates 900 s of device time in 60 s (time scale 15), its fixes dated from
# 840 s ago; the trip leaves S0 30 s after the first fix, 2 minutes a kilometre (30 km/h).
now=$(date -u +%s)
t0=$((now - 810))
day=$(date -u -d "@$t0" +%Y-%m-%d)
midnight=$(date -u -d "$day 00:00:00" +%s)
hms() { local s=$(($1 - midnight)); printf '%02d:%02d:%02d' $((s / 3600)) $((s % 3600 / 60)) $((s % 60)); }
ymd=$(date -u -d "@$t0" +%Y%m%d)

# A 3 km route due east along 55.75° N; stops every kilometre.
lon() { awk -v m="$1" 'BEGIN { printf "%.7f", 37.6 + m / (111412.84 * cos(55.75 * 3.14159265358979 / 180) - 93.5 * cos(3 * 55.75 * 3.14159265358979 / 180)) }'; }
feed="$work/gtfs"; mkdir -p "$feed"
printf 'agency_id,agency_name,agency_url,agency_timezone\nA,Test Transit,https://example.org,UTC\n' >"$feed/agency.txt"
{ echo "stop_id,stop_name,stop_lat,stop_lon"
  for i in 0 1 2 3; do echo "S$i,Stop $i,55.75,$(lon $((i * 1000)))"; done; } >"$feed/stops.txt"
printf 'route_id,agency_id,route_short_name,route_type\nR1,A,1,3\n' >"$feed/routes.txt"
printf 'route_id,service_id,trip_id,block_id\nR1,ALL,T1,B1\n' >"$feed/trips.txt"
{ echo "trip_id,arrival_time,departure_time,stop_id,stop_sequence,timepoint"
  for i in 0 1 2 3; do t=$(hms $((t0 + i * 120))); echo "T1,$t,$t,S$i,$((i + 1)),1"; done; } >"$feed/stop_times.txt"
printf 'service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\nALL,1,1,1,1,1,1,1,%s,%s\n' "$ymd" "$ymd" >"$feed/calendar.txt"
"$fleetctl" --database-url "$url" import gtfs "$feed" --feed city >/dev/null 2>&1 || fail "GTFS import"

imei=356307042449999
"$fleetctl" --database-url "$url" vehicle add BUS-1 >/dev/null || fail "vehicle add"
"$fleetctl" --database-url "$url" device add "$imei" --protocol teltonika --vehicle BUS-1 >/dev/null ||
  fail "device add"
"$fleetctl" --database-url "$url" assign --date "$day" --vehicle BUS-1 --feed city --block B1 >/dev/null ||
  fail "assign"

# The drive: 1.2 km along the route, 300 m north, 600 m east, back south, on to S3.
north=0.0026946
cat >"$work/drive.geojson" <<JSON
{"type": "Feature", "properties": {"name": "drive"}, "geometry": {"type": "LineString", "coordinates": [
 [$(lon 0), 55.75], [$(lon 1200), 55.75], [$(lon 1200), $(awk -v n=$north 'BEGIN{printf "%.7f", 55.75 + n}')],
 [$(lon 1800), $(awk -v n=$north 'BEGIN{printf "%.7f", 55.75 + n}')], [$(lon 1800), 55.75], [$(lon 3000), 55.75]]}}
JSON

# The consignee's receiver: checks every signature, refuses the first request (503) to be tried
# again, and logs "event|signature ok|delivery|status" for each.
secret=consignee-shared-secret-42
cat >"$work/receiver.py" <<'PY'
import hashlib, hmac, http.server, sys
secret, log = sys.argv[1].encode(), sys.argv[2]
seen = [0]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        ts = self.headers["X-Fleet-Timestamp"]
        want = "sha256=" + hmac.new(secret, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        ok = hmac.compare_digest(want, self.headers["X-Fleet-Signature"])
        seen[0] += 1
        status = 503 if seen[0] == 1 else 200
        with open(log, "a") as f:
            f.write("%s|%s|%s|%d\n" % (self.headers["X-Fleet-Event"], ok,
                                       self.headers["X-Fleet-Delivery"], status))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
python3 "$work/receiver.py" "$secret" "$work/hooks.log" >"$work/receiver.port" &
receiver_pid=$!
for _ in $(seq 1 50); do [ -s "$work/receiver.port" ] && break; sleep 0.1; done
s2=$(psql "$url" -Atc "SELECT stop_id FROM fleet.stops WHERE code = 'S2'")
"$fleetctl" --database-url "$url" eta subscribe --consignee "Shop at S2" --stop "$s2" \
  --url "http://127.0.0.1:$(cat "$work/receiver.port")/hooks/eta" --secret "$secret" >/dev/null ||
  fail "eta subscribe"
# A URL that is not http(s) is refused and stores nothing.
"$fleetctl" --database-url "$url" eta subscribe --consignee X --stop "$s2" --url "ftp://x/" \
  --secret "$secret" >/dev/null 2>"$work/err" && fail "an ftp:// webhook was accepted"
grep -q "http or https" "$work/err" || fail "no reason for the refused URL: $(cat "$work/err")"
[ "$(psql "$url" -Atc "SELECT count(*) FROM fleet.eta_subscriptions")" = 1 ] || fail "subscriptions"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
  echo $((20000 + RANDOM % 20000)))
"$fleetd" --database-url "$url" --bind 127.0.0.1 --teltonika-port "$port" --gt06-port 0 --osmand-port 0 \
  --native-port 0 --api-port 0 --late-after 60 --deviation-persist 10 --webhook-retry-base 1 \
  --webhook-private-receivers allow \
  >"$work/fleetd.log" 2>&1 &
fleetd_pid=$!
for _ in $(seq 1 100); do grep -q 'fleetd: ready' "$work/fleetd.log" && break; sleep 0.1; done
grep -q 'dispatch: 1 assignments loaded' "$work/fleetd.log" || fail "the assignment was not loaded"

"$fleetsim" run --protocol teltonika --port "$port" --vehicles 1 --imei-base "$imei" \
  --route "$work/drive.geojson" --speed-kmh 15 --interval-s 5 --duration-s 900 --time-scale 15 \
  >"$work/fleetsim.out" 2>&1 || fail "fleetsim: $(tail -1 "$work/fleetsim.out")"
echo "$(tail -1 "$work/fleetsim.out")"

events() {
  psql "$url" -Atc "SELECT kind || '|' || (ended_at IS NOT NULL) || '|' || ST_GeometryType(geom) || '|' ||
    round(magnitude) || '|' || coalesce(cause, '') FROM fleet.events ORDER BY started_at"
}
# The events are there within a second of the last acknowledged fix.
for _ in $(seq 1 10); do events | grep -q '^off_route|true' && break; sleep 0.1; done
list=$(events)
echo "$list"
[ -n "${DEBUG_E2E:-}" ] && psql "$url" -c "SELECT kind, started_at::time, ended_at::time, round(magnitude), cause, details FROM fleet.events ORDER BY started_at"
echo "$list" | grep -q '^off_route|true|ST_LineString|' || fail "no closed off-route event with its path"
echo "$list" | grep -q '^late|.*|traffic (slow speed along the route)$' || fail "no late event with its cause"
# Arrival times: predictions stored with the time each was made, the arrivals at the stops, and
# the report scoring them by horizon.
for _ in $(seq 1 30); do
  [ "$(psql "$url" -Atc "SELECT count(*) FROM fleet.stop_arrivals WHERE trip_code = 'T1' AND stop_index = 3")" = 1 ] && break
  sleep 0.2
done
predictions=$(psql "$url" -Atc "SELECT count(*) FROM fleet.eta_predictions WHERE trip_code = 'T1' AND method <> 'schedule'")
arrivals=$(psql "$url" -Atc "SELECT string_agg(stop_index::text, ',' ORDER BY stop_index) FROM fleet.stop_arrivals")
echo "eta: $predictions predictions from progress stored; arrivals at stops $arrivals"
[ "$predictions" -gt 10 ] || fail "too few arrival times stored: $predictions"
case "$arrivals" in *2,3) ;; *) fail "arrivals at S2 and S3 not recorded: '$arrivals'" ;; esac
"$fleetctl" --database-url "$url" report eta-accuracy --from "$(date -u -d "@$((t0 - 600))" +%FT%TZ)" \
  --to "$(date -u -d "@$((now + 600))" +%FT%TZ)" --format csv >"$work/accuracy.csv" 2>"$work/err" ||
  fail "report eta-accuracy: $(cat "$work/err")"
cat "$work/accuracy.csv"
[ "$(wc -l <"$work/accuracy.csv")" = 7 ] || fail "report eta-accuracy: not six buckets"
scored=$(awk -F, 'NR > 1 { n += $2 } END { print n + 0 }' "$work/accuracy.csv")
[ "$scored" -gt 0 ] || fail "report eta-accuracy scored no prediction"

# The consignee's webhooks: signed, the refused one tried again, first known and arrived.
for _ in $(seq 1 50); do grep -q '^arrived|True' "$work/hooks.log" 2>/dev/null && break; sleep 0.2; done
cat "$work/hooks.log"
grep -q '|False|' "$work/hooks.log" && fail "a webhook's signature did not check"
grep -q '^eta|True|.*|503$' "$work/hooks.log" || fail "the first webhook was not the eta one refused"
first=$(head -1 "$work/hooks.log" | cut -d'|' -f3)
grep -q "^eta|True|$first|200$" "$work/hooks.log" || fail "the refused webhook was not delivered on retry"
grep -q '^arrived|True|.*|200$' "$work/hooks.log" || fail "no arrived webhook"
log=$(psql "$url" -Atc "SELECT d.event || ':' || d.state || ':' || string_agg(coalesce(a.http_status::text, '-'), '/' ORDER BY a.attempt)
  FROM fleet.webhook_deliveries d JOIN fleet.webhook_attempts a USING (delivery_id)
  WHERE d.delivery_id = $first GROUP BY d.delivery_id")
[ "$log" = "eta:delivered:503/200" ] || fail "the attempts of the first webhook: '$log'"
echo "ok   dispatch end to end"
