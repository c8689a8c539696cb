#!/usr/bin/env bash
# Notices end to end against fleetd and test devices on every protocol (tests/server/devices.py):
# a closure drawn as a GeoJSON polygon reaches exactly the drivers of the vehicles inside it (two
# native terminals, a Teltonika tracker, a GT06 tracker, an OsmAnd phone), not the one outside,
# and later the one that enters; each delivery's states (sent, delivered, read) follow what the
# devices answer; a terminal that reconnects before reading gets the same notice again; the
# withdrawal reaches those who got it; the live stream and the journal carry every step; the
# GTFS-realtime alerts feed lists the notice while it is in force; a notice made by fleetctl from
# a file is sent within seconds; one never sent expires; bad notices change nothing.
#   notices.sh FLEETD FLEETCTL STATE
set -u
fleetd=$1 fleetctl=$2 state=$3
here=$(cd "$(dirname "$0")" && pwd)
. "$here/api_lib.sh"
api_setup notices

ctl migrate
for v in CAB-1 CAB-2 TEL-3 GT-4 OUT-5 ENTER-6 PHONE-7; do ctl vehicle add "$v"; done
ctl device add cab-1 --protocol native --vehicle CAB-1
ctl device add cab-2 --protocol native --vehicle CAB-2
ctl device add 356307042441013 --protocol teltonika --vehicle TEL-3
ctl device add 123456789012345 --protocol gt06 --vehicle GT-4
ctl device add cab-5 --protocol native --vehicle OUT-5
ctl device add cab-6 --protocol native --vehicle ENTER-6
ctl device add phone-7 --protocol osmand --vehicle PHONE-7
i=1
for t in cab-1 cab-2 356307042441013 123456789012345 cab-5 cab-6 phone-7; do
  ctl driver add "D$i" --name "Driver $i" --terminal "$t"
  i=$((i + 1))
done
ctl user add disp --role dispatcher
ctl user token disp; disp=$(cat "$work/out")
ctl user add view --role viewer
ctl user token view; view=$(cat "$work/out")

native_port=$(free_port) teltonika_port=$(free_port) gt06_port=$(free_port)
api_start
export PYTHONPATH=$here

python3 - "$aport" "$disp" "$view" "$native_port" "$teltonika_port" "$gt06_port" "$oport" \
  "$url" "$fleetctl" "$work" <<'PY' || fail "the scenario failed (above)"
import json, subprocess, sys, threading, time, urllib.error, urllib.request
from devices import Gt06, Native, Teltonika
from wsclient import Client

aport, disp, view = int(sys.argv[1]), sys.argv[2], sys.argv[3]
nport, tport, gport, oport = map(int, sys.argv[4:8])
url, fleetctl, work = sys.argv[8], sys.argv[9], sys.argv[10]

def check(ok, what):
    if not ok:
        print("FAIL:", what)
        sys.exit(1)

def api(method, path, token, body=None):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (aport, path), method=method,
                                 headers={"Authorization": "Bearer " + token})
    if body is not None:
        req.data = json.dumps(body).encode()
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")

def sql(q):
    return subprocess.run(["psql", url, "-qtAc", q], check=True, capture_output=True,
                          text=True).stdout.strip()

def osmand(lat, lon):
    with urllib.request.urlopen("http://127.0.0.1:%d/?id=phone-7&lat=%f&lon=%f&timestamp=%d"
                                % (oport, lat, lon, int(time.time())), timeout=10) as r:
        return r.status, r.read().decode()

INSIDE, OUTSIDE = (55.7600, 37.6100), (55.7400, 37.5800)
area = {"type": "Polygon", "coordinates": [[[37.605, 55.755], [37.615, 55.755], [37.615, 55.765],
                                            [37.605, 55.765], [37.605, 55.755]]]}
until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 7200))
short = "Market St closed, detour via Park Gate"
notice = {"category": "closure", "severity": 3, "title": "Market Street closed",
          "short_text": short, "text": "Water main burst; closed both ways.",
          "valid_until": until, "area": area}

# The devices report where they are.
devices = {}
for name, dev, where in [("cab1", Native(nport, "cab-1"), INSIDE), ("cab2", Native(nport, "cab-2"), INSIDE),
                         ("tel", Teltonika(tport, "356307042441013"), INSIDE),
                         ("gt", Gt06(gport, "123456789012345"), INSIDE),
                         ("cab5", Native(nport, "cab-5"), OUTSIDE), ("cab6", Native(nport, "cab-6"), OUTSIDE)]:
    check(dev.login(), name + " logs in")
    # Ten minutes ago: the van that enters the area later gets there at a plausible speed.
    dev.send_position(where[0], where[1], time.time() - (600 if name == "cab6" else 0))
    devices[name] = dev
check(osmand(*INSIDE)[0] == 200, "the phone reports")

# Bad notices: refused with what is wrong, nothing stored.
def bad(change, status, code, what):
    body = dict(notice)
    body.update(change)
    got, answer = api("POST", "/api/notices", disp, body)
    check(got == status and answer["error"]["code"] == code, "%s: %s %s" % (what, got, answer))
bad({"area": {"type": "Point", "coordinates": [37.61, 55.76]}}, 422, "invalid", "a point area")
bad({"area": "somewhere"}, 400, "bad_request", "an area that is not an object")
bad({"area": {"type": "LineString", "coordinates": [[37.6, 55.7], [37.7, 55.8]]}}, 422, "invalid",
    "a line without a buffer")
bad({"short_text": "x" * 161}, 422, "invalid", "a short text of 161 characters")
bad({"valid_from": until, "valid_until": "2026-01-01T00:00:00Z"}, 422, "invalid", "a reversed validity")
bad({"valid_from": "2020-01-01T00:00:00Z", "valid_until": "2020-01-02T00:00:00Z"}, 422, "invalid",
    "an expired validity")
bad({"category": "hail"}, 422, "invalid", "an unknown category")
bad({"routes": ["NO-SUCH-ROUTE"]}, 404, "not_found", "an unknown route")
bad({"colour": "red"}, 400, "bad_request", "an unknown field")
check(api("POST", "/api/notices", view, notice)[0] == 403, "a viewer may not make a notice")
check(sql("SELECT count(*) FROM fleet.notices") == "0", "a bad notice stored something")

# A dispatcher watches the stream of delivery states.
stream = []
ws = Client(aport, disp, timeout=20)
check(json.loads(ws.frame()[1])["type"] == "hello", "the socket says hello")
ws.send('{"positions": false, "events": false, "assignments": false, "notices": true}')
check(json.loads(ws.frame()[1])["type"] == "subscribed", "the socket subscribes")
def collect():
    try:
        while True:
            m = json.loads(ws.frame()[1])
            stream.extend(m.get("deliveries", []))
    except Exception:
        pass
threading.Thread(target=collect, daemon=True).start()

made = time.time()
status, answer = api("POST", "/api/notices", disp, notice)
check(status == 201, "the notice is made: %s %s" % (status, answer))
nid = answer["notice"]["id"]
targeted = sorted((d["driver"], d["rule"]) for d in answer["deliveries"])
check(targeted == [("D1", "inside"), ("D2", "inside"), ("D3", "inside"), ("D4", "inside"),
                   ("D7", "inside")], "exactly the drivers inside are targeted: %s" % targeted)

# Each device gets it in its own protocol and answers as it does.
m = devices["cab1"].receive(5)
check(m and m["id"] == nid and m["text"] == short and m["severity"] == 3 and
      m["title"] == "Market Street closed", "the terminal shows the notice: %s" % m)
devices["cab1"].ack_delivered(m)
devices["cab1"].ack_read(m)
m = devices["cab2"].receive(5)
check(m and m["id"] == nid, "the second terminal gets it")
t = devices["tel"].receive(5)
check(t and t["text"] == short, "Teltonika gets the short text as a Codec 12 command: %s" % t)
devices["tel"].ack_delivered(t)
g = devices["gt"].receive(5)
check(g and g["text"] == short, "GT06 gets it as 0x80: %s" % g)
devices["gt"].ack_delivered(g)
status, text = osmand(*INSIDE)
check(status == 200 and short in text, "the phone gets it in its next response: %r" % text)
check(devices["cab5"].receive(1) is None, "the terminal outside gets nothing")
print("ok   delivered on the native terminal, Codec 12, GT06 and OsmAnd within %.1f s" % (time.time() - made))

# The second terminal's connection drops before it confirmed the notice: on its reconnect the
# same notice (same id) is sent once more.
devices["cab2"].close()
devices["cab2"] = Native(nport, "cab-2")
check(devices["cab2"].login(), "cab2 logs in again")
m = devices["cab2"].receive(5)
check(m and m["id"] == nid, "the notice is sent again after the reconnect: %s" % m)
devices["cab2"].ack_delivered(m)
devices["cab2"].ack_read(m)

# A vehicle that enters the area gets it, once.
devices["cab6"].send_position(INSIDE[0], INSIDE[1], time.time())
m = devices["cab6"].receive(5)
check(m and m["id"] == nid, "the vehicle entering the area gets it: %s; deliveries %s; latest %s" % (
    m, sql("SELECT string_agg(driver_id || ':' || rule || ':' || state, ' ') FROM fleet.notice_deliveries"),
    sql("SELECT string_agg(vehicle_id || ' ' || ST_AsText(geom) || ' ' || valid, '; ') FROM fleet.latest_positions")))
devices["cab6"].ack_delivered(m)
devices["cab6"].send_position(INSIDE[0] + 0.0001, INSIDE[1], time.time() + 1)
check(devices["cab6"].receive(1.5) is None, "a second fix inside sends nothing more")

def states():
    status, answer = api("GET", "/api/notices/%d/deliveries" % nid, view)
    check(status == 200, "deliveries: %s" % status)
    return {d["driver"]: (d["rule"], d["state"], d["withdrawal_state"], d["attempts"])
            for d in answer["deliveries"]}
want = {"D1": ("inside", "read", None, 1), "D2": ("inside", "read", None, 2),
        "D3": ("inside", "delivered", None, 1), "D4": ("inside", "delivered", None, 1),
        "D6": ("entered", "delivered", None, 1), "D7": ("inside", "sent", None, 1)}
deadline = time.time() + 10
while states() != want and time.time() < deadline:
    time.sleep(0.2)
check(states() == want, "delivery states: %s" % states())
print("ok   delivery states: %s" % sorted((k, v[1]) for k, v in states().items()))

# The alerts feed lists it while in force.
status, feed = api("GET", "/gtfs-rt/alerts?format=json", view)
alerts = [e for e in feed.get("entity", []) if e["id"] == "notice-%d" % nid]
check(status == 200 and len(alerts) == 1 and alerts[0]["alert"]["cause"] == "OTHER_CAUSE" and
      alerts[0]["alert"]["effect"] == "DETOUR" and alerts[0]["alert"]["severity_level"] == "SEVERE",
      "the alert: %s" % feed)

# Withdrawn: those who got it are told under the same id.
status, answer = api("POST", "/api/notices/%d/withdraw" % nid, disp, {"reason": "reopened"})
check(status == 200 and answer["notice"]["withdrawn_by"] == "api:disp", "withdrawn: %s" % answer)
check(api("POST", "/api/notices/%d/withdraw" % nid, disp, {})[0] == 409, "a second withdrawal")
m = devices["cab1"].receive(5)
check(m and m["id"] == nid and m["severity"] == 0, "the terminal is told it is withdrawn: %s" % m)
devices["cab1"].ack_delivered(m)
t = devices["tel"].receive(5)
check(t and t["text"] == "WITHDRAWN: " + short, "Teltonika is told: %s" % t)
g = devices["gt"].receive(5)
check(g and g["text"] == "WITHDRAWN: " + short, "GT06 is told: %s" % g)
deadline = time.time() + 10
while states()["D1"][2] != "delivered" and time.time() < deadline:
    time.sleep(0.2)
check(states()["D1"][2] == "delivered", "the withdrawal is delivered: %s" % states())
status, feed = api("GET", "/gtfs-rt/alerts?format=json", view)
check(not [e for e in feed.get("entity", []) if e["id"] == "notice-%d" % nid], "a withdrawn alert")

# The stream carried the states, and the journal every step.
got = {(d["driver_id"], d["state"]) for d in stream}
check(len({s for _, s in got} & {"sent", "delivered", "read"}) == 3, "stream: %s" % stream)
journal = sql("SELECT string_agg(action, ',' ORDER BY entry_id) FROM fleet.journal WHERE notice_id = %d" % nid)
for action in ["notice created", "notice sent", "notice delivered", "notice read", "notice withdrawn",
               "notice withdrawal sent", "notice withdrawal delivered"]:
    check(action in journal.split(","), "the journal has '%s': %s" % (action, journal))
try:
    sql("DELETE FROM fleet.journal WHERE notice_id = %d" % nid)
    check(False, "the journal allowed a delete")
except subprocess.CalledProcessError as e:
    check("append-only" in e.stderr, "the refusal names the rule: %s" % e.stderr)

# fleetctl makes one from a GeoJSON file: fleetd sends it within seconds (NOTIFY).
open(work + "/area.geojson", "w").write(json.dumps(
    {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
                                                "geometry": area}]}))
started = time.time()
out = subprocess.run([fleetctl, "--database-url", url, "--log-level", "warn", "notice", "create",
                      "--category", "ice", "--title", "Ice", "--short", "Ice on Market St",
                      "--until", until, "--area", work + "/area.geojson"],
                     capture_output=True, text=True)
check(out.returncode == 0, "fleetctl notice create: %s" % out.stderr)
second = int(out.stdout.split()[0])
m = devices["cab1"].receive(5)
check(m and m["id"] == second, "the notice made by fleetctl reaches the terminal: %s" % m)
print("ok   a notice made by fleetctl reached the terminal %.2f s after fleetctl started" % (time.time() - started))

# A dispatcher's message to driver D1 and to the driver of GT-4: the terminal offers the canned
# replies; the driver's answer comes back on the delivery, the stream and the journal.
from devices import REPLY_CANNED
status, answer = api("POST", "/api/messages", disp, {"text": "Call the depot when free",
                                                     "drivers": ["D1"], "vehicles": ["GT-4"],
                                                     "replies": ["Yes", "In 10 min"]})
check(status == 201 and sorted(d["driver"] for d in answer["deliveries"]) == ["D1", "D4"],
      "the message is queued for D1 and GT-4's driver: %s %s" % (status, answer))
mid = answer["message"]["id"]
m = devices["cab1"].receive(5)
check(m and m["id"] == mid and m["message"] and m["replies"] == ["Yes", "In 10 min"],
      "the terminal shows the message with its replies: %s" % m)
devices["cab1"].ack_delivered(m)
devices["cab1"].reply(m, REPLY_CANNED, "In 10 min")
def next_with(dev, wanted, timeout=5):
    """The next downlink for which `wanted` holds, skipping others (notices still arriving)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = dev.receive(max(0.1, deadline - time.time()))
        if got is None or wanted(got):
            return got
g = next_with(devices["gt"], lambda x: x["text"] == "Call the depot when free")
check(g is not None, "GT06 gets the message text")
deadline = time.time() + 10
def reply_of(driver):
    for d in api("GET", "/api/notices/%d/deliveries" % mid, view)[1]["deliveries"]:
        if d["driver"] == driver:
            return d
while reply_of("D1")["reply"] is None and time.time() < deadline:
    time.sleep(0.2)
d1 = reply_of("D1")
check(d1["reply"] == "canned" and d1["reply_text"] == "In 10 min" and d1["state"] == "read",
      "the reply is kept: %s" % d1)
# The stream is pushed after the commit, on its own path: give it a moment past the store.
def reply_streamed():
    return any(x.get("reply") == "canned" and x.get("reply_text") == "In 10 min"
               for x in list(stream))
deadline = time.time() + 5
while not reply_streamed() and time.time() < deadline:
    time.sleep(0.1)
check(reply_streamed(), "the reply reaches the dispatcher's stream: %s" % stream[-5:])
check("message replied" in sql("SELECT string_agg(action, ',') FROM fleet.journal WHERE notice_id = %d" % mid),
      "the reply is journalled")
check(api("POST", "/api/messages", disp, {"text": "x"})[0] == 422, "a message without an addressee")
check(api("POST", "/api/messages", disp, {"text": "x", "drivers": ["NOBODY"]})[0] == 422,
      "a message to an unknown driver")
check(api("POST", "/api/messages", disp, {"text": "x", "groups": ["nope"]})[0] == 404,
      "a message to an unknown group")
status, answer = api("GET", "/api/messages", view)
check(status == 200 and [x["id"] for x in answer["messages"]] == [mid], "messages listed: %s" % answer)
print("ok   a message and the driver's reply")

# Never sent: cab-5 is away while a short notice over it runs out; it expires, and is not sent
# when the terminal comes back.
devices["cab5"].close()
time.sleep(0.5)
here = {"type": "Polygon", "coordinates": [[[37.575, 55.735], [37.585, 55.735], [37.585, 55.745],
                                            [37.575, 55.745], [37.575, 55.735]]]}
soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3))
status, answer = api("POST", "/api/notices", disp, dict(notice, area=here, valid_until=soon))
check(status == 201 and [d["driver"] for d in answer["deliveries"]] == ["D5"], "%s" % answer)
third = answer["notice"]["id"]
deadline = time.time() + 15
while sql("SELECT state FROM fleet.notice_deliveries WHERE notice_id = %d" % third) != "expired" \
        and time.time() < deadline:
    time.sleep(0.5)
check(sql("SELECT state FROM fleet.notice_deliveries WHERE notice_id = %d" % third) == "expired",
      "an unsent notice expires")
cab5 = Native(nport, "cab-5")
check(cab5.login(), "cab5 logs in again")
check(cab5.receive(1.5) is None, "an expired notice is never sent")
print("ok   withdrawal, stream, journal, alerts, fleetctl, expiry")

# Transport-process records: Market Street is a loading point; the vehicles standing there are
# found staying, the cargo is recorded, the CSV downloads; bad cargo is refused.
sql("INSERT INTO fleet.zones (code, name, kind, geom) VALUES ('MKT', 'Market yard',"
    " 'loading_point', ST_Multi(ST_MakeEnvelope(37.605, 55.755, 37.615, 55.765, 4326)))")
hour_ago = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 600))
out = subprocess.run([fleetctl, "--database-url", url, "--log-level", "warn", "transport", "detect",
                      "--from", hour_ago, "--to", later], capture_output=True, text=True)
check(out.returncode == 0 and "added or updated" in out.stderr, "transport detect: %s" % out.stderr)
status, answer = api("GET", "/api/transport?from=%s&to=%s" % (hour_ago, later), view)
stays = {r["vehicle"]: r for r in answer.get("records", [])}
check(status == 200 and {"CAB-1", "CAB-2", "TEL-3", "GT-4", "ENTER-6"} <= set(stays) and
      "OUT-5" not in stays and stays["CAB-1"]["zone"] == "MKT", "the stays: %s" % answer)
visit = stays["CAB-1"]["id"]
check(api("POST", "/api/transport/%d/cargo" % visit, disp,
          {"operation": "loading", "cargo": "Apples", "quantity": 2.5, "unit": "t",
           "documents": "TTN 77"})[0] == 200, "cargo recorded")
check(api("POST", "/api/transport/%d/cargo" % visit, disp, {"operation": "x", "cargo": "y"})[0] == 422,
      "a bad operation")
check(api("POST", "/api/transport/%d/cargo" % visit, view, {"operation": "loading", "cargo": "y"})[0] == 403,
      "a viewer may not record cargo")
check(api("POST", "/api/transport/999999/cargo", disp, {"operation": "loading", "cargo": "y"})[0] == 404,
      "an unknown stay")
req = urllib.request.Request("http://127.0.0.1:%d/api/transport?from=%s&to=%s&format=csv"
                             % (aport, hour_ago, later), headers={"Authorization": "Bearer " + view})
with urllib.request.urlopen(req, timeout=10) as r:
    csv_text = r.read().decode()
check(csv_text.startswith("id,vehicle,zone,") and "Apples" in csv_text and "TTN 77" in csv_text,
      "the CSV: %r" % csv_text[:300])
print("ok   transport-process records: %d stays, cargo, CSV" % len(stays))
PY
curl -s -H "Authorization: Bearer $disp" "$base/metrics" >"$work/metrics"
# Read: D1 and D2 the closure, D1 the message (by replying).
grep -q 'fleet_notice_deliveries_total{state="read"} 3' "$work/metrics" || fail "the metrics do not count the reads"
grep -q 'fleet_notice_replies_total 1' "$work/metrics" || fail "the metrics do not count the reply"
grep -q 'fleet_notice_deliveries_total{state="expired"} 1' "$work/metrics" || fail "the metrics do not count the expiry"
echo "notices: all checks passed"
