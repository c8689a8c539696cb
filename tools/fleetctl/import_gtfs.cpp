#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <boost/program_options.hpp>

#include "dispatch/gtfs/feed.hpp"
#include "dispatch/gtfs/import.hpp"
#include "geo/error.hpp"
#include "server/database.hpp"
#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/option_errors.hpp"
#include "tools/fleetctl/waybill_cli.hpp"

namespace fleet::tools::fleetctl {

namespace {

namespace po = boost::program_options;
namespace gtfs = dispatch::gtfs;

std::atomic<bool> never_stop{false};

/// The feed name when --feed is not given: the file or folder name without ".zip".
std::string default_feed_name(const std::string& path) {
    std::filesystem::path p(path);
    if (!p.has_filename()) {
        p = p.parent_path();
    }
    std::string name = p.filename().string();
    if (p.extension() == ".zip" || p.extension() == ".ZIP") {
        name = p.stem().string();
    }
    return name;
}

/// Prints "gtfs: <stage> 40%" to stderr at each tenth of a long step.
gtfs::Progress progress_printer() {
    return [last_stage = std::string(), last_tenth = -1](const std::string& stage, std::size_t done,
                                                         std::size_t total) mutable {
        const int tenth = total == 0 ? 10 : static_cast<int>(done * 10 / total);
        if (stage == last_stage && tenth == last_tenth) {
            return;
        }
        last_stage = stage;
        last_tenth = tenth;
        std::cerr << "gtfs: " << stage << " " << tenth * 10 << "% (" << done << " of " << total
                  << ")\n";
    };
}

po::options_description options() {
    po::options_description d("import gtfs PATH");
    d.add_options()("feed", po::value<std::string>()->value_name("NAME"),
                    "name the feed's rows carry; --feed of the other commands reaches them by "
                    "it (default: the file or folder name without .zip; never 'local')")(
        "actor", po::value<std::string>()->value_name("WHO"),
        "who imports, for the journal (default: $USER)");
    return d;
}

int import_gtfs(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "import gtfs";
    po::options_description all;
    all.add(options()).add_options()("path", po::value<std::string>());
    po::positional_options_description positional;
    positional.add("path", 1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw ConfigError(name, explain_option_error(e, all, name));
    }
    const auto text = [&](const char* key) {
        return vm.count(key) ? vm[key].as<std::string>() : std::string();
    };
    const std::string path = text("path");
    std::string feed_name = text("feed");
    std::string actor = text("actor");
    if (path.empty()) {
        throw ConfigError(name, "PATH is required: a GTFS folder or .zip");
    }
    if (feed_name.empty()) {
        feed_name = default_feed_name(path);
    }
    if (actor.empty()) {
        const char* user = std::getenv("USER");
        actor = user != nullptr && *user != '\0' ? user : "fleetctl";
    }

    // The feed is read and validated in full before the database is touched: bad input leaves
    // it unchanged.
    const auto progress = progress_printer();
    const gtfs::Feed feed = gtfs::read_feed(path, progress);
    auto db = server::open_database(config, never_stop);
    const auto report = gtfs::import_feed(
        *db, feed, feed_name,
        {.actor = actor, .source = std::filesystem::absolute(path).string(), .progress = progress});

    std::cout << "feed:               " << report.feed
              << (report.replaced ? " (replaced the earlier import)" : " (new)") << "\n"
              << "agencies:           " << report.agencies << "\n"
              << "stops:              " << report.stops << "\n"
              << "routes:             " << report.routes << "\n"
              << "trips:              " << report.trips << "\n"
              << "stop times:         " << report.stop_times << "\n"
              << "shapes:             " << report.shapes << " (" << report.shapes_from_stops
              << " built from stops)\n"
              << "blocks:             " << report.blocks << "\n"
              << "calendar rows:      " << report.calendars << "\n"
              << "calendar dates:     " << report.calendar_dates << "\n";
    return 0;
}

const Registration registration(
    "import gtfs",
    {"import a GTFS static feed (folder or .zip); it replaces an earlier import of the same name",
     "import gtfs PATH [--feed NAME] [--actor WHO]", import_gtfs,
     [] { return cli::describe(options()); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
