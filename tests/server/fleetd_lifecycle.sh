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

start() {
  "$fleetd" --database-url "$url" --shutdown-timeout 5 >"$log" 2>&1 &
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

start
grep -q 'database: connected to' "$log" || fail "no database line"
grep -qE 'database: schema at migration [0-9]+ \([0-9]+ applied now\)' "$log" || fail "no schema line"
psql "$url" -qc "INSERT INTO fleet.vehicles (registration) VALUES ('kept-across-restart')" || fail "insert"
stop
start
grep -q '(0 applied now)' "$log" || fail "second start migrated again"
[ "$(psql "$url" -Atc "SELECT count(*) FROM fleet.vehicles WHERE registration = 'kept-across-restart'")" = 1 ] ||
  fail "row lost across restart"
stop
"$fleetctl" --database-url "$url" migrate 2>&1 | grep -q '(0 applied now)' || fail "fleetctl migrate not a no-op"
echo "ok   fleetd lifecycle"
