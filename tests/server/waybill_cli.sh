#!/usr/bin/env bash
# A waybill's life through fleetctl, as a dispatcher and an accountant meet it: issued, refused
# release without the medical examination, released, a return below the departure odometer
# refused, returned, acceptance refused for missing details and for discrepancies, accepted with
# a reason, shown, and reported as CSV and XLSX.
#   waybill_cli.sh FLEETCTL STATE
set -u
fleetctl=$1 state=$2
server=$(cat "$state/url")
db="fleet_waybill_cli_$$"
work=$(mktemp -d)
cleanup() {
  psql "$server" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in out err; do [ -s "$work/$f" ] && sed "s/^/    $f: /" "$work/$f"; done
  exit 1
}
psql "$server" -qc "CREATE DATABASE $db" >/dev/null || fail "create database"
url="$server dbname=$db"

run() { "$fleetctl" --database-url "$url" --log-level warn "$@" >"$work/out" 2>"$work/err"; }
must() { run "$@" || fail "fleetctl $* exited non-zero"; }
# refused TEXT COMMAND...: exits non-zero and says TEXT on standard error.
refused() {
  local expect=$1
  shift
  run "$@" && fail "fleetctl $* was not refused"
  grep -qF -- "$expect" "$work/err" || fail "fleetctl $*: the refusal does not say '$expect'"
}

must migrate
must model add "LADA Largus" --class car --fuel-grade petrol --base-l-per-100km 8.4
must vehicle add A123BC77 --class car --model "LADA Largus"
must driver add T-17 --name "Ivanov Ivan Ivanovich" --licence-series "77 12" --licence-number 345678 \
  --licence-issued 2015-03-01

"$fleetctl" waybill issue --help >"$work/out" 2>&1 || fail "waybill issue --help"
grep -q -- '--trailer-mass' "$work/out" || fail "waybill issue --help does not list --trailer-mass"
refused "waybill ID must be a positive integer" waybill show abc

# The issuer starts without address, phone and OGRN: acceptance will name them.
must waybill issuer --code ACME --name "Acme Transport" --legal-form LLC
must waybill issue --issuer ACME --vehicle A123BC77 --driver T-17 --from 2026-11-27 \
  --service-kind urban --transport-kind own_needs --odometer 12000 --fuel 40
grep -q '^issued waybill ACME/1 (id [0-9]*)' "$work/out" || fail "issue output"
grep -q 'departure odometer: 12000 km (given with --odometer)' "$work/out" || fail "odometer source"
id=$(sed -n 's/^issued waybill ACME\/1 (id \([0-9]*\)).*/\1/p' "$work/out")

printf 'vehicle,occurred_at,volume_l,fuel_grade,card,odometer_km,source,external_id\nA123BC77,yesterday,20,petrol,CARD-1,12060,card,TX-1\n' >"$work/bad.csv"
refused "bad.csv:2: occurred_at" waybill fuel-import "$work/bad.csv"
printf 'vehicle,occurred_at,volume_l,fuel_grade,card,odometer_km,source,external_id\nA123BC77,2026-11-27T10:00:00+03:00,20,petrol,CARD-1,12060,card,TX-1\n' >"$work/fuel.csv"
must waybill fuel-import "$work/fuel.csv"
grep -q '1 new' "$work/out" || fail "fuel import"

must waybill check "$id" --kind technical --at "2026-11-27 07:10+03" --person "Sidorov S." --odometer 12000
refused "pre-trip medical examination missing" waybill release "$id" --at "2026-11-27 07:30+03" --dispatcher "Kuznetsova K."
must waybill check "$id" --kind medical_pre --at "2026-11-27 07:15+03" --person "Dr Petrova"
must waybill release "$id" --at "2026-11-27 07:30+03" --dispatcher "Kuznetsova K."
grep -q 'released at 2026-11-27T04:30:00Z' "$work/out" || fail "release output"

refused "rollover" waybill return "$id" --at "2026-11-27 18:00+03" --odometer 11990 --fuel 30
must waybill return "$id" --at "2026-11-27 18:00+03" --odometer 12120 --fuel 47.5
grep -q 'issued on the trip 20.00 L' "$work/out" || fail "the fuel receipt was not linked"

refused "post-trip medical examination" waybill accept "$id" --person "Orlova O."
grep -q "issuer address" "$work/err" || fail "accept does not name the issuer's address"
must waybill check "$id" --kind medical_post --at "2026-11-27 18:10+03" --person "Dr Petrova"
must waybill issuer --code ACME --name "Acme Transport" --legal-form LLC --address "1 Depot Lane" \
  --phone "+7 495 000-00-00" --ogrn 1027700000000
# No track was recorded: GPS mileage and the gap are discrepancies; 12.5 L used against 10.08.
refused "overspend 2.42 L" waybill accept "$id" --person "Orlova O."
must waybill accept "$id" --person "Orlova O." --reason "tracker under repair; fuel receipt checked"
grep -q "accepted by Orlova O. and closed" "$work/out" || fail "accept output"

must waybill show "$id"
grep -q "^waybill ACME/1 (id $id), closed" "$work/out" || fail "show: number and status"
grep -q "reason: tracker under repair" "$work/out" || fail "show: acceptance reason"
grep -q "gps_mileage" "$work/out" || fail "show: stored discrepancies"
must waybill list --vehicle A123BC77
grep -q "ACME/1 .*closed" "$work/out" || fail "list"

must report waybills --from 2026-11-01 --to 2026-11-30 --format csv
head -1 "$work/out" | grep -q '^Number,Valid from,Valid to,Departed (UTC),Returned (UTC),Vehicle,Driver,' ||
  fail "report header"
[ "$(wc -l <"$work/out")" -eq 2 ] || fail "report: one waybill row expected"
sed -n 2p "$work/out" | grep -q '^ACME/1,2026-11-27,2026-11-27,2026-11-27T04:30:00Z,2026-11-27T15:00:00Z,A123BC77,Ivanov Ivan Ivanovich,12000,12120,120,0.0,40.00,20.00,0.00,47.50,10.08,12.50,-2.42,0,closed,gps_mileage; gps_gap; overspend,' ||
  fail "report row"
grep -q "reconciled 1 waybills" "$work/err" || fail "report: no progress on stderr"
must report waybills --from 2026-11-01 --to 2026-11-30 --format xlsx --output "$work/f.xlsx"
unzip -l "$work/f.xlsx" >"$work/out" 2>&1 || fail "unzip -l"
for sheet in 1 2 3; do grep -q "xl/worksheets/sheet$sheet.xml" "$work/out" || fail "no sheet $sheet"; done
echo "ok   waybill cli"
