#!/usr/bin/env bash
# The operator API against a running fleetd, as its users and an attacker meet it: accounts and
# roles made with fleetctl; every route group's success path; 401 without or with bad
# credentials, 403 for the wrong role and outside a dispatcher's groups; bad input (malformed
# JSON, wrong types, unknown fields and ids, oversized bodies and headers, a slow client) with
# the right status and nothing changed; log-in, its cookie, log-out, and the slowing of failed
# log-ins; the live state after an OsmAnd fix; the journal of every change with its user.
#   api_http.sh FLEETD FLEETCTL STATE
set -u
fleetd=$1 fleetctl=$2 state=$3
. "$(dirname "$0")/api_lib.sh"
api_setup api_http

# The fleet and its users, through fleetctl.
ctl migrate
ctl group add north
ctl group add south
ctl vehicle add N1 --class bus --groups north
ctl vehicle add S1 --class bus --groups south
ctl device add osm-n1 --protocol osmand --vehicle N1
ctl driver add D-1 --name "Petrov Petr"
echo 'root password one' | ctl user add root --role admin --password-stdin
echo 'dispatcher password' | ctl user add disp --role dispatcher --groups north --password-stdin
ctl user add acct --role accountant
ctl user add view --role viewer
ctl user token root --label tests; root=$(cat "$work/out")
ctl user token disp; disp=$(cat "$work/out")
ctl user token acct; acct=$(cat "$work/out")
ctl user token view; view=$(cat "$work/out")
[ "${#root}" -ge 49 ] || fail "a token of 256 bits was wanted, got '$root'"
n1=$(sql "SELECT vehicle_id FROM fleet.vehicles WHERE registration = 'N1'")
s1=$(sql "SELECT vehicle_id FROM fleet.vehicles WHERE registration = 'S1'")

api_start --api-request-timeout 3

# The description is open; everything else needs credentials.
req GET /api/openapi.json ""; expect 200 "openapi"
[ "$(json 'd["openapi"][:2]')" = "3." ] || fail "not an OpenAPI 3 description"
req GET /api/vehicles ""; expect 401 "no credentials"; error_is unauthenticated "no credentials"
req GET /api/vehicles "fleet_nope"; expect 401 "a wrong token"; error_is unauthenticated "a wrong token"
req GET /metrics ""; expect 401 "metrics without credentials"
req GET /api/nothing "$view"; expect 404 "unknown path"; error_is not_found "unknown path"
req DELETE /api/vehicles "$root"; expect 405 "a path without that method"

# A fix of N1 through OsmAnd: the live state shows it, from memory.
now=$(date -u +%s)
curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$oport/?id=osm-n1&lat=55.75&lon=37.61&timestamp=$now&speed=20&bearing=90" |
  grep -q 200 || fail "the OsmAnd fix was not taken"
for _ in $(seq 1 50); do
  req GET /api/vehicles "$view"
  [ "$(json "[v['position'] is not None for v in d['vehicles'] if v['registration']=='N1'][0]")" = True ] && break
  sleep 0.1
done
expect 200 "live vehicles"
[ "$(json 'len(d["vehicles"])')" = 2 ] || fail "the viewer sees both vehicles"
[ "$(json "[v['position']['course_deg'] for v in d['vehicles'] if v['registration']=='N1'][0] == 90")" = True ] ||
  fail "N1's latest position is not in the live state"
[ "$(json "[v['adherence'] for v in d['vehicles'] if v['registration']=='S1'][0]")" = unassigned ] ||
  fail "S1 is not unassigned"
req GET "/api/vehicles?limit=1" "$view"; expect 200 "a page"
[ "$(json 'len(d["vehicles"])')" = 1 ] && [ "$(json 'd["next_after"]')" = "$n1" ] || fail "paging"
req GET "/api/vehicles?adherence=sideways" "$view"; expect 400 "a bad filter"
req GET "/api/vehicles?limit=0" "$view"; expect 400 "limit 0"

# A dispatcher limited to north sees N1 only, in lists and by id.
req GET /api/vehicles "$disp"; expect 200 "dispatcher's vehicles"
[ "$(json '[v["registration"] for v in d["vehicles"]]')" = "['N1']" ] || fail "the dispatcher sees outside north"
req GET "/api/vehicles/$s1" "$disp"; expect 404 "a vehicle outside the groups"
req GET "/api/vehicles/$n1" "$disp"; expect 200 "a vehicle inside the groups"
req GET /api/devices "$disp"; expect 200 "devices"
req GET /api/groups "$disp"; expect 200 "groups"
[ "$(json '[g["name"] for g in d["groups"]]')" = "['north']" ] || fail "the dispatcher sees other groups"

# Roles: register changes are the admin's.
req POST /api/vehicles "$view" '{"registration":"X1"}'; expect 403 "viewer adds a vehicle"; error_is forbidden "viewer"
req POST /api/vehicles "$disp" '{"registration":"X1"}'; expect 403 "dispatcher adds a vehicle"
req POST /api/vehicles "$acct" '{"registration":"X1"}'; expect 403 "accountant adds a vehicle"
req GET /api/users "$disp"; expect 403 "dispatcher lists users"

# Bad input changes nothing.
before=$(sql "SELECT count(*) FROM fleet.vehicles")
req POST /api/vehicles "$root" '{"registration":'; expect 400 "malformed JSON"; error_is bad_request "malformed JSON"
req POST /api/vehicles "$root" '[1]'; expect 400 "not an object"
req POST /api/vehicles "$root" '{"registration":12}'; expect 400 "a wrong type"
req POST /api/vehicles "$root" '{"registration":"X1","colour":"red"}'; expect 400 "an unknown field"
grep -q "unknown field 'colour'" "$work/body" || fail "the unknown field is not named"
req POST /api/vehicles "$root" '{"registration":"X1","class":"spaceship"}'; expect 422 "an unknown class"
req POST /api/vehicles "$root" '{"registration":"X1","built_on":"2999-01-01"}'; expect 422 "a future date"
req POST /api/vehicles "$root" '{"registration":"N1"}'; expect 422 "a registration taken"
head -c 2000000 /dev/zero | tr '\0' 'a' >"$work/big"
status=$(curl -s -o "$work/body" -w '%{http_code}' -H "Authorization: Bearer $root" \
  -H 'Content-Type: application/json' --data-binary @"$work/big" "$base/api/vehicles")
expect 413 "an oversized body"; error_is body_too_large "an oversized body"
status=$(curl -s -o "$work/body" -w '%{http_code}' -H "Authorization: Bearer $root" \
  -H "X-Filler: $(head -c 20000 /dev/zero | tr '\0' 'b')" "$base/api/vehicles")
expect 431 "oversized headers"
req GET /api/vehicles/999999 "$root"; expect 404 "an unknown id"
req GET /api/vehicles/abc "$root"; expect 404 "an id that is not one"
req GET "/api/events?from=yesterday" "$root"; expect 400 "a time without offset"
# Arrival times and consignees' webhooks: bad input refused with its reason, nothing stored.
req GET /api/eta "$view"; expect 200 "arrival times"
req GET "/api/eta?vehicle=abc" "$view"; expect 400 "a vehicle filter that is not an id"
req GET /api/eta/accuracy "$view"; expect 400 "accuracy without a period"
req GET "/api/eta/accuracy?from=2026-12-02T00:00Z&to=2026-12-01T00:00Z" "$view"
expect 422 "accuracy over a reversed period"
req GET /api/eta/subscriptions "$view"; expect 403 "a viewer lists subscriptions"
req POST /api/eta/subscriptions "$disp" '{"consignee":"W","stop_id":1,"url":"ftp://x/","secret":"0123456789abcdef"}'
expect 422 "an ftp webhook"; grep -q "http or https" "$work/body" || fail "the ftp URL's reason"
req POST /api/eta/subscriptions "$disp" '{"consignee":"W","stop_id":1,"url":"http://x/","secret":"short"}'
expect 422 "a short secret"
req POST /api/eta/subscriptions "$disp" '{"consignee":"W","stop_id":999999,"url":"http://x/","secret":"0123456789abcdef"}'
expect 404 "an unknown stop"
[ "$(sql "SELECT count(*) FROM fleet.eta_subscriptions")" = 0 ] || fail "a refused subscription was stored"
[ "$(sql "SELECT count(*) FROM fleet.vehicles")" = "$before" ] || fail "a refused request changed the register"

# The admin's changes, journalled with the user.
req POST /api/vehicles "$root" '{"registration":"X1","class":"truck","groups":["north"]}'; expect 201 "add a vehicle"
x1=$(json 'd["vehicle"]["id"]')
req PATCH "/api/vehicles/$x1" "$root" '{"garage_number":"G-7"}'; expect 200 "change a vehicle"
[ "$(json 'd["vehicle"]["garage_number"]')" = G-7 ] || fail "the change is not answered"
# A dispatcher's vehicles are read with their credentials, at most 10 s old.
for _ in $(seq 1 60); do
  req GET /api/vehicles "$disp"
  [ "$(json '[v["registration"] for v in d["vehicles"]]')" = "['N1', 'X1']" ] && break
  sleep 0.2
done
[ "$(json '[v["registration"] for v in d["vehicles"]]')" = "['N1', 'X1']" ] ||
  fail "a vehicle added to north through the API is not the dispatcher's within 12 s"
req DELETE "/api/vehicles/$x1" "$root"; expect 204 "remove a vehicle"
req DELETE "/api/vehicles/$n1" "$root"; expect 409 "remove a vehicle with devices"; error_is conflict "vehicle with devices"
req POST /api/drivers "$root" '{"personnel_number":"D-2","full_name":"Sidorov"}'; expect 201 "add a driver"
req POST /api/groups "$root" '{"name":"east/west"}'; expect 201 "add a group with a slash"
req POST /api/groups/east%2Fwest/members "$root" '{"add":["S1"]}'; expect 200 "members"
[ "$(json 'd["added"]')" = 1 ] || fail "the member was not added"
req POST /api/devices "$root" '{"identifier":"osm-s1","protocol":"osmand","vehicle":"S1"}'; expect 201 "add a device"
[ "$(sql "SELECT count(*) FROM fleet.journal WHERE actor = 'api:root' AND action IN ('vehicle added', 'vehicle changed', 'vehicle removed', 'driver added', 'group added', 'group members changed', 'device added')")" = 7 ] ||
  fail "the API's changes are not journalled with the user"

# Users through the API.
req POST /api/users "$root" '{"name":"new","role":"viewer","password":"short"}'; expect 422 "a short password"
req POST /api/users "$root" '{"name":"new","role":"emperor"}'; expect 400 "an unknown role"
req POST /api/users "$root" '{"name":"new","role":"viewer"}'; expect 201 "add a user"
req POST /api/users/new/tokens "$root" '{"label":"x"}'; expect 201 "a token"
newtoken=$(json 'd["token"]')
req GET /api/session "$newtoken"; expect 200 "the new token works"
[ "$(json 'd["user"]["role"]')" = viewer ] || fail "the token's user"
req PATCH /api/users/root "$root" '{"role":"viewer"}'; expect 409 "demote the last admin"
req DELETE /api/users/new "$root"; expect 204 "remove a user"
req GET /api/session "$newtoken"; expect 401 "a removed user's token, at once"

# Log-in with a password: a cookie for the browser; failures slow down.
status=$(curl -s -o "$work/body" -w '%{http_code}' -D "$work/headers" -H 'Content-Type: application/json' \
  --data-binary '{"name":"disp","password":"dispatcher password"}' "$base/api/session")
expect 200 "log in"
cookie=$(sed -n 's/^[Ss]et-[Cc]ookie: \(fleet_session=[^;]*\).*/\1/p' "$work/headers" | tr -d '\r')
grep -i '^set-cookie:' "$work/headers" | grep -q 'HttpOnly' || fail "the cookie is not HttpOnly"
grep -i '^set-cookie:' "$work/headers" | grep -q 'SameSite=Strict' || fail "the cookie is not SameSite=Strict"
grep -i '^set-cookie:' "$work/headers" | grep -q 'Max-Age=43200' || fail "the cookie does not expire"
status=$(curl -s -o "$work/body" -w '%{http_code}' -b "$cookie" "$base/api/session"); expect 200 "the cookie works"
status=$(curl -s -o "$work/body" -w '%{http_code}' -b "$cookie" -X DELETE "$base/api/session"); expect 204 "log out"
status=$(curl -s -o "$work/body" -w '%{http_code}' -b "$cookie" "$base/api/session"); expect 401 "a cookie after log-out"
for i in 1 2 3; do
  req POST /api/session "" '{"name":"root","password":"wrong password!"}'; expect 401 "failed log-in $i"
done
req POST /api/session "" '{"name":"root","password":"root password one"}'; expect 429 "the fourth attempt at once"
error_is too_many_attempts "throttled"
grep -q "failed log-in for 'root'" "$work/fleetd.log" || fail "failed log-ins are not logged"

# Events: listed for those who may see them, acknowledged once, journalled with the user.
for v in "$n1" "$s1"; do
  sql "INSERT INTO fleet.events (vehicle_id, kind, started_at, magnitude, cause, geom)
       VALUES ($v, 'late', now() - interval '5 minutes', 420, 'congestion', ST_SetSRID(ST_MakePoint(37.6, 55.75), 4326))" >/dev/null
done
en1=$(sql "SELECT event_id FROM fleet.events WHERE vehicle_id = $n1")
es1=$(sql "SELECT event_id FROM fleet.events WHERE vehicle_id = $s1")
req GET "/api/events?state=open&kind=late" "$view"; expect 200 "events"
[ "$(json 'len(d["events"])')" = 2 ] || fail "the viewer sees both events"
req GET /api/events "$disp"; expect 200 "dispatcher's events"
[ "$(json '[e["registration"] for e in d["events"]]')" = "['N1']" ] || fail "the dispatcher sees events outside north"
req GET "/api/events?kind=sideways" "$view"; expect 400 "an unknown kind"
req POST "/api/events/$en1/acknowledge" "$view" '{"comment":"seen"}'; expect 403 "viewer acknowledges"
req POST "/api/events/$es1/acknowledge" "$disp" '{"comment":"seen"}'; expect 404 "acknowledge outside the groups"
req POST "/api/events/$en1/acknowledge" "$disp" '{}'; expect 400 "acknowledge without a comment"
req POST "/api/events/$en1/acknowledge" "$disp" '{"comment":"jam on the ring road"}'; expect 200 "acknowledge"
[ "$(json 'd["event"]["acknowledgement"]["by"]')" = api:disp ] || fail "the acknowledgement's user"
req POST "/api/events/$en1/acknowledge" "$disp" '{"comment":"again"}'; expect 409 "acknowledge twice"
[ "$(sql "SELECT count(*) FROM fleet.journal WHERE action = 'event acknowledged' AND actor = 'api:disp'")" = 1 ] ||
  fail "the acknowledgement is not journalled"

# The journal: notes, and reading it.
req POST /api/journal "$disp" '{"text":"ring road closed"}'; expect 403 "a limited dispatcher's note without a vehicle"
req POST /api/journal "$disp" "{\"text\":\"N1 diverted\",\"vehicle\":$n1}"; expect 201 "a note"
from=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ); to=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
req GET "/api/journal?from=$from&to=$to&kind=note" "$root"; expect 200 "journal"
[ "$(json 'd["entries"][0]["details"]["text"]')" = "N1 diverted" ] || fail "the note is not in the journal"
req GET "/api/journal?from=$from" "$root"; expect 400 "journal without to"

# Tracks, as fleetctl export track writes them.
req GET "/api/vehicles/$n1/track?from=$from&to=$to" "$view"; expect 200 "a track"
[ "$(json 'd["fixes"]')" -ge 1 ] && [ "$(json 'd["vehicle"]["registration"]')" = N1 ] || fail "the track holds no fix of N1"
req GET "/api/vehicles/$n1/track?from=$from&to=$to&format=gpx&trips=true&stops=true" "$view"; expect 200 "a GPX track"
grep -q '<gpx' "$work/body" || fail "not GPX"
req GET "/api/vehicles/$s1/track?from=$from&to=$to" "$disp"; expect 404 "a track outside the groups"
req GET "/api/vehicles/$n1/track?from=$from&to=$to&format=shp" "$view"; expect 400 "an unknown format"
req GET "/api/vehicles/$n1/track?from=2026-01-01T00:00Z&to=2026-06-01T00:00Z" "$view"; expect 422 "a period too long"
req GET "/api/vehicles/$n1/track?from=$from" "$view"; expect 400 "a track without to"

# Timetables: a GTFS zip uploaded, validated whole; a bad one changes nothing.
zip="$(dirname "$0")/../data/gtfs/small.zip"
upload() { # upload TOKEN FILE [TYPE]
  status=$(curl -s -o "$work/body" -w '%{http_code}' -H "Authorization: Bearer $1" \
    -H "Content-Type: ${3:-application/zip}" --data-binary @"$2" "$base/api/timetables?feed=small")
}
upload "$disp" "$zip"; expect 403 "a limited dispatcher replaces the timetables"
# A stranger's or a viewer's upload is refused before its body is read: curl, which waits for
# "100 Continue" before a large body, gets the answer having sent none of its 60 MB (before,
# fleetd read and buffered the whole body of anyone, on each of their connections).
head -c 60000000 /dev/zero >"$work/huge.zip"
for who in "" "$view"; do
  out=$(curl -s -o "$work/body" -w '%{http_code} %{size_upload}' ${who:+-H "Authorization: Bearer $who"} \
    -H "Content-Type: application/zip" -H "Expect: 100-continue" --data-binary @"$work/huge.zip" \
    "$base/api/timetables?feed=small" || true)
  status=${out% *}
  expect "$([ -z "$who" ] && echo 401 || echo 403)" "an upload by ${who:+a viewer}${who:-a stranger}"
  [ "${out#* }" -lt 1000000 ] || fail "fleetd read ${out#* } bytes of a refused upload's body"
done
rm -f "$work/huge.zip"
upload "$root" "$zip" text/plain; expect 400 "a zip sent as text"
head -c 5000 /dev/urandom >"$work/bad.zip"
upload "$root" "$work/bad.zip"; expect 422 "a zip that is not one"
[ "$(sql "SELECT count(*) FROM fleet.feeds")" = 0 ] || fail "a refused upload stored a feed"
upload "$root" "$zip"; expect 201 "a GTFS upload"
[ "$(json 'd["trips"]')" = 4 ] || fail "the upload's trips"
upload "$root" "$zip"; expect 200 "the same feed again replaces it"
req GET /api/timetables "$view"; expect 200 "timetables"
[ "$(json '[f["feed"] for f in d["timetables"]]')" = "['small']" ] || fail "the feed is not listed"

# Assignments: a dispatcher assigns and cancels its own vehicles' work.
req POST /api/assignments "$view" '{"service_date":"2024-03-05","vehicle":"N1","feed":"small","block":"B1"}'
expect 403 "a viewer assigns"
req POST /api/assignments "$disp" '{"service_date":"2024-03-05","vehicle":"S1","feed":"small","block":"B1"}'
expect 403 "a dispatcher assigns a vehicle outside the groups"
req POST /api/assignments "$disp" '{"service_date":"2024-03-05","vehicle":"N1","feed":"small","block":"NOPE"}'
expect 422 "an unknown block"
req POST /api/assignments "$disp" '{"service_date":"2024-03-05","vehicle":"N1","feed":"small","block":"B1"}'
expect 201 "an assignment"
aid=$(json 'd["assignment"]["id"]')
[ "$(json 'd["assignment"]["trips"]')" = "['T1', 'T2']" ] || fail "the block's trips"
req GET "/api/assignments?date=2024-03-05" "$disp"; expect 200 "a day's assignments"
[ "$(json 'len(d["assignments"])')" = 1 ] || fail "the day's assignments"
req GET "/api/assignments" "$disp"; expect 400 "assignments without a date"
req POST "/api/assignments/$aid/cancel" "$disp" '{}'; expect 400 "a cancel without a reason"
req POST "/api/assignments/$aid/cancel" "$disp" '{"reason":"bus off the road"}'; expect 200 "a cancel"
[ "$(json 'd["assignment"]["status"]')" = cancelled ] || fail "the assignment is not cancelled"
req POST "/api/assignments/$aid/cancel" "$disp" '{"reason":"again"}'; expect 422 "a cancel twice"
[ "$(sql "SELECT count(*) FROM fleet.journal WHERE actor = 'api:disp' AND action IN ('assignment created', 'assignment cancelled')")" = 2 ] ||
  fail "the assignment's steps are not journalled with the user"

# The live stream: a dispatcher limited to north gets N1's fix, never S1's; a subscription it
# cannot use is answered with the error shape.
PYTHONPATH="$(dirname "$0")" python3 - "$aport" "$oport" "$disp" <<'PY' || fail "the live stream"
import json, socket, sys, time, urllib.request
from wsclient import Client
port, oport, token = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
c = Client(port, token)
s, frame, send = c.s, c.frame, c.send
op, hello = frame()
assert json.loads(hello)["type"] == "hello", hello
now = int(time.time())
for dev, lon in (("osm-s1", 37.8), ("osm-n1", 37.62)):
    urllib.request.urlopen("http://127.0.0.1:%d/?id=%s&lat=55.76&lon=%s&timestamp=%d&speed=15" % (oport, dev, lon, now + 1), timeout=5).read()
seen, deadline = set(), time.time() + 5
while time.time() < deadline and "N1" not in seen:
    op, data = frame()
    m = json.loads(data)
    if m["type"] == "update":
        for p in m["positions"]:
            assert abs(p["lon"] - 37.8) > 1e-6, "the dispatcher got a fix of S1"
            if abs(p["lon"] - 37.62) < 1e-6:
                seen.add("N1")
assert "N1" in seen, "no fix of N1 within 5 s"
# A little longer: S1's fix, had it been let through, would be in the next frames.
s.settimeout(0.2)
until = time.time() + 0.8
while time.time() < until:
    try:
        op, data = frame()
    except socket.timeout:
        continue
    for p in json.loads(data).get("positions", []):
        assert abs(p["lon"] - 37.8) > 1e-6, "the dispatcher got a fix of S1"
s.settimeout(5)
send('{"kinds":["bogus"]}')
op, data = frame()
m = json.loads(data)
assert m["type"] == "error" and m["error"]["code"] == "bad_request", m
PY
status=$(curl -s -o "$work/body" -w '%{http_code}' -H "Authorization: Bearer $view" "$base/api/socket")
expect 426 "the socket without an upgrade"

# Metrics, for a scraper with a token.
req GET /metrics "$view"; expect 200 "metrics"
grep -q '^fleet_api_requests_total{method="POST",route="/api/vehicles",status="403"} 3' "$work/body" ||
  fail "the refused requests are not counted by route and status"
grep -q '^fleet_dispatch_' "$work/body" || fail "the engine's metrics are missing"
grep -q '^fleet_api_stream_frames_total [1-9]' "$work/body" || fail "the stream's frames are not counted"

# A slow client holds only its own connection: it is closed after the request timeout (3 s),
# and others are answered meanwhile.
python3 - "$aport" "$view" <<'PY' || fail "the slow client"
import socket, sys, time, urllib.request
port, token = int(sys.argv[1]), sys.argv[2]
slow = socket.create_connection(("127.0.0.1", port))
slow.sendall(b"GET /api/vehicles HTTP/1.1\r\nHost: x\r\n")  # never finishes its headers
t0 = time.time()
r = urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/api/session",
                                                   headers={"Authorization": "Bearer " + token}), timeout=5)
assert r.status == 200 and time.time() - t0 < 2, "another request waited for the slow one"
slow.settimeout(8)
assert slow.recv(1) == b"", "the slow connection was not closed"
assert 2.5 < time.time() - t0 < 7, "closed after %.1f s" % (time.time() - t0)
PY

kill -TERM "$fleetd_pid"; wait "$fleetd_pid"; rc=$?; fleetd_pid=""
[ $rc = 0 ] || fail "fleetd exited $rc after SIGTERM"
grep -q "fleetd: stopped" "$work/fleetd.log" || fail "no clean stop"

# HTTPS with tls-cert and tls-key: the same API, the session cookie marked Secure; a file that
# is not a key is refused at start, naming the key.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 2 \
  -subj /CN=localhost >/dev/null 2>&1 || fail "openssl could not make a certificate"
sport=$(free_port)
"$fleetd" --database-url "$url" --bind 127.0.0.1 --api-bind 127.0.0.1 --api-port "$sport" \
  --osmand-port 0 --teltonika-port 0 --gt06-port 0 --native-port 0 --tls-cert "$work/cert.pem" \
  --tls-key "$work/key.pem" --shutdown-timeout 5 >"$work/fleetd.log" 2>&1 &
fleetd_pid=$!
for _ in $(seq 1 100); do grep -q 'fleetd: ready' "$work/fleetd.log" && break; sleep 0.1; done
grep -q "api: listening on 127.0.0.1:$sport (HTTPS)" "$work/fleetd.log" || fail "no HTTPS listener line"
status=$(curl -sk -o "$work/body" -w '%{http_code}' -H "Authorization: Bearer $view" "https://127.0.0.1:$sport/api/session")
expect 200 "a request over HTTPS"
status=$(curl -sk -o "$work/body" -w '%{http_code}' -D "$work/headers" -H 'Content-Type: application/json' \
  --data-binary '{"name":"disp","password":"dispatcher password"}' "https://127.0.0.1:$sport/api/session")
expect 200 "log in over HTTPS"
grep -i '^set-cookie:' "$work/headers" | grep -q 'Secure' || fail "the cookie over HTTPS is not Secure"
curl -s -m 5 -o /dev/null "http://127.0.0.1:$sport/api/openapi.json" && fail "plain HTTP was answered on the HTTPS port"
kill -TERM "$fleetd_pid"; wait "$fleetd_pid"; fleetd_pid=""
"$fleetd" --database-url "$url" --api-port "$sport" --tls-cert "$work/cert.pem" --tls-key "$work/cert.pem" \
  --osmand-port 0 --teltonika-port 0 --gt06-port 0 --native-port 0 >"$work/fleetd.log" 2>&1 &&
  fail "fleetd started with a certificate as its key"
grep -q "tls-key" "$work/fleetd.log" || fail "the bad key is not named"

# The bodies being received share api-body-budget (4 MiB here), one address a quarter of it:
# beyond, a body is answered 503 busy unread; a body that finished gives its share back. Each
# holder announces 700 000 bytes (under the route's 1 MiB) and sends a little of it.
kill -TERM "$fleetd_pid" 2>/dev/null; wait "$fleetd_pid" 2>/dev/null; fleetd_pid=""
api_start --api-body-budget 4
python3 - "$aport" "$root" <<'PY' || fail "the body budget"
import socket, sys, time
port, token = int(sys.argv[1]), sys.argv[2]
def start(source, length=700000):
    s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    s.sendall(("POST /api/journal HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
               "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (token, length)).encode())
    s.sendall(b" " * 1000)
    return s
def answer(s):
    head = b""
    while b"\r\n\r\n" not in head:
        c = s.recv(4096)
        if not c:
            break
        head += c
    return head.split(b" ", 2)[1].decode() if head.startswith(b"HTTP/1.1 ") else "none", head
def refused(s, what):
    s.settimeout(3)
    try:
        code, head = answer(s)
    except socket.timeout:
        sys.exit("%s: no answer while its body was unsent (it is being read)" % what)
    assert code == "503" and b'"busy"' in head and b"Retry-After: 5" in head, "%s: %r" % (what, head[:300])
def finish(s, what, sent=1000, length=700000):
    s.sendall(b" " * (length - sent - 1) + b"x")  # not JSON: 400, having been read whole
    code, head = answer(s)
    assert code == "400", "%s: %s %r" % (what, code, head[:300])
a = start("127.0.0.1")
time.sleep(0.3)
refused(start("127.0.0.1"), "a second body from the same address, past its quarter")
others = []
for i in range(2, 7):  # 5 more addresses: 6 x 700 000 bytes > 4 MiB
    others.append(start("127.0.0.%d" % i))
    time.sleep(0.1)
refused(others.pop(), "a body past the whole budget")
finish(a, "the first body")
time.sleep(0.2)
b = start("127.0.0.1")
time.sleep(0.2)
finish(b, "a body after the first gave its share back")
for n, s in enumerate(others):
    finish(s, "holder %d" % n)
print("ok   bodies past an address's quarter or the whole budget refused unread (503 busy); shares given back")
PY
curl -s -H "Authorization: Bearer $root" "$base/metrics" >"$work/metrics"
grep -q '^fleet_api_bodies_refused_total 2$' "$work/metrics" ||
  fail "bodies refused: $(grep bodies_refused "$work/metrics")"
echo "api_http: all checks passed"
