#!/usr/bin/env bash
# A waybill's life through fleetctl, as a dispatcher and an accountant meet it: issued, refused
# release without the medical examination, released, a return below the departure odometer
# refused, returned, acceptance refused for missing details and for discrepancies, accepted with
# a reason, shown, and reported as CSV and XLSX. Mistakes mended (issue 12): a check typed wrong
# withdrawn, a waybill issued by mistake cancelled, a return typo amended before acceptance, each
# journalled; implausible times refused; the report in the issuer's zone with real XLSX dates.
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
must waybill issuer --code ACME --name "Acme Transport" --legal-form LLC --time-zone Europe/Moscow
# The vehicle and driver have an assignment that day: the waybill is linked to it.
assignment=$(psql "$url" -tAc "INSERT INTO fleet.shift_assignments (service_date, vehicle_id,
  driver_id, kind) SELECT '2026-11-27', v.vehicle_id, d.driver_id, 'timetable' FROM fleet.vehicles v,
  fleet.drivers d WHERE v.registration = 'A123BC77' AND d.personnel_number = 'T-17'
  RETURNING assignment_id" | head -1)
[ -n "$assignment" ] || fail "no assignment inserted"
refused "--odometer: whole kilometres wanted, as the odometer shows them (152342), got '12000.5'" \
  waybill issue --issuer ACME --vehicle A123BC77 --driver T-17 --from 2026-11-27 --odometer 12000.5 --fuel 40
must waybill issue --issuer ACME --vehicle A123BC77 --driver T-17 --from 2026-11-27 \
  --service-kind urban --transport-kind own_needs --odometer 12000 --fuel 40
grep -q '^issued waybill ACME/1 (id [0-9]*)' "$work/out" || fail "issue output"
grep -q 'departure odometer: 12000 km (given with --odometer)' "$work/out" || fail "odometer source"
grep -q "^linked to shift assignment $assignment " "$work/out" || fail "issue: not linked to the assignment"
id=$(sed -n 's/^issued waybill ACME\/1 (id \([0-9]*\)).*/\1/p' "$work/out")
[ "$(psql "$url" -tAc "SELECT assignment_id FROM fleet.waybills WHERE waybill_id = $id")" = "$assignment" ] ||
  fail "the waybill's assignment is not stored"

# Every bad line named, in file order, in one run; nothing imported.
printf 'vehicle,occurred_at,volume_l,fuel_grade,card,odometer_km,source,external_id\nA123BC77,yesterday,20,petrol,CARD-1,12060,card,TX-1\nX999,2026-11-27T10:00:00+03:00,20,petrol,CARD-1,,card,TX-2\nA123BC77,2026-11-27T10:00:00+03:00,-5,petrol,CARD-1,,card,TX-3\nA123BC77,2026-11-27T10:00:00+03:00,5,petrol,CARD-1,,card,TX-4\n' >"$work/bad.csv"
refused "nothing imported, 3 problems" waybill fuel-import "$work/bad.csv"
grep -n "bad.csv:[0-9]" "$work/err" | sed 's/^[0-9]*:.*bad.csv:\([0-9]*\): \([a-z_]*\).*/\1 \2/' | tr '\n' ' ' >"$work/lines"
[ "$(cat "$work/lines")" = "2 occurred_at 3 vehicle 4 volume_l " ] || fail "fuel-import names $(cat "$work/lines")"
grep -qF "bad.csv:3: vehicle: unknown vehicle 'X999'" "$work/err" || fail "fuel-import: unknown vehicle"
[ "$(psql "$url" -tAc "SELECT count(*) FROM fleet.fuel_transactions")" = 0 ] || fail "a bad file imported something"
printf 'vehicle,occurred_at,volume_l,fuel_grade,card,odometer_km,source,external_id\nA123BC77,2026-11-27T10:00:00+03:00,20,petrol,CARD-1,12060,card,TX-1\n' >"$work/fuel.csv"
must waybill fuel-import "$work/fuel.csv"
grep -q '1 new' "$work/out" || fail "fuel import"

must waybill check "$id" --kind technical --at "2026-11-27 07:10+03" --person "Sidorov S." --odometer 12000
refused "pre-trip medical examination missing" waybill release "$id" --at "2026-11-27 07:30+03" --dispatcher "Kuznetsova K."
refused "is in the future" waybill check "$id" --kind medical_pre --at "2099-11-27 07:15+03" --person "Dr Petrova"
# 23:15 typed for 07:15: the release names the check; it is withdrawn and typed again.
must waybill check "$id" --kind medical_pre --at "2026-11-27 23:15+03" --person "Dr Petrova"
wrong=$(sed -n 's/.* recorded as check \([0-9]*\),.*/\1/p' "$work/out")
[ -n "$wrong" ] || fail "check output has no check id"
refused "the pre-trip medical examination (check $wrong) at 2026-11-27T20:15:00Z is after the departure 2026-11-27T04:30:00Z" \
  waybill release "$id" --at "2026-11-27 07:30+03" --dispatcher "Kuznetsova K."
refused "--reason is required" waybill check-withdraw "$id" --check "$wrong" --reason ""
must waybill check-withdraw "$id" --check "$wrong" --reason "23:15 typed for 07:15"
grep -q "check $wrong withdrawn" "$work/out" || fail "check-withdraw output"
must waybill check "$id" --kind medical_pre --at "2026-11-27 07:15+03" --person "Dr Petrova"
must waybill release "$id" --at "2026-11-27 07:30+03" --dispatcher "Kuznetsova K."
grep -q 'released at 2026-11-27T04:30:00Z' "$work/out" || fail "release output"
[ "$(psql "$url" -tAc "SELECT details ->> 'reason' FROM fleet.journal WHERE action = 'waybill check withdrawn' AND waybill_id = $id")" = "23:15 typed for 07:15" ] ||
  fail "the withdrawal is not journalled"
[ "$(psql "$url" -tAc "SELECT count(*) FROM fleet.waybill_checks WHERE waybill_id = $id")" = 3 ] ||
  fail "the withdrawn check is not kept"
must waybill show "$id"
grep -q "WITHDRAWN.*23:15 typed for 07:15" "$work/out" || fail "show: the withdrawn check"

refused "rollover" waybill return "$id" --at "2026-11-27 18:00+03" --odometer 11990 --fuel 30
refused "the return needs --odometer KM (the reading at return, whole kilometres) and --fuel L" \
  waybill return "$id" --at "2026-11-27 18:00+03"
refused "--odometer: whole kilometres wanted" waybill return "$id" --at "2026-11-27 18:00+03" --odometer 152342.5 --fuel 30
refused "return fuel cannot be negative (got -3)" waybill return "$id" --at "2026-11-27 18:00+03" --odometer 12120 --fuel=-3
refused "the return 2099-11-27T15:00:00Z is in the future" waybill return "$id" --at "2099-11-27 18:00+03" --odometer 12120 --fuel 30
# 45 typed for 47.5: amended before acceptance, the old and new values journalled.
must waybill return "$id" --at "2026-11-27 18:00+03" --odometer 12120 --fuel 45
grep -q 'issued on the trip 20.00 L' "$work/out" || fail "the fuel receipt was not linked"
refused "--reason is required" waybill amend "$id" --fuel 47.5 --reason ""
refused "is below the departure odometer" waybill amend "$id" --odometer 11000 --reason "typo"
must waybill amend "$id" --fuel 47.5 --reason "remainder misread"
grep -q "fuel_in_l: 45 -> 47.5" "$work/out" || fail "amend output"
[ "$(psql "$url" -tAc "SELECT d ->> 'field' || ' ' || (d ->> 'old') || ' ' || (d ->> 'new') || ' ' || (j.details ->> 'reason') FROM fleet.journal j, jsonb_array_elements(j.details -> 'changes') d WHERE j.action = 'waybill amended' AND j.waybill_id = $id")" = "fuel_in_l 45 47.5 remainder misread" ] ||
  fail "the amendment is not journalled with its old and new values"
must journal --kind waybill --from "2026-01-01 00:00Z" --to "2100-01-01 00:00Z"
grep -q "waybill amended" "$work/out" || fail "fleetctl journal does not show the amendment"

refused "post-trip medical examination" waybill accept "$id" --person "Orlova O."
grep -q "issuer address" "$work/err" || fail "accept does not name the issuer's address"
must waybill check "$id" --kind medical_post --at "2026-11-27 18:10+03" --person "Dr Petrova"
must waybill issuer --code ACME --name "Acme Transport" --legal-form LLC --address "1 Depot Lane" \
  --phone "+7 495 000-00-00" --ogrn 1027700000000 --time-zone Europe/Moscow
# No track was recorded: GPS mileage and the gap are discrepancies; 12.5 L used against 10.08.
refused "overspend 2.42 L" waybill accept "$id" --person "Orlova O."
must waybill accept "$id" --person "Orlova O." --reason "tracker under repair; fuel receipt checked"
grep -q "accepted by Orlova O. and closed" "$work/out" || fail "accept output"

refused "is closed (accepted): it is amended no more; correct it instead (fleetctl waybill correct" \
  waybill amend "$id" --fuel 47 --reason "late"
must waybill show "$id"
grep -q "^waybill ACME/1 (id $id), closed" "$work/out" || fail "show: number and status"
grep -q "reason: tracker under repair" "$work/out" || fail "show: acceptance reason"
grep -q "gps_mileage" "$work/out" || fail "show: stored discrepancies"
must waybill list --vehicle A123BC77
grep -q "ACME/1 .*closed" "$work/out" || fail "list"
refused "no such vehicle 'X999'" waybill list --vehicle X999
refused "no such driver 'Nobody'" waybill list --driver Nobody
must waybill list --driver T-17 --from 2026-11 --to 2026-11
grep -q "ACME/1 .*closed" "$work/out" || fail "list --driver with months"

# Issued by mistake: cancelled with its reason, its number kept, every later step refused.
must waybill issue --issuer ACME --vehicle A123BC77 --driver T-17 --from 2026-11-28
id2=$(sed -n 's/^issued waybill ACME\/2 (id \([0-9]*\)).*/\1/p' "$work/out")
[ -n "$id2" ] || fail "second waybill"
refused "--reason is required" waybill cancel "$id2"
must waybill cancel "$id2" --reason "issued for the wrong day"
refused "is cancelled (cancelled: issued for the wrong day): cannot record a pre-trip check" \
  waybill check "$id2" --kind medical_pre --at "2026-11-28 07:15+03" --person "Dr Petrova"
refused "is cancelled" waybill release "$id2" --at "2026-11-28 07:30+03" --dispatcher "Kuznetsova K."
must waybill list --status cancelled
grep -q "ACME/2 .*cancelled.*cancelled: issued for the wrong day" "$work/out" || fail "list: the cancelled waybill"
must waybill show "$id2"
grep -q "cancelled .* by fleetctl, reason: issued for the wrong day" "$work/out" || fail "show: cancelled"
[ "$(psql "$url" -tAc "SELECT details ->> 'reason' FROM fleet.journal WHERE action = 'waybill cancelled' AND waybill_id = $id2")" = "issued for the wrong day" ] ||
  fail "the cancellation is not journalled"

refused "--from: expected a date YYYY-MM-DD or a month YYYY-MM, got '2026-13'" report waybills --from 2026-13 --to 2026-12
must report waybills --from 2026-11 --to 2026-11 --format csv
head -1 "$work/out" | grep -q '^Number,Valid from,Valid to,Departed (Europe/Moscow),Returned (Europe/Moscow),Vehicle,Driver,' ||
  fail "report header"
[ "$(wc -l <"$work/out")" -eq 2 ] || fail "report: one waybill row expected"
sed -n 2p "$work/out" | grep -q '^ACME/1,2026-11-27,2026-11-27,2026-11-27 07:30,2026-11-27 18:00,A123BC77,Ivanov Ivan Ivanovich,12000,12120,120,0.0,40.00,20.00,0.00,47.50,10.08,12.50,-2.42,0,closed,gps_mileage; gps_gap; overspend,' ||
  fail "report row"
grep -q "reconciled 1 waybills" "$work/err" || fail "report: no progress on stderr"
must report waybills --from 2026-11-01 --to 2026-11-30 --format xlsx --output "$work/f.xlsx"
unzip -l "$work/f.xlsx" >"$work/out" 2>&1 || fail "unzip -l"
for sheet in 1 2 3; do grep -q "xl/worksheets/sheet$sheet.xml" "$work/out" || fail "no sheet $sheet"; done
# Dates are date cells (serial numbers with a date style), numbers are numbers; no text there.
unzip -p "$work/f.xlsx" xl/worksheets/sheet1.xml >"$work/sheet1.xml" || fail "unzip sheet1"
for cell in 'B2" s="[0-9]*"><v>46353<' 'D2" s="[0-9]*"><v>46353.3125<' 'E2" s="[0-9]*"><v>46353.75<' \
  'H2"><v>12000<' 'L2" s="[0-9]*"><v>40<' 'R2" s="[0-9]*"><v>-2.4'; do
  grep -q "<c r=\"$cell" "$work/sheet1.xml" || fail "xlsx: no cell $cell"
done
grep -q '<c r="[B-E]2"[^>]*t="' "$work/sheet1.xml" && fail "xlsx: a date is stored as text"
unzip -p "$work/f.xlsx" xl/styles.xml | grep -q 'formatCode="yyyy-mm-dd hh:mm"' || fail "xlsx: no date-time format"
echo "ok   waybill cli"
