#!/usr/bin/env bash
# Waybills through the operator API, as the office, the accountant and an attacker meet them:
# each lifecycle step (issue, checks, withdrawal of a check typed wrong, release, return, amend,
# acceptance, correction, cancellation) with its refusals (422 with every reason) and nothing
# changed by a refused or malformed request; one waybill's reconciliation; the period report as
# CSV whose rows are the report's and as XLSX; the roles (accept and correct are the
# accountant's, the viewer reads) and a dispatcher limited to a group; every step journalled with
# its API user.
#   api_waybills.sh FLEETD FLEETCTL STATE
set -u
fleetd=$1 fleetctl=$2 state=$3
. "$(dirname "$0")/api_lib.sh"
api_setup api_waybills

ctl migrate
ctl group add north
ctl group add south
ctl model add "LADA Largus" --class car --fuel-grade petrol --base-l-per-100km 8.4
ctl vehicle add N1 --class car --model "LADA Largus" --groups north
ctl vehicle add S1 --class car --model "LADA Largus" --groups south
ctl driver add T-17 --name "Ivanov Ivan Ivanovich" --licence-series "77 12" --licence-number 345678 \
  --licence-issued 2015-03-01
ctl driver add T-18 --name "Sidorov Semen" --licence-series "77 13" --licence-number 345679 \
  --licence-issued 2016-03-01
ctl waybill issuer --code ACME --name "Acme Transport" --legal-form LLC --address "1 Depot Lane" \
  --phone "+7 495 000-00-00" --ogrn 1027700000000 --time-zone Europe/Moscow
printf 'vehicle,occurred_at,volume_l,fuel_grade,card,odometer_km,source,external_id\nN1,2026-11-27T10:00:00+03:00,20,petrol,CARD-1,12060,card,TX-1\n' >"$work/fuel.csv"
ctl waybill fuel-import "$work/fuel.csv"
ctl user add root --role admin
ctl user add disp --role dispatcher --groups north
ctl user add acct --role accountant
ctl user add view --role viewer
ctl user token root; root=$(cat "$work/out")
ctl user token disp; disp=$(cat "$work/out")
ctl user token acct; acct=$(cat "$work/out")
ctl user token view; view=$(cat "$work/out")

api_start
count() { sql "SELECT count(*) FROM fleet.waybills"; }

# Issue: the viewer may not; bad input is refused before anything is stored.
req POST /api/waybills "$view" '{"issuer":"ACME","vehicle":"N1","driver":"T-17","valid_from":"2026-11-27"}'
expect 403 "a viewer issues"; error_is forbidden "a viewer issues"
req POST /api/waybills "$acct" '{"issuer":"ACME","vehicle":"N1","driver":"T-17","valid_from":"2026-02-30"}'
expect 400 "a day that does not exist"; grep -q "valid_from: a calendar date" "$work/body" || fail "valid_from not named"
req POST /api/waybills "$acct" '{"issuer":"ACME","vehicle":"N1","driver":"T-17","colour":"red"}'
expect 400 "an unknown field"
req POST /api/waybills "$acct" '{"issuer":"ACME","vehicle":"X999","driver":"T-17","valid_from":"2026-11-27"}'
expect 422 "an unknown vehicle"; error_is invalid "an unknown vehicle"
req POST /api/waybills "$acct" '{"issuer":"ACME","vehicle":"N1","driver":"T-17","valid_from":"2026-11-27","odometer_out_km":-5}'
expect 400 "a negative odometer"
req POST /api/waybills "$disp" '{"issuer":"ACME","vehicle":"S1","driver":"T-18","valid_from":"2026-11-27"}'
expect 403 "a north dispatcher issues for S1"
[ "$(count)" = 0 ] || fail "a refused issue stored a waybill"

req POST /api/waybills "$disp" '{"issuer":"ACME","vehicle":"N1","driver":"T-17","valid_from":"2026-11-27","service_kind":"urban","transport_kind":"own_needs","odometer_out_km":12000,"fuel_out_l":40}'
expect 201 "issue"
id=$(json 'd["waybill"]["id"]')
[ "$(json 'd["waybill"]["number"], d["waybill"]["status"], d["waybill"]["odometer_out_km"]')" = "1 issued 12000" ] ||
  fail "issued waybill: $(cat "$work/body")"
req POST /api/waybills "$root" '{"issuer":"ACME","vehicle":"S1","driver":"T-18","valid_from":"2026-11-27","odometer_out_km":5000,"fuel_out_l":30}'
expect 201 "issue for S1"; other=$(json 'd["waybill"]["id"]')

# Reading: the dispatcher of north sees N1's waybill only; the viewer sees both.
req GET "/api/waybills?from=2026-11-01&to=2026-11-30" "$disp"; expect 200 "list"
[ "$(json '[w["vehicle"]["registration"] for w in d["waybills"]]')" = "['N1']" ] || fail "the dispatcher sees outside north"
req GET "/api/waybills/$other" "$disp"; expect 404 "S1's waybill to the north dispatcher"
req GET "/api/waybills?from=2026-11-01&to=2026-11-30" "$view"; expect 200 "list as viewer"
[ "$(json 'len(d["waybills"])')" = 2 ] || fail "the viewer does not see both"
req GET "/api/waybills?from=2026-11-01" "$view"; expect 400 "a list without to"
req GET "/api/waybills?from=2020-01-01&to=2026-11-30" "$view"; expect 422 "a period of years"
req GET "/api/waybills?from=2026-11-01&to=2026-11-30&status=lost" "$view"; expect 400 "an unknown status"
req GET "/api/waybills?from=2026-11-01&to=2026-11-30&vehicle=X999" "$view"; expect 422 "an unknown vehicle"
grep -q "no such vehicle 'X999'" "$work/body" || fail "the unknown vehicle is not named"
req GET "/api/waybills?from=2026-11-01&to=2026-11-30&vehicle=N%001" "$view"; expect 400 "a NUL in a filter"
req GET "/api/reports/waybills?from=2026-11-01&to=2026-11-30&sheet=salaries" "$acct"; expect 400 "an unknown sheet"
req GET "/api/waybills/999999" "$view"; expect 404 "an unknown waybill"
req GET "/api/waybills/abc" "$view"; expect 404 "a waybill id that is not one"

# Checks and release: refusals name what is missing or wrong; a check typed wrong is withdrawn.
req POST "/api/waybills/$id/checks" "$acct" '{"kind":"technical","checked_at":"2026-11-27 07:10","person":"Sidorov S.","odometer_km":12000}'
expect 400 "a time without its offset"
req POST "/api/waybills/$id/checks" "$acct" '{"kind":"technical","checked_at":"2026-11-27T07:10+03:00","person":"Sidorov S.","odometer_km":12000}'
expect 201 "technical inspection"
req POST "/api/waybills/$id/release" "$disp" '{"departed_at":"2026-11-27T07:30+03:00","dispatcher":"Kuznetsova K."}'
expect 422 "release without the medical examination"
grep -q "pre-trip medical examination missing" "$work/body" || fail "the refusal does not name the examination"
req POST "/api/waybills/$id/checks" "$acct" '{"kind":"medical_pre","checked_at":"2099-11-27T07:15+03:00","person":"Dr Petrova"}'
expect 422 "a check in the future"; grep -q "is in the future" "$work/body" || fail "the future is not named"
req POST "/api/waybills/$id/checks" "$acct" '{"kind":"medical_pre","checked_at":"2026-11-27T23:15+03:00","person":"Dr Petrova"}'
expect 201 "23:15 typed for 07:15"; wrong=$(json 'd["check_id"]')
req POST "/api/waybills/$id/release" "$disp" '{"departed_at":"2026-11-27T07:30+03:00","dispatcher":"Kuznetsova K."}'
expect 422 "release before the check typed wrong"; grep -q "(check $wrong)" "$work/body" || fail "the check is not named"
req POST "/api/waybills/$id/checks/$wrong/withdraw" "$acct" '{}'; expect 400 "a withdrawal without reason"
req POST "/api/waybills/$id/checks/$wrong/withdraw" "$acct" '{"reason":"23:15 typed for 07:15"}'; expect 200 "withdraw"
[ "$(json '[c["withdrawal"]["reason"] for c in d["waybill"]["checks"] if c["id"]=='"$wrong"'][0]')" = "23:15 typed for 07:15" ] ||
  fail "the withdrawn check is not shown with its reason"
req POST "/api/waybills/$id/checks" "$acct" '{"kind":"medical_pre","checked_at":"2026-11-27T07:15+03:00","person":"Dr Petrova"}'
expect 201 "the medical examination"
req POST "/api/waybills/$id/release" "$disp" '{"departed_at":"2026-11-27T07:30+03:00","dispatcher":"Kuznetsova K."}'
expect 200 "release"
[ "$(json 'd["waybill"]["status"], d["waybill"]["departed_at"]')" = "released 2026-11-27T04:30:00Z" ] || fail "release state"

# Return: bad values refused, nothing changed; then returned and amended.
req POST "/api/waybills/$id/return" "$disp" '{"returned_at":"2026-11-27T18:00+03:00","odometer_in_km":12120}'
expect 400 "a return without fuel"
req POST "/api/waybills/$id/return" "$disp" '{"returned_at":"2026-11-27T18:00+03:00","odometer_in_km":12120,"fuel_in_l":"45"}'
expect 400 "fuel as text"
req POST "/api/waybills/$id/return" "$disp" '{"returned_at":"2099-11-27T18:00+03:00","odometer_in_km":12120,"fuel_in_l":45}'
expect 422 "a return in the future"
req POST "/api/waybills/$id/return" "$disp" '{"returned_at":"2026-11-27T18:00+03:00","odometer_in_km":11990,"fuel_in_l":45}'
expect 422 "a return below the departure odometer"
[ "$(sql "SELECT status FROM fleet.waybills WHERE waybill_id = $id")" = released ] || fail "a refused return changed the waybill"
req POST "/api/waybills/$id/return" "$disp" '{"returned_at":"2026-11-27T18:00+03:00","odometer_in_km":12120,"fuel_in_l":45}'
expect 200 "return"
req POST "/api/waybills/$id/amend" "$acct" '{"fuel_in_l":47.5}'; expect 400 "an amendment without reason"
req POST "/api/waybills/$id/amend" "$acct" '{"fuel_in_l":47.5,"reason":"remainder misread"}'; expect 200 "amend"
[ "$(json 'd["amended"]')" = "[{'field': 'fuel_in_l', 'new': '47.5', 'old': '45'}]" ] || fail "amend: $(cat "$work/body")"
req POST "/api/waybills/$id/checks" "$acct" '{"kind":"medical_post","checked_at":"2026-11-27T18:10+03:00","person":"Dr Petrova"}'
expect 201 "the post-trip examination"

# The reconciliation: no track recorded, so GPS mileage and the gap are discrepancies; 12.5 L used
# against a norm of 10.08 L (40 out, 20 from the card, 47.5 back).
req GET "/api/waybills/$id/reconciliation" "$view"; expect 403 "a viewer reconciles"
req GET "/api/waybills/$id/reconciliation" "$acct"; expect 200 "reconciliation"
[ "$(json '[x["code"] for x in d["reconciliation"]["discrepancies"]]')" = "['gps_mileage', 'gps_gap', 'overspend']" ] ||
  fail "discrepancies: $(cat "$work/body")"
[ "$(json 'd["reconciliation"]["fuel"]["norm"]["norm_l"], d["reconciliation"]["fuel"]["actual_l"], d["reconciliation"]["mileage_km"]')" = "10.08 12.5 120" ] ||
  fail "reconciliation figures"
[ "$(json '[(r["volume_l"], r["on_waybill"]) for r in d["reconciliation"]["receipts"]]')" = "[(20.0, True)]" ] ||
  fail "the fuel receipt is not on the waybill"
req GET "/api/waybills/$other/reconciliation" "$acct"; expect 422 "reconciling a waybill not returned"

# Acceptance is the accountant's; with discrepancies only with a reason.
req POST "/api/waybills/$id/accept" "$disp" '{"person":"Orlova O."}'; expect 403 "a dispatcher accepts"
req POST "/api/waybills/$id/accept" "$acct" '{"person":"Orlova O."}'; expect 422 "acceptance over discrepancies"
grep -q "overspend" "$work/body" || fail "the refusal does not list the discrepancies"
req POST "/api/waybills/$id/accept" "$acct" '{"person":"Orlova O.","reason":"tracker under repair; fuel receipt checked"}'
expect 200 "accept"
[ "$(json 'd["waybill"]["status"], d["waybill"]["acceptance"]["by"]')" = "closed Orlova O." ] || fail "accepted state"
req POST "/api/waybills/$id/amend" "$acct" '{"fuel_in_l":47,"reason":"late"}'; expect 422 "amending a closed waybill"
grep -q "correct it instead" "$work/body" || fail "the refusal does not point to the correction"
req POST "/api/waybills/$id/correct" "$acct" '{"fuel_in_l":47,"reason":"the remainder measured again"}'; expect 201 "correct"
corrected=$(json 'd["waybill"]["id"]')
[ "$(json 'd["waybill"]["corrects_waybill_id"], d["waybill"]["status"], d["waybill"]["fuel_in_l"]')" = "$id returned 47.0" ] ||
  fail "the correcting waybill: $(cat "$work/body")"
[ "$(sql "SELECT status FROM fleet.waybills WHERE waybill_id = $id")" = superseded ] || fail "the original is not superseded"

# Cancelled: its number kept, later steps refused.
req POST "/api/waybills/$other/cancel" "$acct" '{"reason":"issued for the wrong vehicle"}'; expect 200 "cancel"
[ "$(json 'd["waybill"]["status"], d["waybill"]["cancellation"]["reason"]')" = "cancelled issued for the wrong vehicle" ] ||
  fail "cancelled state"
req POST "/api/waybills/$other/checks" "$acct" '{"kind":"medical_pre","checked_at":"2026-11-27T07:15+03:00","person":"Dr Petrova"}'
expect 422 "a check on a cancelled waybill"; grep -q "is cancelled" "$work/body" || fail "cancelled not said"

# The report: CSV rows as the report makes them, XLSX, roles and bad periods.
req GET "/api/reports/waybills?from=2026-11-01&to=2026-11-30" "$disp"; expect 403 "a dispatcher downloads the report"
req GET "/api/reports/waybills?from=2026-11-01&to=2026-11-31" "$acct"; expect 400 "a day that does not exist"
req GET "/api/reports/waybills?from=2026-11-01&to=2026-11-30&format=pdf" "$acct"; expect 400 "a format"
curl -s -D "$work/headers" -o "$work/report.csv" -H "Authorization: Bearer $acct" \
  "$base/api/reports/waybills?from=2026-11-01&to=2026-11-30" || fail "report download"
grep -qi '^content-type: text/csv' "$work/headers" || fail "report: not CSV"
grep -qi '^content-disposition: attachment; filename="waybills-2026-11-01-2026-11-30-waybills.csv"' "$work/headers" ||
  fail "report: no file name"
"$fleetctl" --database-url "$url" --log-level warn report waybills --from 2026-11-01 --to 2026-11-30 \
  >"$work/cli.csv" 2>/dev/null || fail "fleetctl report"
cmp -s "$work/report.csv" "$work/cli.csv" || fail "the API's report differs from fleetctl's: $(diff "$work/report.csv" "$work/cli.csv" | head)"
head -1 "$work/report.csv" | grep -q '^Number,Valid from,Valid to,Departed (Europe/Moscow)' || fail "report header"
# The correcting waybill (a number of its own) stands for the superseded one; the cancelled one is
# not reconciled.
[ "$(wc -l <"$work/report.csv")" -eq 2 ] || fail "report: one row wanted: $(cat "$work/report.csv")"
grep -q '^ACME/3,2026-11-27,2026-11-27,2026-11-27 07:30,2026-11-27 18:00,N1,Ivanov Ivan Ivanovich,12000,12120,120,0.0,40.00,20.00,0.00,47.00,10.08,13.00,-2.92,0,returned,' "$work/report.csv" ||
  fail "report row: $(cat "$work/report.csv")"
curl -s -o "$work/report.xlsx" -H "Authorization: Bearer $acct" \
  "$base/api/reports/waybills?from=2026-11-01&to=2026-11-30&format=xlsx" || fail "xlsx download"
unzip -l "$work/report.xlsx" 2>/dev/null | grep -q "xl/worksheets/sheet3.xml" || fail "the workbook has not its sheets"
ls /tmp/fleetd-report-* >/dev/null 2>&1 && fail "a temporary workbook was left behind"

# Every step journalled with its API user.
[ "$(sql "SELECT string_agg(DISTINCT actor, ',' ORDER BY actor) FROM fleet.journal WHERE waybill_id = $id AND action LIKE 'waybill%'")" = "api:acct,api:disp" ] ||
  fail "journal actors: $(sql "SELECT actor, action FROM fleet.journal WHERE waybill_id = $id")"
for action in 'waybill issued' 'waybill check withdrawn' 'waybill released' 'waybill returned' 'waybill amended' 'waybill accepted'; do
  [ "$(sql "SELECT count(*) FROM fleet.journal WHERE waybill_id = $id AND action = '$action'")" -ge 1 ] ||
    fail "no journal entry '$action': $(sql "SELECT action FROM fleet.journal WHERE waybill_id = $id")"
done
echo "ok   api waybills"
