#include "tools/fleetctl/waybill_cli.hpp"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <iostream>
#include <sstream>

#include "geo/calendar.hpp"
#include "geo/error.hpp"
#include "geo/iso_time.hpp"
#include "server/database.hpp"
#include "tools/fleetctl/option_errors.hpp"
#include "waybills/table.hpp"

namespace fleet::tools::fleetctl::cli {

po::variables_map parse(const std::string& command, const po::options_description& options,
                        const std::vector<std::string>& args,
                        const std::vector<std::string>& positional) {
    po::options_description all;
    all.add(options);
    po::positional_options_description words;
    for (const auto& name : positional) {
        all.add_options()(name.c_str(), po::value<std::string>());
        words.add(name.c_str(), 1);
    }
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(all).positional(words).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw ConfigError(command, explain_option_error(e, all, command));
    }
    return vm;
}

std::string describe(const po::options_description& options) {
    std::ostringstream out;
    out << options;
    return out.str();
}

std::string required(const po::variables_map& vm, const std::string& key,
                     const std::string& command) {
    if (!vm.count(key) || vm[key].as<std::string>().empty()) {
        throw ConfigError(command,
                          "--" + key + " is required (see fleetctl " + command + " --help)");
    }
    return vm[key].as<std::string>();
}

std::string text(const po::variables_map& vm, const std::string& key) {
    return vm.count(key) ? vm[key].as<std::string>() : std::string();
}

std::int64_t waybill_id(const po::variables_map& vm, const std::string& command) {
    if (!vm.count("id")) {
        throw ConfigError(command, "the waybill ID is required (fleetctl waybill list shows them)");
    }
    const auto& word = vm["id"].as<std::string>();
    std::int64_t id = 0;
    const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), id);
    if (ec != std::errc() || end != word.data() + word.size() || id <= 0) {
        throw InputError("waybill ID must be a positive integer, got '" + word + "'");
    }
    return id;
}

std::string date(const std::string& option, const std::string& text) {
    if (!geo::is_calendar_date(text)) {
        throw InputError("--" + option + ": expected a date YYYY-MM-DD, got '" + text + "'");
    }
    return text;
}

std::string day_or_month(const std::string& option, const std::string& text, bool end) {
    if (geo::is_calendar_date(text)) {
        return text;
    }
    if (text.size() == 7 && geo::is_calendar_date(text + "-01")) {
        if (!end) {
            return text + "-01";
        }
        using namespace std::chrono;
        const year_month ym{year(std::stoi(text.substr(0, 4))),
                            month(static_cast<unsigned>(std::stoi(text.substr(5, 2))))};
        return text + "-" + std::to_string(static_cast<unsigned>((ym / last).day()));
    }
    throw InputError("--" + option + ": expected a date YYYY-MM-DD or a month YYYY-MM, got '" +
                     text + "'");
}

geo::Millis time(const po::variables_map& vm, const std::string& key, const std::string& command) {
    const auto text = required(vm, key, command);
    const auto t = geo::parse_iso_time(text);
    if (!t) {
        throw InputError("--" + key + ": '" + text +
                         "' is not an ISO 8601 time with its offset (2026-12-02 08:00+03)");
    }
    return *t;
}

Period period(const po::variables_map& vm, const std::string& command) {
    Period p{.from = day_or_month("from", required(vm, "from", command), false),
             .to = day_or_month("to", required(vm, "to", command), true)};
    if (p.from > p.to) {
        throw InputError("--from " + p.from + " is after --to " + p.to);
    }
    return p;
}

double not_negative(const std::string& option, double value) {
    if (!std::isfinite(value) || value < 0) {
        throw InputError("--" + option + " cannot be negative (got " + number(value) + ")");
    }
    return value;
}

std::int64_t whole_km(const std::string& option, const std::string& text) {
    std::int64_t km = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), km);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || km < 0) {
        throw InputError("--" + option +
                         ": whole kilometres wanted, as the odometer shows them (152342), got '" +
                         text + "'");
    }
    return km;
}

std::optional<std::int64_t> optional_km(const po::variables_map& vm, const std::string& option) {
    return vm.count(option)
               ? std::optional<std::int64_t>(whole_km(option, vm[option].as<std::string>()))
               : std::nullopt;
}

void add_clock_options(po::options_description& options) {
    options.add_options()(
        "future-tolerance-min",
        po::value<double>()
            ->default_value(waybills::Clock::default_future_tolerance_s / 60.0)
            ->value_name("MIN"),
        "times typed in may lie this far ahead of this computer's clock, minutes");
}

waybills::Clock clock(const po::variables_map& vm) {
    const double minutes = vm["future-tolerance-min"].as<double>();
    if (!std::isfinite(minutes) || minutes < 0 || minutes > 24 * 60) {
        throw InputError("--future-tolerance-min: minutes between 0 and 1440 wanted, got " +
                         number(minutes));
    }
    waybills::Clock c;
    c.future_tolerance = std::chrono::seconds(static_cast<std::int64_t>(minutes * 60));
    return c;
}

namespace {

// The tolerances by option name, with where each lives in ReconcileOptions.
struct Tolerance {
    const char* option;
    double waybills::ReconcileOptions::*member;
    double waybills::TrackRules::*track_member;
    const char* meaning;
};

constexpr Tolerance tolerances[] = {
    {"gps-tolerance-pct", &waybills::ReconcileOptions::gps_tolerance_pct, nullptr,
     "flag GPS mileage differing from the odometer's by more than this share, %"},
    {"gps-tolerance-km", &waybills::ReconcileOptions::gps_tolerance_km, nullptr,
     "... and by more than this, km (short trips)"},
    {"chain-fuel-tolerance-l", &waybills::ReconcileOptions::chain_fuel_tolerance_l, nullptr,
     "departure fuel may differ from the previous return fuel by this much, L"},
    {"card-slack-min", &waybills::ReconcileOptions::card_slack_min, nullptr,
     "fuel receipts this long before departure or after return count, minutes"},
    {"pump-odometer-tolerance-km", &waybills::ReconcileOptions::pump_odometer_tolerance_km, nullptr,
     "odometer typed at the pump may lie this far outside the trip's, km"},
    {"sensor-match-min", &waybills::ReconcileOptions::sensor_match_min, nullptr,
     "a level-sensor fill and a receipt this close in time match, minutes"},
    {"sensor-volume-tolerance-pct", &waybills::ReconcileOptions::sensor_volume_tolerance_pct,
     nullptr, "... when their volumes agree this well, %"},
    {"track-gap-s", nullptr, &waybills::TrackRules::gap_s,
     "no fix for longer than this is a data gap, seconds"},
    {"track-jitter-m", nullptr, &waybills::TrackRules::jitter_m,
     "a parked vehicle wanders less than this, metres"},
    {"track-moving-kmh", nullptr, &waybills::TrackRules::moving_kmh,
     "a fix reporting a higher speed is moving, km/h"},
    {"track-max-speed-kmh", nullptr, &waybills::TrackRules::max_speed_kmh,
     "a fix implying a faster move is a jump and is dropped, km/h"},
    {"fuel-event-min-l", nullptr, &waybills::TrackRules::fuel_min_l,
     "level-sensor changes smaller than this are noise, L"},
    {"fuel-stop-min-s", nullptr, &waybills::TrackRules::fuel_stop_min_s,
     "fills and drains are judged over stops at least this long, seconds"},
};

}  // namespace

void add_reconcile_options(po::options_description& options) {
    const waybills::ReconcileOptions defaults;
    for (const auto& t : tolerances) {
        const double value = t.member ? defaults.*t.member : defaults.track.*t.track_member;
        // The unit is the option's last word: gps-tolerance-pct PCT, track-gap-s S, ...
        std::string unit = t.option;
        unit.erase(0, unit.rfind('-') + 1);
        for (auto& c : unit) {
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
        options.add_options()(t.option, po::value<double>()->default_value(value)->value_name(unit),
                              t.meaning);
    }
    options.add_options()("workers",
                          po::value<int>()->default_value(defaults.workers)->value_name("N"),
                          "connections reading positions in parallel (1-64)");
}

waybills::ReconcileOptions reconcile_options(const po::variables_map& vm) {
    waybills::ReconcileOptions o;
    for (const auto& t : tolerances) {
        const double value = vm[t.option].as<double>();
        if (!std::isfinite(value) || value < 0) {
            throw ConfigError(t.option, "must be a non-negative number");
        }
        (t.member ? o.*t.member : o.track.*t.track_member) = value;
    }
    o.workers = vm["workers"].as<int>();
    if (o.workers < 1 || o.workers > 64) {
        throw ConfigError("workers", "must be between 1 and 64");
    }
    return o;
}

std::unique_ptr<pqxx::connection> open(const server::Config& config) {
    static std::atomic<bool> never{false};
    return server::open_database(config, never);
}

std::string fixed(double value, int decimals) {
    return std::isfinite(value) ? waybills::format_decimal(value, decimals) : "?";
}

std::string number(double value) {
    return waybills::format_number(value);
}

Progress::Progress()
    : terminal_(::isatty(STDERR_FILENO) == 1),
      started_(std::chrono::steady_clock::now()),
      last_(started_) {}

waybills::ReconcileProgress Progress::callback() {
    return [this](std::size_t done, std::size_t total) {
        const auto now = std::chrono::steady_clock::now();
        const auto every = terminal_ ? std::chrono::milliseconds(100) : std::chrono::seconds(1);
        if (done != total && now - last_ < every) {
            return;
        }
        last_ = now;
        shown_ = true;
        std::cerr << (terminal_ ? "\r" : "") << "reconciling: " << done << " of " << total
                  << " waybills" << (terminal_ ? "" : "\n") << std::flush;
    };
}

void Progress::finish(std::size_t waybills) {
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started_;
    std::cerr << (terminal_ && shown_ ? "\n" : "") << "reconciled " << waybills << " waybills in "
              << fixed(took.count(), 1) << " s\n";
}

void print_figures(std::ostream& out, const waybills::Reconciliation& r,
                   const std::string& indent) {
    out << indent << "mileage:        "
        << (r.mileage_km ? std::to_string(*r.mileage_km) + " km" : std::string("unknown"))
        << " by odometer, " << fixed(r.gps_km(), 1) << " km by GPS (" << r.track.fixes << " fixes, "
        << r.track.gaps.size() << " gaps)\n";
    const auto litres = [](const std::optional<double>& v) {
        return v ? fixed(*v, 2) + " L" : std::string("unknown");
    };
    out << indent << "fuel:           out " << litres(r.fuel_out_l) << " + issued "
        << fixed(r.fuel_issued_l, 2) << " L - handed over " << fixed(r.fuel_handed_over_l, 2)
        << " L - in " << litres(r.fuel_in_l) << " = actual " << litres(r.actual_l) << "\n";
    out << indent << "norm:           ";
    if (r.norm) {
        out << fixed(r.norm->norm_l, 2) << " L (corrections " << fixed(r.norm->correction_pct, 1)
            << " %";
        for (const auto& c : r.corrections.applied) {
            out << "; " << waybills::to_string(c.code) << " " << fixed(c.percent, 1) << " %";
        }
        out << ")\n";
    } else {
        out << "none\n";
    }
    out << indent << "saving:         "
        << (r.saving_l ? fixed(*r.saving_l, 2) + " L" + (*r.saving_l < 0 ? " (overspend)" : "")
                       : std::string("unknown"))
        << "\n";
    out << indent << "receipts:       " << r.receipts.size() << "\n";
    out << indent << "violations:     " << r.violations.size() << "\n";
    if (r.plan) {
        out << indent << "plan:           trips " << r.plan->trips_served << " of "
            << r.plan->trips_planned << ", " << fixed(r.plan->km_driven, 1) << " of "
            << fixed(r.plan->km_planned, 1) << " km\n";
    }
    out << indent << "discrepancies:  "
        << (r.discrepancies.empty() ? std::string("none") : std::to_string(r.discrepancies.size()))
        << "\n";
    for (const auto& d : r.discrepancies) {
        out << indent << "  - " << d.code << ": " << d.message << "\n";
    }
}

namespace {

std::size_t characters(const std::string& text) {
    std::size_t n = 0;
    for (const unsigned char c : text) {
        n += (c & 0xC0) != 0x80 ? 1 : 0;
    }
    return n;
}

}  // namespace

void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> widths;
    for (const auto& row : rows) {
        widths.resize(std::max(widths.size(), row.size()), 0);
        for (std::size_t i = 0; i < row.size(); ++i) {
            widths[i] = std::max(widths[i], characters(row[i]));
        }
    }
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size()) {
                line += std::string(widths[i] - characters(row[i]) + 2, ' ');
            }
        }
        out << line << "\n";
    }
}

}  // namespace fleet::tools::fleetctl::cli
