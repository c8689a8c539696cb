#!/usr/bin/env bash
# Shutdown under load (issue 9, point 7): fleetd under steady fleetsim load of all four
# protocols gets SIGTERM. It must exit 0 within its shutdown-timeout by itself (not by its
# watchdog, whose message is "clean stop took longer"), and every record acknowledged before
# the exit must be stored with the content it was sent with.
#   ingest_shutdown.sh FLEETD FLEETSIM PG_SCRIPT STATE
set -u
fleetd=$1 fleetsim=$2 pg=$3 state=$4
name=ingest_shutdown
# shellcheck source=ingest_lib.sh
. "$(dirname "$0")/ingest_lib.sh"
SHUTDOWN_S=${SHUTDOWN_S:-10}

lib_shared_db "$state"
start_fleetd --shutdown-timeout "$SHUTDOWN_S"
# 20 devices per protocol (CONNECTIONS), each sending its next packet as soon as the previous
# one is acknowledged (PACKETS_PER_S paces them instead), for longer than the test lasts: the
# load is still running when fleetd stops. (Lighter loads let a server that keeps reading
# during its stop drain by luck now and then.)
start_loads "${CONNECTIONS:-20}" "${PACKETS_PER_S:-0}" 60 --ack-timeout-s 5 --reconnect-delay-s 0.5 --drain-timeout-s 2
sleep 4
before=$(rows_per_protocol)
say "steady load ($before); SIGTERM to fleetd"
t0=$(date +%s.%N)
kill -TERM "$fleetd_pid"
wait "$fleetd_pid"
rc=$?
elapsed=$(awk "BEGIN { printf \"%.2f\", $(date +%s.%N) - $t0 }")
fleetd_pid=""
say "fleetd exited with status $rc after $elapsed s"
# The devices stop too, and log what they saw acknowledged.
for pid in "${sim_pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
wait_loads

grep -q 'clean stop took longer' "$fleetd_log" && fail "fleetd was ended by its watchdog after $SHUTDOWN_S s"
[ "$rc" = 0 ] || fail "fleetd exited with status $rc after SIGTERM"
awk "BEGIN { exit !($elapsed < $SHUTDOWN_S) }" || fail "fleetd took $elapsed s to stop (shutdown-timeout $SHUTDOWN_S)"
grep -q 'fleetd: stopped' "$fleetd_log" || fail "no 'fleetd: stopped' line"
check_stored
say "ok: stopped in $elapsed s under load, every acknowledged record stored ($(rows_per_protocol))"
