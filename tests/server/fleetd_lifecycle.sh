#!/usr/bin/env bash
# fleetd against the test PostGIS: starts, migrates, logs what it started, keeps data across a
# restart, stops cleanly on SIGTERM within its bound; fleetctl migrate is a no-op afterwards.
set -u
fleetd=$1 fleetctl=$2 state=$3
server=$(cat "$state/url")
db="fleet_lifecycle_$$"
psql "$server" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null || exit 1
url="$server dbname=$db"
log=$(mktemp); trap 'rm -f "$log"; psql "$server" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null' EXIT
fail() { echo "FAIL: $*"; sed 's/^/    /' "$log"; exit 1; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
    echo $((20000 + RANDOM % 20000))
}
tport=$(free_port); gport=$(free_port); oport=$(free_port); nport=$(free_port)

start() {
  # Emptied here, not by the redirection below: that runs in the background child, and the loop
  # could otherwise still see the previous run's "ready".
  : >"$log"
  "$fleetd" --database-url "$url" --shutdown-timeout 5 --bind 127.0.0.1 --teltonika-port "$tport" \
    --gt06-port "$gport" --osmand-port "$oport" --native-port "$nport" --api-port 0 >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do grep -q 'fleetd: ready' "$log" && return 0; kill -0 $pid 2>/dev/null || break; sleep 0.1; done
  fail "fleetd did not become ready"
}
stop() {
  kill -TERM $pid
  for _ in $(seq 1 60); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
  kill -0 $pid 2>/dev/null && fail "fleetd still running 6 s after SIGTERM"
  wait $pid || fail "fleetd exited non-zero after SIGTERM"
  grep -q 'fleetd: stopped' "$log" || fail "no 'stopped' line"
}

# The private and throwaway clusters trust whoever reaches their socket: only the owner may.
sock=$(sed -n "s/^host=\([^ ]*\) .*/\1/p" "$state/url")
if [ -d "$sock" ] && [ -f "$state/dir" ]; then
  [ "$(stat -c %a "$sock")" = 700 ] || fail "socket folder $sock is open to others: $(stat -c %a "$sock")"
fi

start
grep -q 'database: connected to' "$log" || fail "no database line"
grep -qE 'database: schema at migration [0-9]+ \([0-9]+ applied now\)' "$log" || fail "no schema line"
grep -q "teltonika: listening on 127.0.0.1:$tport (TCP)" "$log" || fail "no teltonika listener line"
grep -q "osmand: listening on 127.0.0.1:$oport (HTTP)" "$log" || fail "no osmand listener line"
"$fleetctl" --database-url "$url" vehicle add kept-across-restart >/dev/null || fail "vehicle add"
"$fleetctl" --database-url "$url" device add 356307042441013 --protocol teltonika \
  --vehicle kept-across-restart >/dev/null || fail "device add"

# Unknown devices are refused by default: the answer is 00 and the connection closes.
exec 3<>"/dev/tcp/127.0.0.1/$tport" || fail "cannot connect to the teltonika port"
perl -e 'print pack("H*", $ARGV[0])' 000F333536333037303432343431303939 >&3
[ "$(head -c 1 <&3 | od -An -tx1 | tr -d ' ')" = 00 ] || fail "an unknown device was not refused"
exec 3>&-
# ... and remembered for an operator to add.
for _ in $(seq 1 50); do
  "$fleetctl" --database-url "$url" device list --unknown 2>&1 | grep -q '356307042441099' && break
  sleep 0.1
done
"$fleetctl" --database-url "$url" device list --unknown | grep -q '356307042441099.*teltonika' ||
  fail "the refused device is not listed by fleetctl device list --unknown"

# Teltonika's documented login and "Codec 8 > 1st example" packet, as nc would send them: the
# ACK 00000001 arrives, and the row holds the documented time and IO values.
exec 3<>"/dev/tcp/127.0.0.1/$tport" || fail "cannot connect to the teltonika port"

perl -e 'print pack("H*", $ARGV[0])' 000F333536333037303432343431303133 >&3
[ "$(head -c 1 <&3 | od -An -tx1 | tr -d ' ')" = 01 ] || fail "login not accepted"
perl -e 'print pack("H*", $ARGV[0])' \
  000000000000003608010000016B40D8EA30010000000000000000000000000000000105021503010101425E0F01F10000601A014E0000000000000000010000C7CF >&3
[ "$(head -c 4 <&3 | od -An -tx1 | tr -d ' ')" = 00000001 ] || fail "no ACK of one record"
exec 3>&-
row=$(psql "$url" -Atc "SELECT to_char(device_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), ST_X(geom), ST_Y(geom),
  speed_kmh, satellites, valid, attributes->>'gsm_signal', attributes->>'power_v', attributes->>'io241', attributes->>'io1'
  FROM fleet.positions p JOIN fleet.devices d USING (vehicle_id) WHERE d.identifier = '356307042441013'")
[ "$row" = "2019-06-10 10:04:46|0|0|0|0|f|3|24.079|24602|1" ] || fail "stored row is '$row'"
stop
start
grep -q '(0 applied now)' "$log" || fail "second start migrated again"
[ "$(psql "$url" -Atc "SELECT count(*) FROM fleet.vehicles WHERE registration = 'kept-across-restart'")" = 1 ] ||
  fail "row lost across restart"
stop
"$fleetctl" --database-url "$url" migrate 2>&1 | grep -q '(0 applied now)' || fail "fleetctl migrate not a no-op"
echo "ok   fleetd lifecycle"
