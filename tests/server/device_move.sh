#!/usr/bin/env bash
# Register changes made outside fleetd while it runs (fleetctl here), acted on as they are
# committed (migration 0020's notifications, server/register_watch.hpp):
# - a tracker moved to another vehicle, or removed, while it is connected: fleetd closes its
#   connection within 3 s (the periodic refresh would take up to 15), the next login is looked up
#   afresh, and the fixes after it are stored for the new vehicle (or refused once it is removed);
#   what was stored before stays with the old one;
# - a token revoked, and a user made inactive: refused at the next request, not after the API's
#   10 s principal cache.
#   device_move.sh FLEETD FLEETCTL STATE
set -u
fleetd=$1 fleetctl=$2 state=$3
here=$(cd "$(dirname "$0")" && pwd)
. "$here/api_lib.sh"
api_setup device_move

ctl migrate
ctl vehicle add A111AA77
ctl vehicle add B222BB77
ctl device add 356307042441013 --protocol teltonika --vehicle A111AA77
teltonika_port=$(free_port)
api_start
export PYTHONPATH=$here

python3 - "$teltonika_port" "$url" "$fleetctl" <<'PY' || fail "the scenario failed (above)"
import subprocess, sys, time
from devices import Closed, Teltonika

port, url, fleetctl = int(sys.argv[1]), sys.argv[2], sys.argv[3]

def check(ok, what):
    if not ok:
        print("FAIL:", what)
        sys.exit(1)

def sql(q):
    return subprocess.run(["psql", url, "-qtAc", q], check=True, capture_output=True,
                          text=True).stdout.strip()

def ctl(*args):
    out = subprocess.run([fleetctl, "--database-url", url, "--log-level", "warn", *args],
                         capture_output=True, text=True)
    check(out.returncode == 0, "fleetctl %s: %s" % (" ".join(args), out.stderr))

def stored(registration):
    return int(sql("SELECT count(*) FROM fleet.positions p JOIN fleet.vehicles v USING (vehicle_id)"
                   " WHERE v.registration = '%s'" % registration))

def closed_within(dev, seconds):
    """True when fleetd closes the connection within `seconds` (it sends nothing else)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            dev._fill(min(deadline, time.monotonic() + 1))
        except Closed:
            return True
        except OSError:
            pass  # a timeout: still open
    return False

dev = Teltonika(port, "356307042441013")
check(dev.login(), "the tracker logs in")
now = time.time()
dev.send_position(55.75, 37.61, now - 30)
check(stored("A111AA77") == 1, "the first fix is A111AA77's")

ctl("device", "move", "356307042441013", "--vehicle", "B222BB77")
started = time.monotonic()
check(closed_within(dev, 3), "fleetd did not close the moved tracker's connection in 3 s")
print("ok   the moved tracker's connection was closed %.1f s after the move" % (time.monotonic() - started))
dev.close()
dev = Teltonika(port, "356307042441013")
check(dev.login(), "the tracker logs in again")
dev.send_position(55.76, 37.62, now - 20)
check(stored("B222BB77") == 1 and stored("A111AA77") == 1,
      "after the move the fix is B222BB77's, the earlier one stays A111AA77's: %d, %d"
      % (stored("B222BB77"), stored("A111AA77")))

ctl("device", "remove", "356307042441013")
check(closed_within(dev, 3), "fleetd did not close the removed tracker's connection in 3 s")
dev.close()
dev = Teltonika(port, "356307042441013")
check(not dev.login(), "a removed tracker is refused at its next login")
check(stored("B222BB77") == 1 and stored("A111AA77") == 1, "nothing stored was lost")
print("ok   moved: closed, looked up afresh, stored for the new vehicle; removed: closed, refused")
PY
grep -q "moved or removed in the register" "$work/fleetd.log" || fail "fleetd did not log the change"

# Credentials: each request below comes well within the 10 s a principal is cached for.
ctl user add ops --role viewer
ctl user token ops --label script
token=$(cat "$work/out")
req GET /api/vehicles "$token"; expect 200 "the token works"
# A live stream opened with it ends too (4003), not only the next request.
rm -f "$work/ready"
python3 - "$aport" "$token" "$work/ready" >"$work/socket.out" 2>&1 <<'PY' &
import sys, time
from wsclient import Client, Closed
port, token, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3]
c = Client(port, token, timeout=5)
assert b'"hello"' in c.frame()[1]
open(ready, "w").close()
started = time.monotonic()
try:
    while time.monotonic() - started < 5:
        try:
            c.frame()
        except TimeoutError:
            pass
    print("not closed within 5 s")
except Closed as e:
    print("closed %s %.2f s: %s" % (e.code, time.monotonic() - started, e.reason))
PY
socket_pid=$!
for _ in $(seq 1 100); do [ -e "$work/ready" ] && break; sleep 0.05; done
[ -e "$work/ready" ] || fail "the live stream did not open: $(cat "$work/socket.out")"
ctl user token ops --revoke-all
revoked_at=$(date +%s.%N)
ok=0
for _ in $(seq 1 20); do  # at most 2 s
  req GET /api/vehicles "$token"
  [ "$status" = 401 ] && { ok=1; break; }
  sleep 0.1
done
[ "$ok" = 1 ] || fail "a revoked token still worked 2 s after its revocation (status $status)"
echo "ok   a revoked token was refused $(awk -v a="$revoked_at" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s after fleetctl revoked it"
wait "$socket_pid" || fail "the live stream's client: $(cat "$work/socket.out")"
grep -q '^closed 4003 ' "$work/socket.out" || fail "the live stream of a revoked token was not ended with 4003: $(cat "$work/socket.out")"
echo "ok   its live stream was $(cat "$work/socket.out")"
ctl user token ops --label again
token=$(cat "$work/out")
req GET /api/vehicles "$token"; expect 200 "a new token works"
ctl user set ops --inactive
ok=0
for _ in $(seq 1 20); do
  req GET /api/vehicles "$token"
  [ "$status" = 401 ] && { ok=1; break; }
  sleep 0.1
done
[ "$ok" = 1 ] || fail "an inactive user's token still worked 2 s after (status $status)"
echo "ok   an inactive user's token was refused at once"

# A session's end is kept by fleetd: its open live stream is closed with 4003 when the session
# expires (before: at the next minute's recheck), and the cookie is refused from then on, though
# its principal was cached moments before. The expiry is moved 3 s ahead in the store, which
# notifies nothing: only the time can end the stream.
echo 'late password one' | ctl user add late --role viewer --password-stdin
status=$(curl -s -o "$work/body" -w '%{http_code}' -D "$work/headers" -H 'Content-Type: application/json' \
  --data-binary '{"name":"late","password":"late password one"}' "$base/api/session")
expect 200 "log in as late"
cookie=$(sed -n 's/^[Ss]et-[Cc]ookie: fleet_session=\([^;]*\);.*/\1/p' "$work/headers")
[ -n "$cookie" ] || fail "no session cookie: $(cat "$work/headers")"
[ "$(sql "UPDATE fleet.api_sessions SET expires_at = now() + interval '3 seconds' RETURNING 1")" = 1 ] ||
  fail "the session is not in the store"
python3 - "$aport" "$cookie" "$base" >"$work/socket.out" 2>&1 <<'PY' || fail "the expiring session: $(cat "$work/socket.out")"
import sys, time, urllib.request, urllib.error
from wsclient import Client, Closed
port, cookie, base = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def status():
    r = urllib.request.Request(base + "/api/vehicles", headers={"Cookie": "fleet_session=" + cookie})
    try:
        return urllib.request.urlopen(r, timeout=5).status
    except urllib.error.HTTPError as e:
        return e.code
started = time.monotonic()
c = Client(port, None, timeout=8, session=cookie)
assert b'"hello"' in c.frame()[1]
assert status() == 200, "the session works before its end"
try:
    while time.monotonic() - started < 8:
        try:
            c.frame()
        except TimeoutError:
            pass
    sys.exit("the stream of an expired session was not closed within 8 s")
except Closed as e:
    took = time.monotonic() - started
    assert e.code == 4003, "closed with %s, not 4003" % e.code
    assert 2.5 < took < 5.5, "closed %.2f s after it opened; the session ended after 3 s" % took
    print("ok   the live stream of a session that expired was closed with 4003 %.2f s after it opened (session: 3 s)" % took)
code = status()
assert code == 401, "the expired session's cookie got %s" % code
print("ok   its cookie is refused after the end (401)")
PY
cat "$work/socket.out"
echo "device_move: all checks passed"
