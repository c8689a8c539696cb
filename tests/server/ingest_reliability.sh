#!/usr/bin/env bash
# Acknowledged means stored, under the two failures that matter:
#   kill     fleetd is killed with SIGKILL in the middle of a load and started again;
#   outage   PostGIS is stopped in the middle of a load and started again.
# fleetsim logs every record it saw acknowledged; afterwards every one of them must be in
# fleet.positions (duplicates allowed, losses not), and ingest must have resumed by itself.
#   ingest_reliability.sh kill|outage FLEETD FLEETSIM PG_SCRIPT STATE
set -u
mode=$1 fleetd=$2 fleetsim=$3 pg=$4 state=$5
work=$(mktemp -d)
fleetd_pid=""
cleanup() {
  [ -n "$fleetd_pid" ] && kill -9 "$fleetd_pid" 2>/dev/null
  if [ -f "$work/pg/dir" ]; then "$pg" test-down "$work/pg" >/dev/null 2>&1; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL ($mode): $*"; for f in "$work"/fleetd*.log; do echo "--- $f"; tail -20 "$f"; done; exit 1; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
    echo $((20000 + RANDOM % 20000))
}

if [ "$mode" = outage ]; then
  # A cluster of our own: stopping the shared one would break the other tests.
  "$pg" test-up "$work/pg" >/dev/null || fail "cannot start a PostGIS of its own"
  url=$(cat "$work/pg/url")
  pgdir=$(cat "$work/pg/dir")
else
  server=$(cat "$state/url")
  db="fleet_kill_$$"
  psql "$server" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null || fail "create database"
  url="$server dbname=$db"
  trap 'cleanup; psql "$server" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1' EXIT
fi

port=$(free_port)
n=0
start_fleetd() {
  n=$((n + 1))
  "$fleetd" --database-url "$url" --bind 127.0.0.1 --teltonika-port "$port" --gt06-port 0 \
    --osmand-port 0 --native-port 0 --database-wait 30 >"$work/fleetd$n.log" 2>&1 &
  fleetd_pid=$!
  for _ in $(seq 1 100); do
    grep -q 'fleetd: ready' "$work/fleetd$n.log" && return 0
    sleep 0.1
  done
  fail "fleetd did not become ready"
}
start_fleetd

"$fleetsim" load --protocol teltonika --port "$port" --connections 8 --records-per-packet 25 \
  --rate 2000 --duration-s 8 --drain-timeout-s 20 --ack-timeout-s 20 \
  --acked-log "$work/acked.csv" >"$work/fleetsim.out" 2>&1 &
sim=$!
sleep 2.5

recovered_at=""
if [ "$mode" = kill ]; then
  kill -9 "$fleetd_pid"; wait "$fleetd_pid" 2>/dev/null
  sleep 0.5
  start_fleetd
  recovered_at=$(date -u '+%Y-%m-%d %H:%M:%S.%N+00')
else
  "$pg" stop "$pgdir" >/dev/null 2>&1 || fail "cannot stop PostGIS"
  sleep 2
  "$pg" start "$pgdir" "$(cat "$pgdir/port")" >/dev/null 2>&1 || fail "cannot restart PostGIS"
  recovered_at=$(date -u '+%Y-%m-%d %H:%M:%S.%N+00')
fi

wait $sim
summary=$(tail -1 "$work/fleetsim.out")
echo "$summary"
acked=$(wc -l <"$work/acked.csv")
[ "$acked" -gt 0 ] || fail "nothing acknowledged at all"

missing=$(psql "$url" -Atq <<SQL
CREATE TEMP TABLE acked (device text, time_ms bigint);
\copy acked FROM '$work/acked.csv' CSV
SELECT count(*) FROM acked a WHERE NOT EXISTS (
  SELECT 1 FROM fleet.positions p JOIN fleet.devices d USING (vehicle_id)
  WHERE d.identifier = a.device AND p.device_time = to_timestamp(a.time_ms / 1000.0));
SQL
)
[ "$missing" = 0 ] || fail "$missing of $acked acknowledged records are not stored"

# Ingest resumed by itself: rows committed after the recovery.
after=$(psql "$url" -Atc "SELECT count(*) FROM fleet.positions WHERE server_time > '$recovered_at'")
stored=$(psql "$url" -Atc "SELECT count(*) FROM fleet.positions")
[ "$after" -gt 0 ] || fail "nothing stored after the recovery: ingest did not resume"
echo "ok   $mode: $acked acknowledged, all stored ($stored rows, $after after the recovery)"
