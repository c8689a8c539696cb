# Shared by the ingest scripts next to it (sourced, not run): one fleetd with all four device
# protocols on free ports, one fleetsim load per protocol logging what it saw acknowledged, the
# check that every acknowledged record is stored with the content it was sent with, PostgreSQL
# stopped or frozen, and a cleanup that leaves nothing running, pass or fail.
#
# The caller sets before sourcing: name (for messages), fleetd, fleetsim, pg (tools/pg).
# Then: lib_own_cluster or lib_shared_db STATE; start_fleetd; start_loads ...; wait_loads;
# check_stored. Everything lives in $work, removed at exit.

work=$(mktemp -d)
chmod 755 "$work"
fleetd_pid="" fleetd_log="" url="" pgdir="" frozen="" drop_db="" server=""
sim_pids=()
protocols=(teltonika gt06 osmand native)
# Each protocol's devices have their own identifiers (a device is bound to its protocol).
declare -A imei_base=([teltonika]=356307041000000 [gt06]=356307042000000
                      [osmand]=356307043000000 [native]=356307044000000)
declare -A port=()

lib_cleanup() {
  local pid
  [ -n "$frozen" ] && pg_thaw
  for pid in "${sim_pids[@]}" $fleetd_pid; do
    kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  if [ -f "$work/pg/dir" ]; then "$pg" test-down "$work/pg" >/dev/null 2>&1; fi
  if [ -n "$drop_db" ]; then
    psql "$server" -qc "DROP DATABASE IF EXISTS $drop_db WITH (FORCE)" >/dev/null 2>&1
  fi
  rm -rf "$work"
}
trap lib_cleanup EXIT

say() { echo "$name: $*"; }
fail() {
  echo "FAIL ($name): $*"
  local f
  for f in "$work"/fleetd*.log; do [ -f "$f" ] && { echo "--- $f"; tail -25 "$f"; }; done
  for f in "$work"/sim-*.out; do [ -f "$f" ] && { echo "--- $f"; tail -12 "$f"; }; done
  exit 1
}
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
    echo $((20000 + RANDOM % 20000))
}
q() { psql "$url" -XAtqc "$1"; }

# A PostGIS cluster of the test's own: stopping or freezing the shared one would break the
# other tests.
lib_own_cluster() {
  "$pg" test-up "$work/pg" >/dev/null || fail "cannot start a PostGIS of its own"
  url=$(cat "$work/pg/url")
  pgdir=$(cat "$work/pg/dir")
}

# A scratch database on the shared test cluster (for tests that leave PostgreSQL alone).
lib_shared_db() {
  server=$(cat "$1/url")
  drop_db="fleet_${name//[^a-z0-9]/_}_$$"
  psql "$server" -qc "DROP DATABASE IF EXISTS $drop_db" -c "CREATE DATABASE $drop_db" >/dev/null ||
    fail "cannot create database $drop_db"
  url="$server dbname=$drop_db"
}

for p in "${protocols[@]}"; do port[$p]=$(free_port); done

# start_fleetd [extra fleetd options]: fleetd with all four listeners; waits for "ready".
n_fleetd=0
start_fleetd() {
  n_fleetd=$((n_fleetd + 1))
  fleetd_log=$work/fleetd$n_fleetd.log
  : >"$fleetd_log"
  "$fleetd" --database-url "$url" --bind 127.0.0.1 --teltonika-port "${port[teltonika]}" \
    --gt06-port "${port[gt06]}" --osmand-port "${port[osmand]}" --native-port "${port[native]}" \
    --unknown-devices register --database-wait 30 --api-port 0 "$@" >"$fleetd_log" 2>&1 &
  fleetd_pid=$!
  local _
  for _ in $(seq 1 150); do
    grep -q 'fleetd: ready' "$fleetd_log" && return 0
    kill -0 "$fleetd_pid" 2>/dev/null || fail "fleetd exited at start-up"
    sleep 0.1
  done
  fail "fleetd did not become ready within 15 s"
}

# Whether this fleetd knows an option (options the server gains are used once it has them).
fleetd_has_option() { "$fleetd" --help 2>/dev/null | grep -q -- "--$1 "; }

# Records per packet and connections per protocol: Teltonika and native carry several records
# a packet, GT06 and OsmAnd one.
declare -A per_packet=([teltonika]=20 [gt06]=1 [osmand]=1 [native]=10)

# start_loads CONNECTIONS PACKETS_PER_S DURATION_S [fleetsim options]: one fleetsim load per
# protocol, in the background, each logging what was acknowledged to $work/acked-PROTOCOL.csv.
# PACKETS_PER_S is per connection; 0 sends each packet as soon as the previous one is answered.
start_loads() {
  local connections=$1 packets_per_s=$2 duration=$3 p
  shift 3
  sim_pids=()
  for p in "${protocols[@]}"; do
    local rate
    rate=$(awk "BEGIN { print $connections * $packets_per_s * ${per_packet[$p]} }")
    "$fleetsim" load --protocol "$p" --port "${port[$p]}" --imei-base "${imei_base[$p]}" \
      --connections "$connections" --records-per-packet "${per_packet[$p]}" --rate "$rate" \
      --duration-s "$duration" --interval-s 1 --acked-log "$work/acked-$p.csv" "$@" \
      >"$work/sim-$p.out" 2>&1 &
    sim_pids+=($!)
  done
}

# Waits for the loads; prints each one's summary line.
wait_loads() {
  local i
  for i in "${!protocols[@]}"; do
    wait "${sim_pids[$i]}"
    say "${protocols[$i]}: $(grep '^fleetsim: sent=' "$work/sim-${protocols[$i]}.out" | tail -1)"
  done
  sim_pids=()
}

# SQL naming the protocol of a device identifier by its base.
protocol_of_sql="CASE substr(d.identifier, 1, 9)
  WHEN '${imei_base[teltonika]:0:9}' THEN 'teltonika' WHEN '${imei_base[gt06]:0:9}' THEN 'gt06'
  WHEN '${imei_base[osmand]:0:9}' THEN 'osmand' WHEN '${imei_base[native]:0:9}' THEN 'native' END"

# "teltonika=N gt06=N osmand=N native=N": rows stored per protocol now; fails (printing
# nothing) when the database does not answer.
rows_per_protocol() {
  local p count out="" result
  result=$(q "SELECT $protocol_of_sql, count(*) FROM fleet.positions p
              JOIN fleet.devices d USING (vehicle_id) GROUP BY 1" 2>/dev/null) || return 1
  declare -A rows=()
  while IFS='|' read -r p count; do [ -n "$p" ] && rows[$p]=$count; done <<<"$result"
  for p in "${protocols[@]}"; do out+="$p=${rows[$p]:-0} "; done
  echo "${out% }"
}

# wait_resumed LIMIT_S: after a recovery, every protocol's stored rows must grow within LIMIT_S
# seconds (ingest resumed by itself). Prints how long it took; returns 1 when they did not.
wait_resumed() {
  local limit=$1 before after t0 p waited
  t0=$(date +%s.%N)
  until before=$(rows_per_protocol); do
    awk "BEGIN { exit !($(date +%s.%N) - $t0 > $limit) }" &&
      { say "the database did not answer within $limit s"; return 1; }
    sleep 0.2
  done
  while true; do
    after=$(rows_per_protocol) || after=""
    local stalled=""
    for p in "${protocols[@]}"; do
      local b a
      b=$(sed -n "s/.*$p=\([0-9]*\).*/\1/p" <<<"$before")
      a=$(sed -n "s/.*$p=\([0-9]*\).*/\1/p" <<<"$after")
      [ -n "$a" ] && [ "${a:-0}" -gt "${b:-0}" ] || stalled+=" $p"
    done
    waited=$(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $t0 }")
    [ -z "$stalled" ] && { say "ingest resumed for every protocol within $waited s ($after)"; return 0; }
    if awk "BEGIN { exit !($waited > $limit) }"; then
      say "ingest did not resume within $limit s for:$stalled (rows before: $before; now: $after)"
      return 1
    fi
    sleep 0.2
  done
}

# Every record fleetsim saw acknowledged is stored, with the content it was sent with, field by
# field: coordinates to 1e-9 degree (they are stored as doubles), the real columns to their
# float precision, satellites and ignition exactly. Fields a protocol does not carry are empty
# in the log and not compared. Duplicates are allowed, losses and changed content are not.
check_stored() {
  local files="" p
  for p in "${protocols[@]}"; do
    [ -s "$work/acked-$p.csv" ] || fail "$p: fleetsim wrote no acked log"
    local acked=$(( $(wc -l <"$work/acked-$p.csv") - 1 ))
    [ "$acked" -gt 0 ] || fail "$p: nothing was acknowledged at all"
    files+="\\copy acked FROM '$work/acked-$p.csv' CSV HEADER
"
  done
  local result
  result=$(psql "$url" -XAtq -v ON_ERROR_STOP=1 <<SQL
CREATE TEMP TABLE acked (protocol text, device text, device_time_ms bigint, latitude_deg float8,
  longitude_deg float8, speed_kmh float8, course_deg float8, altitude_m float8, satellites int,
  odometer_m float8, fuel_l float8, ignition boolean);
$files
CREATE TEMP TABLE verdict AS
SELECT a.*, p.vehicle_id IS NOT NULL AS stored,
       concat_ws(' ',
         CASE WHEN abs(ST_Y(p.geom) - a.latitude_deg) > 1e-9 THEN 'latitude ' || ST_Y(p.geom) END,
         CASE WHEN abs(ST_X(p.geom) - a.longitude_deg) > 1e-9 THEN 'longitude ' || ST_X(p.geom) END,
         CASE WHEN a.speed_kmh IS NOT NULL AND (p.speed_kmh IS NULL OR
                   abs(p.speed_kmh - a.speed_kmh) > 1e-6 * greatest(1, abs(a.speed_kmh)))
              THEN 'speed ' || coalesce(p.speed_kmh::text, 'NULL') END,
         CASE WHEN a.course_deg IS NOT NULL AND (p.course_deg IS NULL OR
                   abs(p.course_deg - a.course_deg) > 1e-6 * greatest(1, abs(a.course_deg)))
              THEN 'course ' || coalesce(p.course_deg::text, 'NULL') END,
         CASE WHEN a.altitude_m IS NOT NULL AND (p.altitude_m IS NULL OR
                   abs(p.altitude_m - a.altitude_m) > 1e-6 * greatest(1, abs(a.altitude_m)))
              THEN 'altitude ' || coalesce(p.altitude_m::text, 'NULL') END,
         CASE WHEN a.satellites IS NOT NULL AND p.satellites IS DISTINCT FROM a.satellites
              THEN 'satellites ' || coalesce(p.satellites::text, 'NULL') END,
         CASE WHEN a.odometer_m IS NOT NULL AND (p.odometer_m IS NULL OR
                   abs(p.odometer_m - a.odometer_m) > 1e-6 * greatest(1, abs(a.odometer_m)))
              THEN 'odometer ' || coalesce(p.odometer_m::text, 'NULL') END,
         CASE WHEN a.fuel_l IS NOT NULL AND (p.fuel_l IS NULL OR
                   abs(p.fuel_l - a.fuel_l) > 1e-6 * greatest(1, abs(a.fuel_l)))
              THEN 'fuel ' || coalesce(p.fuel_l::text, 'NULL') END,
         CASE WHEN a.ignition IS NOT NULL AND p.ignition IS DISTINCT FROM a.ignition
              THEN 'ignition ' || coalesce(p.ignition::text, 'NULL') END) AS differs
  FROM acked a
  LEFT JOIN fleet.devices d ON d.identifier = a.device
  LEFT JOIN fleet.positions p ON p.vehicle_id = d.vehicle_id
       AND p.device_time = timestamptz 'epoch' + a.device_time_ms * interval '1 millisecond';
SELECT 'protocol', protocol, count(*), count(*) FILTER (WHERE NOT stored),
       count(*) FILTER (WHERE stored AND differs <> ''),
       count(*) - count(DISTINCT (device, device_time_ms))
  FROM verdict GROUP BY protocol ORDER BY protocol;
SELECT 'sample', protocol, device, device_time_ms,
       CASE WHEN stored THEN 'stored with ' || differs ELSE 'not stored' END
  FROM verdict WHERE NOT stored OR differs <> '' ORDER BY protocol, device_time_ms LIMIT 8;
SQL
) || fail "the comparison query failed"
  local bad=0 kind proto total missing differing repeated
  while IFS='|' read -r kind proto total missing differing repeated; do
    [ "$kind" = protocol ] || continue
    say "$proto: $total acknowledged records, $missing not stored, $differing stored with other content"
    [ "$missing" = 0 ] && [ "$differing" = 0 ] || bad=1
    [ "$repeated" = 0 ] || { say "$proto: $repeated records logged as acknowledged twice"; bad=1; }
  done <<<"$result"
  grep '^sample|' <<<"$result" | sed 's/^sample|/  e.g. /'
  for p in "${protocols[@]}"; do
    grep -q "^protocol|$p|" <<<"$result" || fail "$p: no acknowledged record in the comparison"
  done
  [ "$bad" = 0 ] || fail "acknowledged records lost or changed"
}

# The postmaster and every process it started (backends, checkpointer, WAL writer, ...).
pg_processes() {
  local pm
  pm=$(head -1 "$pgdir/data/postmaster.pid" 2>/dev/null) || return 1
  echo "$pm $(ps -o pid= --ppid "$pm" | tr '\n' ' ')"
}
# Freezes PostgreSQL as a hung host would: every process stopped, sockets open, no answer.
# A backend may end between the listing and the signal: only the postmaster must be there.
pg_freeze() {
  frozen=$(pg_processes) || fail "no postmaster.pid in $pgdir/data"
  local pid
  for pid in $frozen; do kill -STOP "$pid" 2>/dev/null; done
  local _ state=""
  for _ in $(seq 1 50); do  # the signal is delivered asynchronously
    state=$(ps -o stat= -p "${frozen%% *}" | tr -d ' ' | cut -c1)
    [ "$state" = T ] && return 0
    sleep 0.02
  done
  fail "cannot SIGSTOP PostgreSQL (postmaster ${frozen%% *} in state '$state')"
}
pg_thaw() {
  local pid
  for pid in $frozen; do kill -CONT "$pid" 2>/dev/null; done
  frozen=""
}
pg_stop() { "$pg" stop "$pgdir" >/dev/null 2>&1 || fail "cannot stop PostGIS"; }
pg_start() { "$pg" start "$pgdir" "$(cat "$pgdir/port")" >/dev/null 2>&1 || fail "cannot restart PostGIS"; }

# "FDS RSS_KB" of the running fleetd, from /proc.
fleetd_usage() {
  local fds rss
  fds=$(ls "/proc/$fleetd_pid/fd" 2>/dev/null | wc -l)
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$fleetd_pid/status" 2>/dev/null)
  echo "$fds ${rss:-0}"
}
