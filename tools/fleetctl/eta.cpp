#include <cstdio>
#include <iostream>

#include "dispatch/eta_store.hpp"
#include "geo/error.hpp"
#include "server/eta_feed.hpp"
#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/register_cli.hpp"

namespace fleet::tools::fleetctl {

namespace {

namespace po = cli::po;

po::options_description accuracy_options() {
    po::options_description d("report eta-accuracy");
    // clang-format off
    d.add_options()
        ("from", po::value<std::string>()->value_name("T"), "arrivals at stops from this time on, with its offset")
        ("to", po::value<std::string>()->value_name("T"), "up to this time, exclusive (at most 92 days later)");
    // clang-format on
    reg::add_format_option(d);
    return d;
}

std::string percent(double share) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", 100 * share);
    return buf;
}

int accuracy(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "report eta-accuracy";
    const auto vm = cli::parse(name, accuracy_options(), args);
    const auto format = reg::format(vm, name);
    const auto from = cli::time(vm, "from", name);
    const auto to = cli::time(vm, "to", name);
    auto db = cli::open(config);
    pqxx::read_transaction tx(*db);
    waybills::Sheet sheet;
    sheet.name = "eta accuracy";
    sheet.columns = {"horizon_min", "predictions",    "ours_in_band_pct", "baseline_in_band_pct",
                     "ours_mae_s",  "baseline_mae_s", "ours_in_band",     "baseline_in_band"};
    for (const auto& b : dispatch::eta_accuracy(tx, from, to)) {
        char horizon[32];
        std::snprintf(horizon, sizeof horizon, "%g-%g", b.from_min, b.to_min);
        sheet.rows.push_back({reg::text_cell(horizon),
                              reg::number_cell(static_cast<double>(b.predictions)),
                              reg::text_cell(b.predictions ? percent(b.ours_share) : ""),
                              reg::text_cell(b.predictions ? percent(b.baseline_share) : ""),
                              reg::number_cell(std::round(b.ours_mae_s)),
                              reg::number_cell(std::round(b.baseline_mae_s)),
                              reg::number_cell(static_cast<double>(b.ours_in_band)),
                              reg::number_cell(static_cast<double>(b.baseline_in_band))});
    }
    reg::print(std::cout, sheet, format);
    if (format == reg::Format::table) {
        std::cout << "in band: -60 ln(T+1.3) < actual - predicted < 60 ln(T+1.5) seconds, T the "
                     "minutes from the prediction to the arrival; baseline: scheduled time plus "
                     "the deviation when the prediction was made\n";
    }
    return 0;
}

const Registration accuracy_registration(
    "report eta-accuracy",
    {"how the arrival times predicted for a period's arrivals fared, by horizon, against the "
     "baseline (scheduled time plus the current deviation)",
     "report eta-accuracy --from T --to T [--format table|csv]", accuracy,
     [] { return cli::describe(accuracy_options()); }});

po::options_description subscribe_options() {
    po::options_description d("eta subscribe");
    // clang-format off
    d.add_options()
        ("consignee", po::value<std::string>()->value_name("NAME"), "who is told (1-200 characters)")
        ("stop", po::value<std::int64_t>()->value_name("ID"), "the delivery point: a stop (every run calling there)")
        ("assignment", po::value<std::int64_t>()->value_name("ID"), "or a freight assignment's delivery point: the assignment ...")
        ("seq", po::value<int>()->value_name("N"), "... and the delivery point's seq")
        ("url", po::value<std::string>()->value_name("URL"), "where the webhooks are POSTed (http or https)")
        ("secret", po::value<std::string>()->value_name("S"), "shared secret signing each webhook (HMAC-SHA256), 16-256 characters")
        ("min-change", po::value<int>()->default_value(120)->value_name("S"), "a new webhook when the arrival time moves by more than this, seconds")
        ("actor", po::value<std::string>()->default_value("fleetctl")->value_name("WHO"), "who, for the journal");
    // clang-format on
    return d;
}

int subscribe(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "eta subscribe";
    const auto vm = cli::parse(name, subscribe_options(), args);
    server::EtaSubscriptionInput in;
    in.consignee = cli::required(vm, "consignee", name);
    in.url = cli::required(vm, "url", name);
    in.secret = cli::required(vm, "secret", name);
    in.stop_id = cli::optional<std::int64_t>(vm, "stop");
    in.assignment_id = cli::optional<std::int64_t>(vm, "assignment");
    in.seq = cli::optional<int>(vm, "seq");
    in.min_change_s = vm["min-change"].as<int>();
    in.actor = vm["actor"].as<std::string>();
    auto db = cli::open(config);
    pqxx::work tx(*db);
    const auto id = server::create_eta_subscription(tx, in);
    tx.commit();
    std::cout << id << "\n";
    std::cerr << "subscription " << id << ": arrival times for " << in.consignee << " to " << in.url
              << "\n";
    return 0;
}

const Registration subscribe_registration(
    "eta subscribe",
    {"subscribe a consignee to the arrival times at a delivery point: a signed webhook when "
     "the time is first known, when it moves, and on arrival",
     "eta subscribe --consignee NAME (--stop ID | --assignment ID --seq N) --url URL --secret S "
     "[--min-change S]",
     subscribe, [] { return cli::describe(subscribe_options()); }});

int subscriptions(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "eta subscriptions";
    cli::parse(name, po::options_description(name), args);
    auto db = cli::open(config);
    pqxx::read_transaction tx(*db);
    std::cout << server::list_eta_subscriptions(tx).dump(2) << "\n";
    return 0;
}

const Registration subscriptions_registration(
    "eta subscriptions",
    {"list the consignees' subscriptions (without their secrets) with their webhooks' counts",
     "eta subscriptions", subscriptions});

po::options_description id_options(const std::string& name) {
    po::options_description d(name);
    // clang-format off
    d.add_options()
        ("limit", po::value<std::size_t>()->default_value(50)->value_name("N"), "deliveries: at most this many, newest first")
        ("actor", po::value<std::string>()->default_value("fleetctl")->value_name("WHO"), "unsubscribe: who, for the journal");
    // clang-format on
    return d;
}

std::int64_t subscription_id(const po::variables_map& vm) {
    const auto text = vm["id"].as<std::string>();
    try {
        std::size_t used = 0;
        const auto id = std::stoll(text, &used);
        if (used == text.size() && id > 0) {
            return id;
        }
    } catch (const std::exception&) {
    }
    throw InputError("a subscription ID is a positive integer, not '" + text + "'");
}

int unsubscribe(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "eta unsubscribe";
    const auto vm = cli::parse(name, id_options(name), args, {"id"});
    auto db = cli::open(config);
    pqxx::work tx(*db);
    server::deactivate_eta_subscription(tx, subscription_id(vm), vm["actor"].as<std::string>());
    tx.commit();
    return 0;
}

const Registration unsubscribe_registration(
    "eta unsubscribe", {"stop a subscription's webhooks (its log stays)", "eta unsubscribe ID",
                        unsubscribe, [] { return cli::describe(id_options("eta unsubscribe")); }});

int deliveries(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "eta deliveries";
    const auto vm = cli::parse(name, id_options(name), args, {"id"});
    auto db = cli::open(config);
    pqxx::read_transaction tx(*db);
    std::cout << server::eta_subscription_deliveries(tx, subscription_id(vm),
                                                     vm["limit"].as<std::size_t>())
                     .dump(2)
              << "\n";
    return 0;
}

const Registration deliveries_registration(
    "eta deliveries", {"a subscription's webhooks, each with every attempt (time, duration, "
                       "HTTP status, error)",
                       "eta deliveries ID [--limit N]", deliveries,
                       [] { return cli::describe(id_options("eta deliveries")); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
