#include "dispatch/eta_store.hpp"

#include <optional>

#include "geo/error.hpp"
#include "geo/iso_time.hpp"

namespace fleet::dispatch {

namespace {

// Rows per INSERT statement.
constexpr std::size_t rows_per_statement = 500;

std::string nullable_id(pqxx::transaction_base& tx, std::int64_t id) {
    return id > 0 ? tx.quote(id) : std::string("NULL");
}

// Appends rows to an INSERT, executing it every rows_per_statement rows and at the end.
class Inserter {
  public:
    Inserter(pqxx::transaction_base& tx, std::string head, std::string tail)
        : tx_(tx), head_(std::move(head)), tail_(std::move(tail)) {}
    void add(const std::string& row) {
        sql_ += rows_ == 0 ? head_ : std::string(",");
        sql_ += row;
        if (++rows_ == rows_per_statement) {
            flush();
        }
    }
    void flush() {
        if (rows_ > 0) {
            tx_.exec0(sql_ + tail_);
        }
        sql_.clear();
        rows_ = 0;
    }

  private:
    pqxx::transaction_base& tx_;
    std::string head_, tail_, sql_;
    std::size_t rows_ = 0;
};

// The columns naming a run and its stop, quoted.
std::string run_columns(pqxx::transaction_base& tx, const EtaRun& run, std::size_t stop_index) {
    const PlannedStop& stop = run.trip().stops[stop_index];
    return tx.quote(run.vehicle_id) + "," + tx.quote(run.assignment_id) + "," +
           tx.quote(run.service_date) + "," + nullable_id(tx, run.trip_id) + "," +
           tx.quote(run.trip_code) + "," + tx.quote(static_cast<std::int64_t>(stop_index)) + "," +
           nullable_id(tx, stop.stop_id) + "," + tx.quote(geo::iso_utc(stop.arrival));
}

}  // namespace

void save_predictions(pqxx::transaction_base& tx, std::span<const EtaUpdate> updates) {
    Inserter insert(tx,
                    "INSERT INTO fleet.eta_predictions (vehicle_id, assignment_id, service_date,"
                    " trip_id, trip_code, stop_index, stop_id, scheduled_at, made_at,"
                    " predicted_at, baseline_at, method) VALUES ",
                    "");
    for (const auto& u : updates) {
        if (u.run.assignment_id < 1) {
            continue;
        }
        for (std::size_t i = 0; i < u.stops.size(); ++i) {
            const StopEta& s = u.stops[i];
            // The model's own methods are stored; the baseline has its column.
            const std::string_view method =
                s.method == EtaMethod::schedule_delay ? "schedule" : to_string(s.method);
            insert.add("(" + run_columns(tx, u.run, s.stop_index) + "," +
                       tx.quote(geo::iso_utc(u.made_at)) + "," + tx.quote(geo::iso_utc(s.arrival)) +
                       "," + tx.quote(geo::iso_utc(u.baseline.at(i))) + "," +
                       tx.quote(std::string(method)) + ")");
        }
    }
    insert.flush();
}

void save_arrivals(pqxx::transaction_base& tx, std::span<const StopArrival> arrivals) {
    Inserter insert(tx,
                    "INSERT INTO fleet.stop_arrivals (vehicle_id, assignment_id, service_date,"
                    " trip_id, trip_code, stop_index, stop_id, scheduled_at, arrived_at) VALUES ",
                    " ON CONFLICT DO NOTHING");
    for (const auto& a : arrivals) {
        if (a.run.assignment_id < 1) {
            continue;
        }
        insert.add("(" + run_columns(tx, a.run, a.stop_index) + "," +
                   tx.quote(geo::iso_utc(a.arrived_at)) + ")");
    }
    insert.flush();
}

std::int64_t prune_predictions(pqxx::connection& conn, Millis before, std::int64_t chunk) {
    if (chunk < 1) {
        throw InputError("a pruning chunk of " + std::to_string(chunk) + " rows");
    }
    std::int64_t total = 0;
    for (;;) {
        pqxx::work tx(conn);
        const auto deleted =
            tx.exec0(
                  "DELETE FROM fleet.eta_predictions WHERE ctid = ANY(ARRAY("
                  "SELECT ctid FROM fleet.eta_predictions WHERE made_at < " +
                  tx.quote(geo::iso_utc(before)) + " LIMIT " + std::to_string(chunk) + "))")
                .affected_rows();
        tx.commit();
        total += static_cast<std::int64_t>(deleted);
        if (static_cast<std::int64_t>(deleted) < chunk) {
            return total;
        }
    }
}

std::vector<EtaAccuracy> eta_accuracy(pqxx::transaction_base& tx, Millis from, Millis to) {
    if (to <= from) {
        throw InputError("from " + geo::iso_utc(from) + " is not before to " + geo::iso_utc(to));
    }
    if (to - from > std::chrono::days(92)) {
        throw InputError("the accuracy of arrival times is reported for at most 92 days at once");
    }
    // Scored on the arrivals of the period: each prediction made for that arrival before it,
    // by its horizon T in minutes.
    const auto rows = tx.exec_params(
        "WITH b(from_min, to_min) AS (VALUES (0, 3), (3, 6), (6, 10), (10, 15), (15, 20),"
        " (20, 30)),"
        " p AS (SELECT extract(epoch FROM a.arrived_at - p.made_at) / 60 AS t,"
        "   extract(epoch FROM a.arrived_at - p.predicted_at) AS ours,"
        "   extract(epoch FROM a.arrived_at - p.baseline_at) AS base"
        "   FROM fleet.stop_arrivals a JOIN fleet.eta_predictions p"
        "     ON p.vehicle_id = a.vehicle_id AND p.service_date = a.service_date"
        "    AND p.trip_code = a.trip_code AND p.stop_index = a.stop_index"
        "    AND p.made_at < a.arrived_at AND p.made_at >= a.arrived_at - interval '30 minutes'"
        "  WHERE a.arrived_at >= $1::timestamptz AND a.arrived_at < $2::timestamptz)"
        " SELECT b.from_min, b.to_min, count(p.t),"
        "   count(*) FILTER (WHERE -60 * ln(p.t + 1.3) < p.ours AND p.ours < 60 * ln(p.t + 1.5)),"
        "   count(*) FILTER (WHERE -60 * ln(p.t + 1.3) < p.base AND p.base < 60 * ln(p.t + 1.5)),"
        "   coalesce(avg(abs(p.ours)), 0)::float8, coalesce(avg(abs(p.base)), 0)::float8"
        " FROM b LEFT JOIN p ON p.t >= b.from_min"
        "  AND (p.t < b.to_min OR (b.to_min = 30 AND p.t <= 30))"
        " GROUP BY b.from_min, b.to_min ORDER BY b.from_min",
        geo::iso_utc(from), geo::iso_utc(to));
    std::vector<EtaAccuracy> out;
    for (const auto& r : rows) {
        EtaAccuracy a;
        a.from_min = r[0].as<double>();
        a.to_min = r[1].as<double>();
        a.predictions = r[2].as<std::int64_t>();
        a.ours_in_band = r[3].as<std::int64_t>();
        a.baseline_in_band = r[4].as<std::int64_t>();
        if (a.predictions > 0) {
            a.ours_share = static_cast<double>(a.ours_in_band) / static_cast<double>(a.predictions);
            a.baseline_share =
                static_cast<double>(a.baseline_in_band) / static_cast<double>(a.predictions);
        }
        a.ours_mae_s = r[5].as<double>();
        a.baseline_mae_s = r[6].as<double>();
        out.push_back(a);
    }
    return out;
}

}  // namespace fleet::dispatch

namespace fleet::dispatch {

std::vector<Punctuality> punctuality(pqxx::transaction_base& tx, Millis from, Millis to,
                                     std::chrono::seconds early, std::chrono::seconds late,
                                     const std::vector<std::int64_t>* vehicles) {
    if (to <= from) {
        throw InputError("from " + geo::iso_utc(from) + " is not before to " + geo::iso_utc(to));
    }
    if (to - from > std::chrono::days(92)) {
        throw InputError("punctuality is reported for at most 92 days at once");
    }
    std::string only;  // a PostgreSQL array literal of the vehicles seen, or NULL for all
    if (vehicles) {
        only = "{";
        for (const auto v : *vehicles) {
            only += (only.size() > 1 ? "," : "") + std::to_string(v);
        }
        only += "}";
    }
    const auto rows = tx.exec_params(
        "SELECT COALESCE(r.code, '?'), COALESCE(NULLIF(r.short_name, ''), r.long_name, r.code, "
        "'?'),"
        "       extract(hour FROM a.arrived_at)::int AS hour, count(*),"
        "       count(*) FILTER (WHERE a.arrived_at < a.scheduled_at - make_interval(secs => $3)),"
        "       count(*) FILTER (WHERE a.arrived_at > a.scheduled_at + make_interval(secs => $4))"
        "  FROM fleet.stop_arrivals a"
        "  LEFT JOIN fleet.trips t ON t.trip_id = a.trip_id"
        "  LEFT JOIN fleet.routes r ON r.route_id = t.route_id"
        " WHERE a.arrived_at >= $1::timestamptz AND a.arrived_at < $2::timestamptz"
        "   AND ($5::bigint[] IS NULL OR a.vehicle_id = ANY ($5::bigint[]))"
        " GROUP BY 1, 2, 3 ORDER BY 2, 1, 3",
        geo::iso_utc(from), geo::iso_utc(to), static_cast<double>(early.count()),
        static_cast<double>(late.count()),
        vehicles ? std::optional<std::string>(only) : std::nullopt);
    std::vector<Punctuality> out;
    for (const auto& row : rows) {
        Punctuality p{.route_code = row[0].as<std::string>(),
                      .route_name = row[1].as<std::string>(),
                      .hour = row[2].as<int>(),
                      .arrivals = row[3].as<std::int64_t>(),
                      .early = row[4].as<std::int64_t>(),
                      .late = row[5].as<std::int64_t>()};
        p.on_time = p.arrivals - p.early - p.late;
        p.on_time_share = p.arrivals ? static_cast<double>(p.on_time) / p.arrivals : 0;
        out.push_back(std::move(p));
    }
    return out;
}

}  // namespace fleet::dispatch
