#include <charconv>
#include <iostream>

#include "dispatch/notices.hpp"
#include "geo/error.hpp"
#include "geo/iso_time.hpp"
#include "geo/ogr_features.hpp"
#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/register_cli.hpp"

namespace fleet::tools::fleetctl {

namespace {

namespace po = cli::po;

dispatch::Millis now() {
    return std::chrono::time_point_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now());
}

// The area of a GIS file (any format OGR opens, reprojected to WGS 84) as one GeoJSON
// geometry: its polygons as a MultiPolygon, or its lines as a MultiLineString; a file holding
// both is refused.
std::string area_of(const std::string& path) {
    geo::ReadOptions options;
    options.kind = geo::GeometryKind::area;
    options.unnamed = true;
    const auto features = geo::read_features(path, options);
    nlohmann::json polygons = nlohmann::json::array();
    nlohmann::json lines = nlohmann::json::array();
    for (const auto& f : features) {
        const auto g = geo::to_geojson(f.geometry);
        if (g["type"] == "MultiPolygon") {
            for (const auto& p : g["coordinates"]) {
                polygons.push_back(p);
            }
        } else {
            lines.push_back(g["coordinates"]);
        }
    }
    if (!polygons.empty() && !lines.empty()) {
        throw InputError("file '" + path +
                         "' holds both polygons and lines: an area is one or the other");
    }
    if (!polygons.empty()) {
        return nlohmann::json{{"type", "MultiPolygon"}, {"coordinates", polygons}}.dump();
    }
    return nlohmann::json{{"type", "MultiLineString"}, {"coordinates", lines}}.dump();
}

std::int64_t notice_id(const po::variables_map& vm, const std::string& command) {
    const std::string text = cli::required(vm, "id", command);
    std::int64_t id = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc() || end != text.data() + text.size() || id <= 0) {
        throw InputError(command + ": the notice ID is a positive whole number, not '" + text +
                         "'");
    }
    return id;
}

void print_deliveries(const std::vector<dispatch::Delivery>& deliveries, reg::Format format) {
    waybills::Sheet sheet{
        .name = "deliveries",
        .columns = {"driver", "vehicle", "rule", "state", "withdrawal", "attempts", "queued_at",
                    "sent_at", "delivered_at", "read_at", "failure"},
        .rows = {}};
    for (const auto& d : deliveries) {
        sheet.rows.push_back({reg::text_cell(d.driver), reg::text_cell(d.registration), d.rule,
                              d.state, reg::text_cell(d.withdrawal_state),
                              waybills::Cell(static_cast<std::int64_t>(d.attempts)),
                              reg::text_cell(d.queued_at), reg::text_cell(d.sent_at),
                              reg::text_cell(d.delivered_at), reg::text_cell(d.read_at),
                              reg::text_cell(d.failure), reg::text_cell(d.reply_kind),
                              reg::text_cell(d.reply_text)});
    }
    reg::print(std::cout, sheet, format);
}

// ---- notice create ------------------------------------------------------------------------

po::options_description create_options() {
    po::options_description d("notice create");
    // clang-format off
    d.add_options()
        ("category", po::value<std::string>()->value_name("C"), ("what it is about: " + dispatch::category_list()).c_str())
        ("severity", po::value<int>()->default_value(1)->value_name("N"), "1 info, 2 warning, 3 danger")
        ("title", po::value<std::string>()->value_name("TEXT"), ("a heading, at most " + std::to_string(dispatch::notice_title_max) + " characters").c_str())
        ("short", po::value<std::string>()->value_name("TEXT"), ("the text terminals show, at most " + std::to_string(dispatch::notice_short_text_max) + " characters; Teltonika and GT06 devices take printable ASCII only").c_str())
        ("text", po::value<std::string>()->default_value("")->value_name("TEXT"), "the full text")
        ("from", po::value<std::string>()->value_name("T"), "valid from, with its offset (2026-12-02 08:00+03); default now")
        ("until", po::value<std::string>()->value_name("T"), "valid until, with its offset")
        ("area", po::value<std::string>()->value_name("FILE"), "where: a GIS file (GeoJSON, KML, GPX, Shapefile, ...) of polygons, or of lines with --buffer")
        ("buffer", po::value<double>()->default_value(0)->value_name("M"), "metres either side of the lines of --area (a closed road section)")
        ("route", po::value<std::vector<std::string>>()->value_name("CODE"), "a route it concerns (repeat for more)")
        ("stop", po::value<std::vector<std::string>>()->value_name("CODE"), "a stop it concerns (repeat for more)")
        ("feed", po::value<std::string>()->default_value(default_feed)->value_name("F"), feed_help("the routes' and stops'").c_str())
        ("actor", po::value<std::string>()->default_value("fleetctl")->value_name("WHO"), "who, for the journal");
    // clang-format on
    reg::add_format_option(d);
    return d;
}

int create(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "notice create";
    const auto vm = cli::parse(name, create_options(), args);
    const auto format = reg::format(vm, name);
    dispatch::NoticeDraft d;
    d.category = dispatch::parse_category(cli::required(vm, "category", name));
    d.severity = vm["severity"].as<int>();
    d.title = cli::required(vm, "title", name);
    d.short_text = cli::required(vm, "short", name);
    d.full_text = vm["text"].as<std::string>();
    const auto at = now();
    d.valid_from = vm.count("from") ? vm["from"].as<std::string>() : geo::iso_utc(at);
    d.valid_until = cli::required(vm, "until", name);
    if (vm.count("area")) {
        d.area_geojson = area_of(vm["area"].as<std::string>());
    }
    d.buffer_m = vm["buffer"].as<double>();
    if (vm.count("route")) {
        d.routes = vm["route"].as<std::vector<std::string>>();
    }
    if (vm.count("stop")) {
        d.stops = vm["stop"].as<std::vector<std::string>>();
    }
    d.feed = vm["feed"].as<std::string>();
    d.actor = vm["actor"].as<std::string>();
    auto db = cli::open(config);
    dispatch::NoticeCreated made;
    {
        pqxx::work tx(*db);
        made = dispatch::create_notice(tx, d, at);
        tx.commit();
    }
    std::cerr << "notice " << made.notice_id << " created; " << made.deliveries.size() << " driver"
              << (made.deliveries.size() == 1 ? "" : "s")
              << " targeted now (a running fleetd sends it to those connected, and to vehicles "
                 "that enter the area later)\n";
    std::cout << made.notice_id << "\n";
    if (!made.deliveries.empty()) {
        print_deliveries(made.deliveries, format);
    }
    return 0;
}

// ---- notice withdraw ----------------------------------------------------------------------

po::options_description withdraw_options() {
    po::options_description d("notice withdraw");
    // clang-format off
    d.add_options()
        ("reason", po::value<std::string>()->default_value("")->value_name("TEXT"), "why, for the journal")
        ("actor", po::value<std::string>()->default_value("fleetctl")->value_name("WHO"), "who, for the journal");
    // clang-format on
    return d;
}

int withdraw(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "notice withdraw";
    const auto vm = cli::parse(name, withdraw_options(), args, {"id"});
    const auto id = notice_id(vm, name);
    auto db = cli::open(config);
    pqxx::work tx(*db);
    dispatch::withdraw_notice(tx, id, vm["actor"].as<std::string>(), vm["reason"].as<std::string>(),
                              now());
    tx.commit();
    std::cerr << "notice " << id
              << " withdrawn; the drivers who got it are told by a running fleetd\n";
    return 0;
}

// ---- notice list and show -----------------------------------------------------------------

po::options_description list_options() {
    po::options_description d("notice list");
    // clang-format off
    d.add_options()
        ("from", po::value<std::string>()->value_name("T"), "notices valid at some time from T (with its offset) ...")
        ("to", po::value<std::string>()->value_name("T"), "... up to T; without --from and --to: those in force now")
        ("limit", po::value<std::size_t>()->default_value(500)->value_name("N"), "at most N, newest first");
    // clang-format on
    reg::add_format_option(d);
    return d;
}

int list(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "notice list";
    const auto vm = cli::parse(name, list_options(), args);
    const auto format = reg::format(vm, name);
    dispatch::NoticeQuery q;
    if (vm.count("from") || vm.count("to")) {
        q.from = cli::required(vm, "from", name);
        q.to = cli::required(vm, "to", name);
    } else {
        q.in_force_at = now();
    }
    q.limit = vm["limit"].as<std::size_t>();
    auto db = cli::open(config);
    pqxx::read_transaction tx(*db);
    const auto notices = dispatch::list_notices(tx, q);
    waybills::Sheet sheet{
        .name = "notices",
        .columns = {"id", "category", "severity", "title", "valid_from", "valid_until", "withdrawn",
                    "queued", "sent", "delivered", "read", "expired", "failed"},
        .rows = {}};
    for (const auto& n : notices) {
        const auto count = [&](const char* state) {
            const auto it = n.deliveries.find(state);
            return waybills::Cell(it == n.deliveries.end() ? std::int64_t{0} : it->second);
        };
        sheet.rows.push_back(
            {waybills::Cell(n.notice_id), dispatch::to_string(n.category),
             waybills::Cell(static_cast<std::int64_t>(n.severity)), reg::text_cell(n.title),
             geo::iso_utc(n.valid_from), geo::iso_utc(n.valid_until),
             reg::text_cell(n.withdrawn_at ? geo::iso_utc(*n.withdrawn_at) : ""), count("queued"),
             count("sent"), count("delivered"), count("read"), count("expired"), count("failed")});
    }
    reg::print(std::cout, sheet, format);
    return 0;
}

po::options_description show_options() {
    po::options_description d("notice show");
    reg::add_format_option(d);
    return d;
}

int show(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "notice show";
    const auto vm = cli::parse(name, show_options(), args, {"id"});
    const auto format = reg::format(vm, name);
    const auto id = notice_id(vm, name);
    auto db = cli::open(config);
    pqxx::read_transaction tx(*db);
    const auto n = dispatch::load_notice(tx, id);
    if (!n) {
        throw NotFoundError("no notice " + std::to_string(id));
    }
    std::cerr << "notice " << n->notice_id << " (" << dispatch::to_string(n->category)
              << ", severity " << n->severity << "): " << n->title << "\n  " << n->short_text
              << "\n  valid " << geo::iso_utc(n->valid_from) << " .. "
              << geo::iso_utc(n->valid_until)
              << (n->withdrawn_at
                      ? "; withdrawn " + geo::iso_utc(*n->withdrawn_at) + " by " + n->withdrawn_by
                      : std::string())
              << "\n";
    print_deliveries(dispatch::notice_deliveries(tx, id), format);
    return 0;
}

// ---- message send --------------------------------------------------------------------------

po::options_description message_options() {
    po::options_description d("message send");
    // clang-format off
    d.add_options()
        ("text", po::value<std::string>()->value_name("TEXT"), ("the message, at most " + std::to_string(dispatch::notice_short_text_max) + " characters").c_str())
        ("driver", po::value<std::vector<std::string>>()->value_name("N"), "to this driver (personnel number; repeat for more)")
        ("vehicle", po::value<std::vector<std::string>>()->value_name("REG"), "to the driver of this vehicle now")
        ("group", po::value<std::vector<std::string>>()->value_name("G"), "to the drivers of this group's vehicles now")
        ("route", po::value<std::vector<std::string>>()->value_name("CODE"), "to every driver on this route now")
        ("feed", po::value<std::string>()->default_value(default_feed)->value_name("F"), feed_help("the routes'").c_str())
        ("reply", po::value<std::vector<std::string>>()->value_name("TEXT"), "a canned reply the terminal offers (repeat; default: OK, On my way, Delayed, Call me)")
        ("severity", po::value<int>()->default_value(1)->value_name("N"), "1 info, 2 warning, 3 danger")
        ("valid-minutes", po::value<long>()->default_value(720)->value_name("M"), "sent to a terminal that connects within this long")
        ("actor", po::value<std::string>()->default_value("fleetctl")->value_name("WHO"), "who, for the journal");
    // clang-format on
    reg::add_format_option(d);
    return d;
}

int message(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "message send";
    const auto vm = cli::parse(name, message_options(), args);
    const auto format = reg::format(vm, name);
    const auto many = [&](const char* key) {
        return vm.count(key) ? vm[key].as<std::vector<std::string>>() : std::vector<std::string>{};
    };
    dispatch::MessageDraft d;
    d.text = cli::required(vm, "text", name);
    d.drivers = many("driver");
    d.vehicles = many("vehicle");
    d.groups = many("group");
    d.routes = many("route");
    d.feed = vm["feed"].as<std::string>();
    d.replies = many("reply");
    d.severity = vm["severity"].as<int>();
    d.validity = std::chrono::minutes(vm["valid-minutes"].as<long>());
    d.actor = vm["actor"].as<std::string>();
    auto db = cli::open(config);
    dispatch::NoticeCreated made;
    {
        pqxx::work tx(*db);
        made = dispatch::create_message(tx, d, now());
        tx.commit();
    }
    std::cerr << "message " << made.notice_id << " queued for " << made.deliveries.size()
              << " driver" << (made.deliveries.size() == 1 ? "" : "s")
              << " (a running fleetd sends it; fleetctl notice show ID shows their replies)\n";
    std::cout << made.notice_id << "\n";
    print_deliveries(made.deliveries, format);
    return 0;
}

const Registration message_registration(
    "message send",
    {"a dispatcher's message to a driver, a vehicle's driver, a group or everyone on a route; "
     "the in-cab terminal offers canned replies and the driver's answer is kept",
     "message send --text TEXT (--driver N | --vehicle REG | --group G | --route CODE ...) "
     "[--reply TEXT ...]",
     message, [] { return cli::describe(message_options()); }});

const Registration create_registration(
    "notice create",
    {"a road or weather notice to the drivers it concerns: those inside its area now, those "
     "whose assignment passes through it (or runs on its routes, calls at its stops) while it "
     "is valid, and those who enter it later; prints its ID and the drivers targeted",
     "notice create --category C --title TEXT --short TEXT --until T [--from T] "
     "(--area FILE [--buffer M] | --route CODE | --stop CODE ...) [--severity N] [--text TEXT]",
     create, [] { return cli::describe(create_options()); }});
const Registration withdraw_registration(
    "notice withdraw",
    {"withdraws a notice: never sent to those not reached yet; those who got it are told",
     "notice withdraw ID [--reason TEXT]", withdraw,
     [] { return cli::describe(withdraw_options()); }});
const Registration list_registration(
    "notice list",
    {"the notices in force now (or valid in a period), with their deliveries by state",
     "notice list [--from T --to T] [--format csv]", list,
     [] { return cli::describe(list_options()); }});
const Registration show_registration(
    "notice show",
    {"one notice and its delivery to each driver: rule, state, times, failure",
     "notice show ID [--format csv]", show, [] { return cli::describe(show_options()); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
