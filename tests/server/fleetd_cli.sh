#!/usr/bin/env bash
# fleetd as a user meets it: help, config checks and their messages, an unreachable database.
set -u
fleetd=$1
fail=0
expect() {  # expect NAME WANT_EXIT REGEX -- command...
  local name=$1 want=$2 regex=$3; shift 4
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" != "$want" ] || ! grep -qE -- "$regex" <<<"$out"; then
    echo "FAIL $name: exit $rc (want $want), output:"; echo "$out" | sed 's/^/    /'
    fail=1
  else
    echo "ok   $name"
  fi
}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
unset FLEET_DATABASE_URL

expect help 0 'database-url' -- "$fleetd" --help
expect check-ok 0 '^configuration OK$' -- "$fleetd" --database-url 'host=/tmp dbname=x' --check-config
expect no-database 2 "'database-url': no database given" -- "$fleetd" --check-config
expect bad-number 2 "'database-wait'.*invalid" -- "$fleetd" --database-url dbname=x --database-wait soon --check-config
printf 'database-url = dbname=x\nlog-level = chatty\n' >"$tmp/bad.conf"
expect bad-file-value 2 "'log-level': unknown level 'chatty'" -- "$fleetd" --config "$tmp/bad.conf" --check-config
printf 'database-url = dbname=x\nbogus = 1\n' >"$tmp/unknown.conf"
expect unknown-file-key 2 "'bogus'.*unknown.conf" -- "$fleetd" --config "$tmp/unknown.conf" --check-config
expect bad-port 2 "'gt06-port': must be between 0 and 65535, got 70000" -- "$fleetd" --database-url dbname=x --gt06-port 70000 --check-config
expect bad-policy 2 "'unknown-devices': must be 'register' or 'refuse', got 'maybe'" -- "$fleetd" --database-url dbname=x --unknown-devices maybe --check-config
expect bad-writer-connections 2 "'writer-connections': must be between 1 and 16, got 0" -- "$fleetd" --database-url dbname=x --writer-connections 0 --check-config
expect bad-writer-queue 2 "'writer-queue': must be between 1000 and 100000000, got 5" -- "$fleetd" --database-url dbname=x --writer-queue 5 --check-config
expect bad-network-threads 2 "'network-threads': must be between 0 and 256, got 999" -- "$fleetd" --database-url dbname=x --network-threads 999 --check-config
expect bad-bind 2 "'bind': not an IP address" -- "$fleetd" --database-url dbname=x --bind example.org --check-config
expect missing-file 2 "cannot read file" -- "$fleetd" --config "$tmp/none.conf"
# Nothing listens on port 1: retried with back-off and logged, then given up with a reason.
expect unreachable 1 "warn  database: unreachable at .*host='127.0.0.1' port='1' \\(attempt 1\\): .*refused.*; retrying in 1 s" -- \
  "$fleetd" --database-url 'host=127.0.0.1 port=1 dbname=x' --database-wait 2
expect unreachable-gives-up 1 "error fleetd: database unreachable .* after 3 attempts" -- \
  "$fleetd" --database-url 'host=127.0.0.1 port=1 dbname=x' --database-wait 2
exit $fail
