#!/usr/bin/env bash
# Bounded under outage (issue 9, point 3): PostgreSQL stopped for OUTAGE_S seconds, and
# separately frozen (SIGSTOP of the postmaster and all its processes) for OUTAGE_S seconds,
# while fleetsim devices of all four protocols keep reconnecting and resending every few
# seconds. fleetd's open file descriptors (/proc/PID/fd) and RSS are sampled every second and
# must stay under bounds derived from its connection cap:
#   descriptors  idle fleetd's + CAP (one per device connection) + FD_SLACK (database
#                connections of a worker pool, a reconnecting writer, a listener's accept);
#   RSS          idle fleetd's + CAP x (2 x max-frame-bytes + 32 KiB) (a connection's receive
#                buffer and its one packet in flight, decoded) + RSS_SLACK_MB.
# Every device comes from 127.0.0.1, so the per-address cap is the cap on all connections (and
# --max-connections is set to it too when fleetd has that option). Each resend during the
# outage is a new packet: a server that keeps what a gone session sent, or lets sessions and
# queues grow while devices reconnect, passes these bounds within a minute.
# After each recovery ingest must resume within RESUME_S seconds for every protocol; at the
# end every record fleetsim saw acknowledged must be stored with the content it was sent with.
# Every finding is reported; the test fails at the end if there is one.
#   ingest_bounded.sh FLEETD FLEETSIM PG_SCRIPT
set -u
fleetd=$1 fleetsim=$2 pg=$3
name=ingest_bounded
# shellcheck source=ingest_lib.sh
. "$(dirname "$0")/ingest_lib.sh"
OUTAGE_S=${OUTAGE_S:-60} RESUME_S=${RESUME_S:-10}
CAP=64 PER_PROTOCOL=14 FRAME=65536 FD_SLACK=32 RSS_SLACK_MB=48
findings=()
note() { say "FINDING: $*"; findings+=("$*"); }

lib_own_cluster
cap_opts=(--max-connections-per-ip "$CAP" --max-frame-bytes "$FRAME")
fleetd_has_option max-connections && cap_opts+=(--max-connections "$CAP")
start_fleetd "${cap_opts[@]}"
sleep 1
read -r idle_fds idle_rss <<<"$(fleetd_usage)"
fd_bound=$(( idle_fds + CAP + FD_SLACK ))
rss_bound=$(( idle_rss + CAP * (2 * FRAME + 32768) / 1024 + RSS_SLACK_MB * 1024 ))
say "idle fleetd: $idle_fds descriptors, $(( idle_rss / 1024 )) MB RSS; bounds $fd_bound descriptors, $(( rss_bound / 1024 )) MB (cap $CAP connections)"

# Big packets, so that whatever is kept of them shows: Teltonika and native 250 records each;
# a device resends every 3 s (2 s ACK timeout, 1 s delay).
per_packet[teltonika]=250 per_packet[native]=250
duration=$(( 2 * OUTAGE_S + 45 ))
start_loads "$PER_PROTOCOL" 0.5 "$duration" --ack-timeout-s 2 --reconnect-delay-s 1 \
  --connect-timeout-s 3 --drain-timeout-s 20
sleep 5
read -r load_fds load_rss <<<"$(fleetd_usage)"
say "under load: $load_fds descriptors, $(( load_rss / 1024 )) MB RSS ($(rows_per_protocol))"

# sample_outage LABEL SECONDS: samples once a second, notes when a bound is passed.
sample_outage() {
  local label=$1 seconds=$2 max_fds=0 max_rss=0 fds rss _
  for _ in $(seq 1 "$seconds"); do
    sleep 1
    kill -0 "$fleetd_pid" 2>/dev/null || fail "fleetd died during the $label"
    read -r fds rss <<<"$(fleetd_usage)"
    [ "$fds" -gt "$max_fds" ] && max_fds=$fds
    [ "$rss" -gt "$max_rss" ] && max_rss=$rss
  done
  say "$label: at most $max_fds descriptors (bound $fd_bound), $(( max_rss / 1024 )) MB RSS (bound $(( rss_bound / 1024 )) MB)"
  [ "$max_fds" -le "$fd_bound" ] || note "$label: $max_fds open descriptors, over the bound of $fd_bound"
  [ "$max_rss" -le "$rss_bound" ] || note "$label: RSS $(( max_rss / 1024 )) MB, over the bound of $(( rss_bound / 1024 )) MB"
}
resumed() {  # resumed LABEL: ingest resumed within RESUME_S, else a finding
  wait_resumed "$RESUME_S" || note "$1: ingest did not resume for every protocol within $RESUME_S s"
}

say "stopping PostgreSQL for $OUTAGE_S s"
pg_stop
sample_outage "PostgreSQL stopped" "$OUTAGE_S"
pg_start
resumed "after the stop"
sleep 5

say "freezing PostgreSQL for $OUTAGE_S s ($(rows_per_protocol))"
pg_freeze
sample_outage "PostgreSQL frozen" "$OUTAGE_S"
pg_thaw
resumed "after the freeze"

wait_loads
check_stored
for p in "${protocols[@]}"; do
  left=$(sed -n 's/^fleetsim: .* unacked=\([0-9]*\) .*/\1/p' "$work/sim-$p.out" | tail -1)
  [ "${left:-x}" = 0 ] || say "$p: ${left:-?} records unacknowledged at the end of the drain (devices keep them)"
done
if [ "${#findings[@]}" -gt 0 ]; then
  fail "${#findings[@]} finding(s): $(printf '%s; ' "${findings[@]}")"
fi
say "ok: bounded through both outages, every acknowledged record stored ($(rows_per_protocol))"
