#include "ingest/detail/batch_store.hpp"

#include <map>

#include <nlohmann/json.hpp>

#include "ingest/detail/copy_binary.hpp"

namespace fleet::ingest::detail {

namespace {

#define FLEET_POSITION_COLUMNS                                                             \
    "vehicle_id, device_time, geom, speed_kmh, course_deg, altitude_m, satellites, valid," \
    " odometer_m, fuel_l, ignition, attributes"

// The connection's staging tables: the rows of a batch that takes the merge rule (with their
// number in the batch, their rank among the batch's records of the same key, and the whole
// record for attributes.merged), and the newest valid fix per vehicle of every batch.
constexpr const char* session_setup_sql =
    "SET client_encoding = 'UTF8';"
    "CREATE TEMP TABLE incoming (row_no integer, rank integer, vehicle_id bigint,"
    " device_time timestamptz, geom geometry(Point, 4326), speed_kmh real, course_deg real,"
    " altitude_m real, satellites smallint, valid boolean, odometer_m double precision,"
    " fuel_l real, ignition boolean, attributes jsonb, entry jsonb) ON COMMIT DELETE ROWS;"
    "CREATE INDEX ON pg_temp.incoming (vehicle_id, device_time, rank);"
    "CREATE TEMP TABLE latest_incoming (vehicle_id bigint, device_time timestamptz,"
    " geom geometry(Point, 4326), speed_kmh real, course_deg real, altitude_m real,"
    " satellites smallint, valid boolean, odometer_m double precision, fuel_l real,"
    " ignition boolean, attributes jsonb) ON COMMIT DELETE ROWS";

// The fast path: straight into the track store, in the transaction it opens. Fails whole on a
// duplicate key or a refused value.
constexpr const char* begin_copy_direct_sql =
    "BEGIN; COPY fleet.positions (" FLEET_POSITION_COLUMNS ") FROM STDIN (FORMAT binary)";
constexpr const char* copy_staging_sql = "COPY pg_temp.incoming FROM STDIN (FORMAT binary)";
constexpr const char* copy_latest_sql = "COPY pg_temp.latest_incoming FROM STDIN (FORMAT binary)";

// The merge rule for the staged records of rank $1 (at most one per key): a new key is
// inserted, a stored one merged when that changes it (fleet.position_merge_changes). Returns
// the row_no of each record that changed the track store, and whether it inserted the row.
constexpr const char* merge_rank_sql = R"sql(
WITH existing AS (
    SELECT i.row_no FROM pg_temp.incoming i
     WHERE i.rank = $1::integer
       AND EXISTS (SELECT FROM fleet.positions p
                    WHERE p.vehicle_id = i.vehicle_id AND p.device_time = i.device_time)),
changed AS (
    INSERT INTO fleet.positions AS p (vehicle_id, device_time, geom, speed_kmh, course_deg,
        altitude_m, satellites, valid, odometer_m, fuel_l, ignition, attributes)
    SELECT vehicle_id, device_time, geom, speed_kmh, course_deg, altitude_m, satellites, valid,
           odometer_m, fuel_l, ignition, attributes
      FROM pg_temp.incoming WHERE rank = $1::integer
    ON CONFLICT (vehicle_id, device_time) DO UPDATE SET
        speed_kmh = coalesce(p.speed_kmh, EXCLUDED.speed_kmh),
        course_deg = coalesce(p.course_deg, EXCLUDED.course_deg),
        altitude_m = coalesce(p.altitude_m, EXCLUDED.altitude_m),
        satellites = coalesce(p.satellites, EXCLUDED.satellites),
        odometer_m = coalesce(p.odometer_m, EXCLUDED.odometer_m),
        fuel_l = coalesce(p.fuel_l, EXCLUDED.fuel_l),
        ignition = coalesce(p.ignition, EXCLUDED.ignition),
        attributes = fleet.position_merge_attributes(p, EXCLUDED,
            (SELECT i.entry FROM pg_temp.incoming i
              WHERE i.rank = $1::integer AND i.vehicle_id = EXCLUDED.vehicle_id
                AND i.device_time = EXCLUDED.device_time))
    WHERE fleet.position_merge_changes(p, EXCLUDED,
            (SELECT i.entry FROM pg_temp.incoming i
              WHERE i.rank = $1::integer AND i.vehicle_id = EXCLUDED.vehicle_id
                AND i.device_time = EXCLUDED.device_time))
    RETURNING (SELECT i.row_no FROM pg_temp.incoming i
                WHERE i.rank = $1::integer AND i.vehicle_id = p.vehicle_id
                  AND i.device_time = p.device_time) AS row_no)
SELECT row_no, row_no NOT IN (SELECT row_no FROM existing) FROM changed
)sql";

// The latest valid fix per vehicle, moving only forward in device time; a vehicle that is not
// (or no longer) in fleet.vehicles has no latest position, rather than failing the batch. Sent
// with the COMMIT, in one round trip.
constexpr const char* latest_and_commit_sql =
    "INSERT INTO fleet.latest_positions (server_time, " FLEET_POSITION_COLUMNS
    ")"
    " SELECT now(), " FLEET_POSITION_COLUMNS
    " FROM pg_temp.latest_incoming l"
    " WHERE EXISTS (SELECT FROM fleet.vehicles v WHERE v.vehicle_id = l.vehicle_id)"
    " ON CONFLICT (vehicle_id) DO UPDATE SET device_time = EXCLUDED.device_time,"
    "  server_time = EXCLUDED.server_time, geom = EXCLUDED.geom,"
    "  speed_kmh = EXCLUDED.speed_kmh, course_deg = EXCLUDED.course_deg,"
    "  altitude_m = EXCLUDED.altitude_m, satellites = EXCLUDED.satellites,"
    "  valid = EXCLUDED.valid, odometer_m = EXCLUDED.odometer_m, fuel_l = EXCLUDED.fuel_l,"
    "  ignition = EXCLUDED.ignition, attributes = EXCLUDED.attributes"
    " WHERE fleet.latest_positions.device_time < EXCLUDED.device_time;"
    "COMMIT";

// Device statuses of rank $1 (at most one per vehicle), merged key by key, moving only
// forward in reported_at.
constexpr const char* status_sql =
    "INSERT INTO fleet.vehicle_status AS s (vehicle_id, reported_at, \"values\", updated_at)"
    " SELECT (e ->> 'vehicle_id')::bigint,"
    "  timestamptz '1970-01-01 00:00:00+00' + (e ->> 'reported_at_ms')::bigint"
    "   * interval '1 millisecond',"
    "  e -> 'values', now()"
    " FROM jsonb_array_elements($1::jsonb) AS e"
    " ON CONFLICT (vehicle_id) DO UPDATE SET reported_at = EXCLUDED.reported_at,"
    "  \"values\" = s.\"values\" || EXCLUDED.\"values\", updated_at = EXCLUDED.updated_at"
    " WHERE s.reported_at <= EXCLUDED.reported_at";

constexpr const char* quarantine_sql =
    "INSERT INTO fleet.quarantine (received_at, protocol, device, vehicle_id, sqlstate, reason,"
    " record, raw) VALUES (timestamptz '1970-01-01 00:00:00+00' + $1::bigint"
    " * interval '1 millisecond', $2, $3, $4::bigint, $5, $6, $7::jsonb, $8::bytea)";

class BatchTransaction {
  public:
    using Deadline = std::function<SteadyClock::time_point()>;
    BatchTransaction(PgSession& session, EncodedBatch& batch, std::span<const Millis> received_at,
                     Deadline deadline)
        : session_(session),
          batch_(batch),
          received_at_(received_at),
          deadline_(std::move(deadline)) {}

    void run();

  private:
    bool try_direct_copy();
    void apply_rows(std::span<const std::size_t> which);
    void apply_statuses();
    void apply_status_rank(std::span<StatusRow* const> statuses);
    void quarantine_all();
    void quarantine(const Packet& packet, std::size_t packet_index, std::int64_t vehicle_id,
                    const Refusal& refusal, const std::string& record);
    std::string status_array(std::span<StatusRow* const> statuses) const;

    PgSession& session_;
    EncodedBatch& batch_;
    std::span<const Millis> received_at_;
    Deadline deadline_;
};

void BatchTransaction::run() {
    const std::vector<std::size_t> sent = batch_.sent_rows();
    if (sent.empty() || batch_.needs_merge()) {
        session_.exec("BEGIN", deadline_());
        apply_rows(sent);
    } else if (!try_direct_copy()) {
        apply_rows(sent);
    }
    apply_statuses();
    quarantine_all();
    const std::string latest = batch_.latest_copy();
    if (!latest.empty()) {
        session_.copy_in(copy_latest_sql, latest, deadline_());
        session_.exec(latest_and_commit_sql, deadline_());
    } else {
        session_.exec("COMMIT", deadline_());
    }
}

// The fast path. False, with a new transaction open, when the COPY met a stored key or a value
// the database refuses: the slow path then takes the batch.
bool BatchTransaction::try_direct_copy() {
    try {
        session_.copy_in(begin_copy_direct_sql, batch_.direct_copy(), deadline_());
    } catch (const StatementError& e) {
        if (e.sqlstate() != "23505" && !is_data_error(e.sqlstate())) {
            throw;
        }
        session_.exec("ROLLBACK; BEGIN", deadline_());
        return false;
    }
    for (auto& row : batch_.rows()) {
        if (row.rank > 0) {
            row.outcome = Outcome::stored;
        }
    }
    return true;
}

// Stages the rows `which` (in batch order) and runs the merge rule on them, rank by rank,
// inside a savepoint. When the database refuses a value, rolls back to it and splits the rows
// in halves until each refused record stands alone: it is quarantined, the others applied.
void BatchTransaction::apply_rows(std::span<const std::size_t> which) {
    if (which.empty()) {
        return;
    }
    auto& rows = batch_.rows();
    session_.exec("SAVEPOINT rows", deadline_());
    std::vector<std::pair<std::size_t, Outcome>> decided;
    try {
        session_.copy_in(copy_staging_sql, batch_.staging_copy(which), deadline_());
        std::int32_t max_rank = 0;
        for (const auto i : which) {
            max_rank = std::max(max_rank, rows[i].rank);
        }
        for (std::int32_t rank = 1; rank <= max_rank; ++rank) {
            const std::string rank_text = std::to_string(rank);
            const Param params[] = {{rank_text}};
            const PgResult changed = session_.exec_params(merge_rank_sql, params, deadline_());
            for (int r = 0; r < changed.rows(); ++r) {
                decided.emplace_back(static_cast<std::size_t>(changed.integer(r, 0)),
                                     changed.boolean(r, 1) ? Outcome::stored : Outcome::merged);
            }
        }
        session_.exec("TRUNCATE pg_temp.incoming; RELEASE SAVEPOINT rows", deadline_());
    } catch (const StatementError& e) {
        if (!is_data_error(e.sqlstate())) {
            throw;
        }
        session_.exec("ROLLBACK TO SAVEPOINT rows; RELEASE SAVEPOINT rows", deadline_());
        if (which.size() == 1) {
            rows[which[0]].outcome = Outcome::quarantined;
            rows[which[0]].refusal = {e.sqlstate(), e.message()};
            return;
        }
        const std::size_t half = which.size() / 2;
        apply_rows(which.first(half));
        apply_rows(which.subspan(half));
        return;
    }
    for (const auto i : which) {
        rows[i].outcome = Outcome::duplicate;  // unless the database changed a row for it
    }
    for (const auto& [i, outcome] : decided) {
        if (i < rows.size()) {
            rows[i].outcome = outcome;
        }
    }
}

std::string BatchTransaction::status_array(std::span<StatusRow* const> statuses) const {
    nlohmann::json array = nlohmann::json::array();
    for (const StatusRow* s : statuses) {
        array.push_back({{"vehicle_id", s->vehicle_id},
                         {"reported_at_ms", s->status->reported_at.time_since_epoch().count()},
                         {"values", s->status->values}});
    }
    return array.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void BatchTransaction::apply_statuses() {
    auto& statuses = batch_.statuses();
    std::map<std::int32_t, std::vector<StatusRow*>> by_rank;
    for (auto& s : statuses) {
        if (s.outcome != Outcome::pending) {
            continue;
        }
        if (!s.status->values.is_object()) {
            s.outcome = Outcome::quarantined;
            s.refusal = {"22023", std::string("status values must be a JSON object, not ") +
                                      s.status->values.type_name()};
            continue;
        }
        by_rank[s.rank].push_back(&s);
    }
    for (const auto& [rank, group] : by_rank) {
        apply_status_rank(group);
    }
}

// One statement for the whole rank; when the database refuses it, one per status, so that
// only the refused ones are quarantined.
void BatchTransaction::apply_status_rank(std::span<StatusRow* const> statuses) {
    auto attempt = [&](std::span<StatusRow* const> which) {
        session_.exec("SAVEPOINT statuses", deadline_());
        try {
            const std::string array = status_array(which);
            const Param params[] = {{array}};
            session_.exec_params(status_sql, params, deadline_());
            session_.exec("RELEASE SAVEPOINT statuses", deadline_());
            for (auto* s : which) {
                s->outcome = Outcome::stored;
            }
            return true;
        } catch (const StatementError& e) {
            if (!is_data_error(e.sqlstate())) {
                throw;
            }
            session_.exec("ROLLBACK TO SAVEPOINT statuses; RELEASE SAVEPOINT statuses",
                          deadline_());
            if (which.size() == 1) {
                which[0]->outcome = Outcome::quarantined;
                which[0]->refusal = {e.sqlstate(), e.message()};
            }
            return false;
        }
    };
    if (attempt(statuses) || statuses.size() == 1) {
        return;
    }
    for (auto* s : statuses) {
        attempt(std::span<StatusRow* const>(&s, 1));
    }
}

void BatchTransaction::quarantine_all() {
    for (auto& row : batch_.rows()) {
        if (row.outcome == Outcome::quarantined) {
            const Packet& packet = *batch_.packets()[row.packet];
            quarantine(packet, row.packet, row.record->vehicle_id, row.refusal,
                       record_json(*row.record, packet.device, packet.protocol));
        }
    }
    for (auto& s : batch_.statuses()) {
        if (s.outcome == Outcome::quarantined) {
            const Packet& packet = *batch_.packets()[s.packet];
            const nlohmann::json record = {
                {"vehicle_id", s.vehicle_id},
                {"status",
                 {{"reported_at", iso_utc(s.status->reported_at)},
                  {"reported_at_ms", s.status->reported_at.time_since_epoch().count()},
                  {"values", storable_json(s.status->values)}}},
                {"device", storable_text(packet.device)},
                {"protocol", storable_text(packet.protocol)}};
            quarantine(packet, s.packet, s.vehicle_id, s.refusal,
                       record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        }
    }
}

void BatchTransaction::quarantine(const Packet& packet, std::size_t packet_index,
                                  std::int64_t vehicle_id, const Refusal& refusal,
                                  const std::string& record) {
    const std::string received =
        std::to_string(received_at_[packet_index].time_since_epoch().count());
    const std::string protocol = storable_text(packet.protocol);
    const std::string device = storable_text(packet.device);
    const std::string vehicle = std::to_string(vehicle_id);
    const std::string sqlstate = storable_text(refusal.sqlstate);
    const std::string reason = storable_text(refusal.message);
    const bool has_raw = packet.raw != nullptr;
    const std::string_view raw =
        has_raw ? std::string_view(reinterpret_cast<const char*>(packet.raw->data()),
                                   packet.raw->size())
                : std::string_view();
    const Param params[] = {{received}, {protocol}, {device}, {vehicle},
                            {sqlstate}, {reason},   {record}, {raw, true, !has_raw}};
    session_.exec_params(quarantine_sql, params, deadline_());
}

}  // namespace

void prepare_session(PgSession& session, SteadyClock::time_point deadline) {
    session.exec(session_setup_sql, deadline);
}

void store_batch(PgSession& session, EncodedBatch& batch, std::span<const Millis> received_at,
                 const Deadline& deadline) {
    BatchTransaction(session, batch, received_at, deadline).run();
}

bool is_data_error(const std::string& sqlstate) {
    if (sqlstate.size() != 5 || sqlstate == "23505") {
        return false;
    }
    return sqlstate.starts_with("22") || sqlstate.starts_with("23") || sqlstate.starts_with("54");
}

bool is_query_canceled(const std::string& sqlstate) {
    return sqlstate == "57014";
}

}  // namespace fleet::ingest::detail
