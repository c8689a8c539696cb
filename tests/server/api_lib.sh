# What the operator API's test scripts share; sourced after they set fleetd, fleetctl and state.
#   api_setup NAME: a database of its own (dropped at exit) in $url, a scratch directory $work,
#     fail, sql, ctl (fleetctl that must succeed, its output in $work/out), free_port.
#   api_start [FLEETD OPTIONS]: fleetd on free API and OsmAnd ports ($aport, $oport), $base;
#     Teltonika, GT06 and the native terminal on $teltonika_port, $gt06_port, $native_port when set.
#   req METHOD PATH TOKEN [BODY]: the status in $status, the body in $work/body.
#   expect STATUS WHAT, error_is CODE WHAT, json PYTHON-EXPRESSION-OF-d.

api_setup() {
  server=$(cat "$state/url")
  db="fleet_$1_$$"
  work=$(mktemp -d)
  fleetd_pid=""
  trap api_cleanup EXIT
  psql "$server" -qc "CREATE DATABASE $db" >/dev/null || fail "create database"
  url="$server dbname=$db"
}
api_cleanup() {
  [ -n "$fleetd_pid" ] && kill "$fleetd_pid" 2>/dev/null && wait "$fleetd_pid" 2>/dev/null
  psql "$server" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
  rm -rf "$work"
}
fail() {
  echo "FAIL: $*"
  [ -s "$work/body" ] && sed 's/^/    body: /' "$work/body" | head -20
  [ -f "$work/fleetd.log" ] && tail -20 "$work/fleetd.log" | sed 's/^/    fleetd: /'
  exit 1
}
sql() { psql "$url" -qtAc "$1"; }
ctl() { "$fleetctl" --database-url "$url" --log-level warn "$@" >"$work/out" 2>"$work/err" || fail "fleetctl $*: $(cat "$work/err")"; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
    echo $((20000 + RANDOM % 20000))
}
api_start() {
  aport=$(free_port)
  oport=$(free_port)
  "$fleetd" --database-url "$url" --bind 127.0.0.1 --api-bind 127.0.0.1 --api-port "$aport" \
    --osmand-port "$oport" --teltonika-port "${teltonika_port:-0}" --gt06-port "${gt06_port:-0}" \
    --native-port "${native_port:-0}" \
    --shutdown-timeout 5 "$@" >"$work/fleetd.log" 2>&1 &
  fleetd_pid=$!
  for _ in $(seq 1 100); do grep -q 'fleetd: ready' "$work/fleetd.log" && break; sleep 0.1; done
  grep -q "api: listening on 127.0.0.1:$aport (HTTP)" "$work/fleetd.log" || fail "no API listener line"
  base="http://127.0.0.1:$aport"
}
req() {
  local method=$1 path=$2 token=$3 body=${4-}
  local args=(-s -o "$work/body" -w '%{http_code}' -X "$method" --max-time 10)
  [ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  status=$(curl "${args[@]}" "$base$path")
}
expect() {
  [ "$status" = "$1" ] || fail "$2: status $status, wanted $1"
}
# The one error shape, with its code.
error_is() {
  python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["error"]; assert e["code"]==sys.argv[2], e; assert isinstance(e["message"], str)' \
    "$work/body" "$1" 2>/dev/null || fail "$2: not the error shape with code $1"
}
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$work/body"; }
