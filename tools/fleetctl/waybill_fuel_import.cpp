#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>

#include "geo/error.hpp"
#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/waybill_cli.hpp"
#include "waybills/store.hpp"

namespace fleet::tools::fleetctl {

namespace {

const std::string name = "waybill fuel-import";
constexpr const char* header =
    "vehicle,occurred_at,volume_l,fuel_grade,card,odometer_km,source,external_id";

cli::po::options_description options() {
    namespace po = cli::po;
    po::options_description d("waybill fuel-import FILE.csv");
    // clang-format off
    d.add_options()
        ("actor", po::value<std::string>()->default_value("fleetctl")->value_name("WHO"), "who, for the journal");
    // clang-format on
    return d;
}

// One record of RFC 4180 CSV on one line: fields separated by ',', quoted with '"' when they hold
// a comma or a quote (doubled). Returns false for an unterminated quote.
bool split_record(const std::string& line, std::vector<std::string>& fields) {
    fields.assign(1, std::string());
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted) {
            if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
                fields.back() += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                fields.back() += c;
            }
        } else if (c == '"' && fields.back().empty()) {
            quoted = true;
        } else if (c == ',') {
            fields.emplace_back();
        } else {
            fields.back() += c;
        }
    }
    return !quoted;
}

// ISO 8601 as PostgreSQL reads it: YYYY-MM-DD, 'T' or ' ', HH:MM[:SS[.fff]], then 'Z' or an
// offset ±HH[:MM]. The offset is required: a card processor's local time is ambiguous.
bool iso_time(const std::string& t) {
    const auto digits = [&](std::size_t at, std::size_t n) {
        if (at + n > t.size()) {
            return false;
        }
        for (std::size_t i = at; i < at + n; ++i) {
            if (t[i] < '0' || t[i] > '9') {
                return false;
            }
        }
        return true;
    };
    if (!digits(0, 4) || t.size() < 17 || t[4] != '-' || !digits(5, 2) || t[7] != '-' ||
        !digits(8, 2) || (t[10] != 'T' && t[10] != ' ') || !digits(11, 2) || t[13] != ':' ||
        !digits(14, 2)) {
        return false;
    }
    const auto number = [&](std::size_t at, std::size_t n) { return std::stoi(t.substr(at, n)); };
    const std::chrono::year_month_day day(std::chrono::year(number(0, 4)),
                                          std::chrono::month(static_cast<unsigned>(number(5, 2))),
                                          std::chrono::day(static_cast<unsigned>(number(8, 2))));
    if (!day.ok() || number(11, 2) > 23 || number(14, 2) > 59) {
        return false;
    }
    std::size_t i = 16;
    if (i < t.size() && t[i] == ':') {
        if (!digits(i + 1, 2) || number(i + 1, 2) > 60) {
            return false;
        }
        i += 3;
        if (i < t.size() && t[i] == '.') {
            ++i;
            const auto start = i;
            while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
                ++i;
            }
            if (i == start) {
                return false;
            }
        }
    }
    if (i < t.size() && t[i] == 'Z') {
        return i + 1 == t.size();
    }
    if (i < t.size() && (t[i] == '+' || t[i] == '-') && digits(i + 1, 2)) {
        i += 3;
        if (i == t.size()) {
            return true;
        }
        if (t[i] == ':') {
            ++i;
        }
        return digits(i, 2) && i + 2 == t.size();
    }
    return false;
}

// A bad line of the file: its number and what is wrong, "field: problem".
struct BadLine {
    int line = 0;
    std::string problem;
};

// Reads every line; a line with problems is named in `bad` (each of its problems) and left out.
std::vector<waybills::FuelTransaction> read_csv(const std::string& path, std::vector<int>& line_of,
                                                std::vector<BadLine>& bad_lines) {
    std::ifstream in(path);
    if (!in) {
        throw InputError("cannot read '" + path + "'");
    }
    std::string line;
    std::getline(in, line);
    if (line.rfind("\xEF\xBB\xBF", 0) == 0) {
        line.erase(0, 3);  // a byte-order mark, as spreadsheets write it
    }
    if (!line.empty() && line.back() == '\r') {
        line.pop_back();
    }
    if (line != header) {
        throw InputError(path + ":1: the header must be " + header);
    }
    std::vector<waybills::FuelTransaction> out;
    std::vector<std::string> f;
    for (int number = 2; std::getline(in, line); ++number) {
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        if (line.empty()) {
            continue;
        }
        bool line_ok = true;
        const auto bad = [&](const std::string& field, const std::string& problem) {
            bad_lines.push_back({number, field + ": " + problem});
            line_ok = false;
        };
        if (!split_record(line, f)) {
            bad("record", "unterminated quote");
            continue;
        }
        if (f.size() != 8) {
            bad("record", "8 fields expected, got " + std::to_string(f.size()));
            continue;
        }
        waybills::FuelTransaction t;
        t.vehicle = f[0];
        if (t.vehicle.empty()) {
            bad("vehicle", "empty (a registration wanted)");
        }
        t.occurred_at = f[1];
        if (!iso_time(t.occurred_at)) {
            bad("occurred_at", "'" + f[1] +
                                   "' is not an ISO 8601 time with its offset "
                                   "(2026-11-27T09:15:00+03:00)");
        }
        const auto [end, ec] = std::from_chars(f[2].data(), f[2].data() + f[2].size(), t.volume_l);
        if (f[2].empty() || ec != std::errc() || end != f[2].data() + f[2].size() ||
            !std::isfinite(t.volume_l) || t.volume_l <= 0) {
            bad("volume_l", "'" + f[2] + "' is not a positive number of litres");
        }
        t.fuel_grade = f[3];
        t.card_or_coupon = f[4];
        if (!f[5].empty()) {
            std::int64_t km = 0;
            const auto [e, c] = std::from_chars(f[5].data(), f[5].data() + f[5].size(), km);
            if (c != std::errc() || e != f[5].data() + f[5].size() || km < 0) {
                bad("odometer_km", "'" + f[5] + "' is not a whole number of km");
            }
            t.odometer_km = km;
        }
        t.source = f[6].empty() ? "card" : f[6];
        if (t.source != "card" && t.source != "coupon" && t.source != "manual") {
            bad("source", "'" + f[6] + "' is not one of: card, coupon, manual");
        }
        t.external_id = f[7];
        if (!line_ok) {
            continue;
        }
        out.push_back(std::move(t));
        line_of.push_back(number);
    }
    return out;
}

int run(const server::Config& config, const std::vector<std::string>& args) {
    const auto vm = cli::parse(name, options(), args, {"file"});
    if (!vm.count("file")) {
        throw ConfigError(name, "the CSV file is required");
    }
    const auto path = vm["file"].as<std::string>();
    std::vector<int> line_of;
    std::vector<BadLine> bad_lines;
    const auto transactions = read_csv(path, line_of, bad_lines);
    auto db = cli::open(config);
    // What the store finds (an unknown vehicle) joins what the file's lines show, in file order.
    for (const auto& p : waybills::fuel_transaction_problems(*db, transactions)) {
        bad_lines.push_back({line_of[p.index], p.message});
    }
    if (!bad_lines.empty()) {
        std::stable_sort(bad_lines.begin(), bad_lines.end(),
                         [](const BadLine& a, const BadLine& b) { return a.line < b.line; });
        std::string message = path + ": nothing imported, " + std::to_string(bad_lines.size()) +
                              (bad_lines.size() == 1 ? " problem:" : " problems:");
        for (const auto& b : bad_lines) {
            message += "\n" + path + ":" + std::to_string(b.line) + ": " + b.problem;
        }
        throw InputError(message);
    }
    const auto added =
        waybills::import_fuel_transactions(*db, transactions, vm["actor"].as<std::string>());
    std::cout << path << ": " << transactions.size() << " transactions read, " << added << " new, "
              << transactions.size() - added << " already imported\n";
    return 0;
}

const Registration registration(
    name, {"import fuel-card or coupon transactions from CSV (all or nothing; repeated "
           "external ids skipped)",
           "waybill fuel-import FILE.csv   (header: vehicle,occurred_at,volume_l,fuel_grade,"
           "card,odometer_km,source,external_id)",
           run, [] { return cli::describe(options()); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
