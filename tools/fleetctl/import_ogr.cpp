#include <atomic>
#include <filesystem>
#include <iostream>

#include <boost/program_options.hpp>

#include "dispatch/reference/store.hpp"
#include "geo/error.hpp"
#include "geo/ogr_features.hpp"
#include "server/database.hpp"
#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/option_errors.hpp"
#include "tools/fleetctl/waybill_cli.hpp"

namespace fleet::tools::fleetctl {

namespace {

namespace po = boost::program_options;
namespace reference = dispatch::reference;

std::atomic<bool> never_stop{false};

// What `import routes|zones|stops` share: the file, the name field, the layer and the feed.
struct Common {
    std::string file;
    geo::ReadOptions read;
    reference::ImportOptions import;
};

po::options_description common_options(Common& common) {
    po::options_description options("Options");
    options.add_options()(
        "name-field", po::value(&common.read.name_field),
        "the attribute that names each feature; its value becomes the code (default for GPX and "
        "KML: name)")("layer", po::value(&common.read.layer),
                      "read this layer only (default: every layer that may hold the features)")(
        "feed", po::value(&common.import.feed)->value_name("NAME"),
        feed_help("the feed the rows belong to").c_str());
    return options;
}

// Parses `words`; returns false (after printing) when the command should stop with `code`.
bool parse(const std::string& name, const std::string& usage, const std::vector<std::string>& words,
           po::options_description& options, Common& common, int& code) {
    po::options_description all;
    all.add(options).add_options()("file", po::value(&common.file));
    po::positional_options_description positional;
    positional.add("file", 1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(words).options(all).positional(positional).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << "fleetctl " << name << ": " << explain_option_error(e, all, name)
                  << "\nusage: fleetctl " << usage << "\n";
        code = 2;
        return false;
    }
    if (common.file.empty()) {
        std::cerr << "fleetctl " << name
                  << ": no FILE given (a GeoJSON, KML, GPX, Shapefile or other OGR file)\nusage: "
                     "fleetctl "
                  << usage << "\n";
        code = 2;
        return false;
    }
    // The journal keeps where the file was, whatever the working folder.
    std::error_code ec;
    const auto absolute = std::filesystem::absolute(common.file, ec);
    common.import.source = ec ? common.file : absolute.lexically_normal().string();
    common.import.actor = "fleetctl";
    common.read.progress = [](std::size_t n) { std::cerr << "read " << n << " features\n"; };
    common.import.progress = [](std::size_t n) { std::cerr << "stored " << n << " features\n"; };
    return true;
}

void summary(const std::string& what, const Common& common, const reference::ImportReport& r) {
    std::cout << what << ": " << r.inserted + r.replaced << " imported from '" << common.file
              << "' into feed '" << common.import.feed << "' (" << r.inserted << " new, "
              << r.replaced << " replaced)\n";
}

void add_zone_options(po::options_description& options, std::string& kind,
                      std::string& speed_limit_field) {
    options.add_options()("kind", po::value(&kind)->required()->value_name("K"),
                          "depot, loading_point, speed_zone or area (required)")(
        "speed-limit-field", po::value(&speed_limit_field)->value_name("F"),
        "the attribute holding each zone's speed limit in km/h (required for speed zones)");
}

void add_stop_options(po::options_description& options, double& radius_m) {
    options.add_options()("radius-m", po::value(&radius_m)->default_value(25)->value_name("M"),
                          "arrival radius of every stop, in metres");
}

// The options of `import routes|zones|stops` for their --help.
std::string help(const std::string& what) {
    Common common;
    auto options = common_options(common);
    std::string kind;
    std::string field;
    double radius_m = 0;
    if (what == "zones") {
        add_zone_options(options, kind, field);
    } else if (what == "stops") {
        add_stop_options(options, radius_m);
    }
    return cli::describe(options);
}

const char* const routes_usage = "import routes FILE --name-field F [--layer L] [--feed NAME]";

const Registration import_routes(
    "import routes",
    {"import route lines from a GeoJSON, KML, GPX, Shapefile or other OGR file", routes_usage,
     [](const server::Config& config, const std::vector<std::string>& words) {
         Common common;
         common.read.kind = geo::GeometryKind::line;
         auto options = common_options(common);
         int code = 0;
         if (!parse("import routes", routes_usage, words, options, common, code)) {
             return code;
         }
         // The whole file is read and checked before the database is touched.
         const auto features = geo::read_features(common.file, common.read);
         auto db = server::open_database(config, never_stop);
         summary("routes", common, reference::import_routes(*db, features, common.import));
         return 0;
     },
     [] { return help("routes"); }});

const char* const zones_usage =
    "import zones FILE --name-field F --kind depot|loading_point|speed_zone|area "
    "[--speed-limit-field F] [--layer L] [--feed NAME]";

const Registration import_zones(
    "import zones",
    {"import depots, loading points, speed zones or other areas (polygons) from an OGR file",
     zones_usage,
     [](const server::Config& config, const std::vector<std::string>& words) {
         Common common;
         common.read.kind = geo::GeometryKind::polygon;
         std::string kind_text;
         std::string speed_limit_field;
         auto options = common_options(common);
         add_zone_options(options, kind_text, speed_limit_field);
         int code = 0;
         if (!parse("import zones", zones_usage, words, options, common, code)) {
             return code;
         }
         reference::ZoneKind kind{};
         try {
             kind = reference::zone_kind_from_string(kind_text);
         } catch (const InputError& e) {
             std::cerr << "fleetctl import zones: --kind: " << e.what() << "\n";
             return 2;
         }
         if (kind == reference::ZoneKind::speed_zone && speed_limit_field.empty()) {
             std::cerr << "fleetctl import zones: speed zones need --speed-limit-field (the "
                          "attribute holding each zone's limit in km/h)\n";
             return 2;
         }
         if (!speed_limit_field.empty()) {
             common.read.required_fields.push_back(speed_limit_field);
         }
         const auto features = geo::read_features(common.file, common.read);
         auto db = server::open_database(config, never_stop);
         summary(std::string(reference::to_string(kind)) + " zones", common,
                 reference::import_zones(*db, features, common.import, kind, speed_limit_field));
         return 0;
     },
     [] { return help("zones"); }});

const char* const stops_usage =
    "import stops FILE --name-field F [--radius-m R] [--layer L] [--feed NAME]";

const Registration import_stops(
    "import stops",
    {"import stops (points) from a GeoJSON, KML, GPX, Shapefile or other OGR file", stops_usage,
     [](const server::Config& config, const std::vector<std::string>& words) {
         Common common;
         common.read.kind = geo::GeometryKind::point;
         double radius_m = 25;
         auto options = common_options(common);
         add_stop_options(options, radius_m);
         int code = 0;
         if (!parse("import stops", stops_usage, words, options, common, code)) {
             return code;
         }
         const auto features = geo::read_features(common.file, common.read);
         auto db = server::open_database(config, never_stop);
         summary("stops", common, reference::import_stops(*db, features, common.import, radius_m));
         return 0;
     },
     [] { return help("stops"); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
