#!/usr/bin/env bash
# Acknowledged means stored, for all four device protocols at once (one fleetd, one fleetsim load
# per protocol, devices resending what was not acknowledged as real trackers do), across:
#   kill     fleetd killed with SIGKILL mid-load, then started again;
#   outage   PostgreSQL stopped mid-load, then started again;
#   freeze   PostgreSQL frozen mid-load (SIGSTOP of the postmaster and all its processes) for
#            some seconds, then SIGCONT.
# Afterwards every record fleetsim saw acknowledged must be in fleet.positions with the content
# it was sent with, field by field (duplicates allowed, losses not); ingest must have resumed by
# itself within RESUME_S seconds of the recovery for every protocol, and by the end of the
# drain nothing may be left unacknowledged.
#   ingest_reliability.sh kill|outage|freeze FLEETD FLEETSIM PG_SCRIPT STATE
set -u
mode=$1 fleetd=$2 fleetsim=$3 pg=$4 state=$5
name="ingest_$mode"
case "$mode" in kill|outage|freeze) ;; *) echo "usage: $0 kill|outage|freeze FLEETD FLEETSIM PG STATE" >&2; exit 2 ;; esac
# shellcheck source=ingest_lib.sh
. "$(dirname "$0")/ingest_lib.sh"
RESUME_S=${RESUME_S:-10}

if [ "$mode" = kill ]; then lib_shared_db "$state"; else lib_own_cluster; fi
start_fleetd
# 4 devices per protocol, 5 packets a second each (Teltonika 400 records/s, native 200, GT06 and
# OsmAnd 20); an unanswered packet is resent 0.5 s after its 3 s ACK timeout.
start_loads 4 5 12 --ack-timeout-s 3 --reconnect-delay-s 0.5 --drain-timeout-s 20
sleep 3

case "$mode" in
  kill)
    kill -9 "$fleetd_pid"; wait "$fleetd_pid" 2>/dev/null
    say "fleetd killed with SIGKILL ($(rows_per_protocol))"
    sleep 0.5
    start_fleetd
    say "fleetd started again"
    ;;
  outage)
    say "stopping PostgreSQL ($(rows_per_protocol))"
    pg_stop
    sleep 4
    pg_start
    say "PostgreSQL started again after 4 s"
    ;;
  freeze)
    say "freezing PostgreSQL ($(rows_per_protocol))"
    pg_freeze
    sleep 6
    pg_thaw
    say "PostgreSQL thawed after 6 s"
    ;;
esac
wait_resumed "$RESUME_S" || fail "ingest did not resume by itself within $RESUME_S s"

wait_loads
check_stored
for p in "${protocols[@]}"; do
  left=$(sed -n 's/^fleetsim: .* unacked=\([0-9]*\) .*/\1/p' "$work/sim-$p.out" | tail -1)
  [ "${left:-x}" = 0 ] || fail "$p: ${left:-?} records still unacknowledged at the end of the drain"
done
say "ok: $(rows_per_protocol) rows stored"
