#!/usr/bin/env bash
# What a GIS analyst does with a fleet: `fleetctl export track` of a vehicle's morning in every
# format (read back with the OGR tools where OGR reads the format), with its trips and stops;
# the refusals (unknown vehicle, too long a period, a bad format); then the GIS views opened
# with ogrinfo (their geometry type and feature count, as QGIS sees them) and one exported to a
# GeoPackage with ogr2ogr.
#   gis_export.sh FLEETCTL STATE
set -u
fleetctl=$1 state=$2
server=$(cat "$state/url")
db="fleet_gis_export_$$"
work=$(mktemp -d)
cleanup() {
  psql "$server" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in out err; do [ -s "$work/$f" ] && sed "s/^/    $f: /" "$work/$f" | head -40; done
  exit 1
}
command -v ogrinfo >/dev/null || fail "ogrinfo is not installed (tools/setup installs gdal-bin)"
psql "$server" -qc "CREATE DATABASE $db" >/dev/null || fail "create database"
url="$server dbname=$db"
pg="PG:$(echo "$server" | sed 's/dbname=[^ ]*//') dbname=$db"

run() { "$fleetctl" --database-url "$url" --log-level warn "$@" >"$work/out" 2>"$work/err"; }
must() { run "$@" || fail "fleetctl $* exited non-zero"; }
exits() {
  local code=$1 expect=$2
  shift 2
  run "$@"
  local got=$?
  [ "$got" -eq "$code" ] || fail "fleetctl $*: exit code $got, expected $code"
  grep -qF -- "$expect" "$work/err" || fail "fleetctl $*: stderr does not say '$expect'"
}
has() { grep -qF -- "$1" "$work/out" || fail "${2:-output} does not show '$1'"; }
sql() { psql "$url" -XAtqc "$1" || fail "SQL: $1"; }
# ogr FILE-OR-SOURCE LAYER: ogrinfo's summary of the layer into out.
ogr() { ogrinfo -ro -so "$1" "$2" >"$work/out" 2>"$work/err" || fail "ogrinfo $1 $2"; }

must migrate
must vehicle add A123BC77 --class bus
must vehicle add B456CD77

# The bus's morning, a fix every 10 s from 04:00Z: parked 10 minutes, 10 minutes east along a
# street at 36 km/h (0.0016° of longitude, about 100 m, a fix), parked 10 minutes.
sql "INSERT INTO fleet.positions (vehicle_id, device_time, geom, speed_kmh, course_deg, valid)
     SELECT v.vehicle_id, '2026-11-27 04:00Z'::timestamptz + s * interval '10 s',
            ST_Point(37.6 + least(greatest(s - 59, 0), 60) * 0.0016, 55.75, 4326),
            CASE WHEN s BETWEEN 60 AND 119 THEN 36 ELSE 0 END, 90, true
       FROM fleet.vehicles v, generate_series(0, 179) s WHERE v.registration = 'A123BC77'"
sql "INSERT INTO fleet.latest_positions (vehicle_id, device_time, server_time, geom, speed_kmh, valid)
     SELECT vehicle_id, now(), now(), ST_Point(37.696, 55.75, 4326), 0, true FROM fleet.vehicles"
sql "INSERT INTO fleet.events (vehicle_id, kind, started_at, geom, magnitude)
     SELECT vehicle_id, 'speeding', '2026-11-27 04:12Z'::timestamptz, ST_Point(37.65, 55.75, 4326), 10
       FROM fleet.vehicles WHERE registration = 'A123BC77'
     UNION ALL
     SELECT vehicle_id, 'off_route', '2026-11-27 04:15Z'::timestamptz,
            ST_GeomFromText('LINESTRING(37.66 55.75, 37.67 55.751, 37.68 55.75)', 4326), 120
       FROM fleet.vehicles WHERE registration = 'A123BC77'"

period=(--vehicle A123BC77 --from "2026-11-27 07:00+03" --to "2026-11-27 08:00+03")

# JSON on standard output, times in the zone asked for.
must export track "${period[@]}" --tz Europe/Moscow
has '"registration":"A123BC77"' "export track"
has '"fixes":180' "export track"
has '"from":"2026-11-27T07:00:00+03:00"' "export track"
has '"time":"2026-11-27T07:10:00+03:00"' "export track"
! grep -qF '"trips"' "$work/out" || fail "trips written without --trips"

# GeoJSON with trips and stops: the line, 180 points, 1 trip, 2 stops.
must export track "${period[@]}" --format geojson --trips --stops --output "$work/t.geojson"
grep -qF "wrote $work/t.geojson: 180 fixes of A123BC77, 1 trips, 2 stops" "$work/err" ||
  fail "export track --output does not say what it wrote"
ogr "$work/t.geojson" t
has "Feature Count: 184" "ogrinfo of the GeoJSON"

# GPX: a track point per fix, a waypoint per stop.
must export track "${period[@]}" --format gpx --stops --output "$work/t.gpx"
ogr "$work/t.gpx" track_points
has "Feature Count: 180" "ogrinfo of the GPX track points"
ogr "$work/t.gpx" waypoints
has "Feature Count: 2" "ogrinfo of the GPX waypoints"
ogrinfo -ro "$work/t.gpx" track_points -where "track_seg_point_id = 0" >"$work/out" 2>&1
has "2026/11/27 04:00:00+00" "the first GPX track point"

# KML: the line and a placemark per fix.
must export track "${period[@]}" --format kml --trips --output "$work/t.kml"
ogr "$work/t.kml" points
has "Feature Count: 180" "ogrinfo of the KML points"
ogr "$work/t.kml" track
has "Feature Count: 1" "ogrinfo of the KML track"

# CSV: a header and a row per fix.
must export track "${period[@]}" --format csv --output "$work/t.csv"
[ "$(wc -l <"$work/t.csv")" -eq 181 ] || fail "the CSV has $(wc -l <"$work/t.csv") lines, expected 181"
head -2 "$work/t.csv" | tail -1 | grep -q '^2026-11-27T04:00:00+00:00,37.6,55.75,0,90,' ||
  fail "the CSV's first row: $(head -2 "$work/t.csv" | tail -1)"

# Refusals.
exits 1 "no such vehicle 'X999XX'" export track --vehicle X999XX --from "2026-11-27 00:00Z" --to "2026-11-28 00:00Z"
exits 1 "at most 31 days (max_period_days)" export track --vehicle A123BC77 --from "2026-10-01 00:00Z" --to "2026-11-28 00:00Z"
exits 1 "expected a time with its offset" export track --vehicle A123BC77 --from "2026-11-27 00:00" --to "2026-11-28 00:00Z"
exits 2 "--format: expected json, geojson, gpx, kml or csv, got 'shp'" export track "${period[@]}" --format shp
exits 2 "--vehicle is required" export track --from "2026-11-27 00:00Z" --to "2026-11-28 00:00Z"
must export track --help
has "--min-parking-duration" "export track --help"

# The views as QGIS and the OGR tools see them: their geometry type and their rows.
ogr "$pg" fleet.gis_daily_tracks
has "Geometry: Line String" "ogrinfo fleet.gis_daily_tracks"
has "Feature Count: 1" "ogrinfo fleet.gis_daily_tracks"
has "registration: String" "ogrinfo fleet.gis_daily_tracks"
ogr "$pg" fleet.gis_vehicle_state
has "Geometry: Point" "ogrinfo fleet.gis_vehicle_state"
has "Feature Count: 2" "ogrinfo fleet.gis_vehicle_state"
ogr "$pg" fleet.gis_event_points
has "Geometry: Point" "ogrinfo fleet.gis_event_points"
has "Feature Count: 1" "ogrinfo fleet.gis_event_points"
ogr "$pg" fleet.gis_event_lines
has "Geometry: Line String" "ogrinfo fleet.gis_event_lines"
has "Feature Count: 1" "ogrinfo fleet.gis_event_lines"
ogrinfo -ro -so "$pg" >"$work/out" 2>"$work/err" || fail "ogrinfo $pg"
for v in gis_daily_tracks gis_vehicle_state gis_event_points gis_event_lines; do
  has "fleet.$v" "the list of layers"
done

# One of them into a GeoPackage, as an analyst takes it away.
ogr2ogr -f GPKG "$work/tracks.gpkg" "$pg" fleet.gis_daily_tracks -nln daily_tracks \
  >"$work/out" 2>"$work/err" || fail "ogr2ogr -f GPKG"
ogr "$work/tracks.gpkg" daily_tracks
has "Geometry: Line String" "the GeoPackage"
has "Feature Count: 1" "the GeoPackage"
has "length_m: Real" "the GeoPackage"

echo "gis_export: all checks passed"
