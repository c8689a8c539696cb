#include <filesystem>
#include <fstream>
#include <iostream>

#include "geo/error.hpp"
#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/waybill_cli.hpp"
#include "waybills/report.hpp"

namespace fleet::tools::fleetctl {

namespace {

const std::string name = "report waybills";

cli::po::options_description options() {
    namespace po = cli::po;
    po::options_description d("report waybills");
    // clang-format off
    d.add_options()
        ("from", po::value<std::string>()->value_name("DATE"), "first day, YYYY-MM-DD, or a month YYYY-MM (from its first day); waybills whose validity overlaps the period")
        ("to", po::value<std::string>()->value_name("DATE"), "last day, inclusive, or a month YYYY-MM (to its last day)")
        ("format", po::value<std::string>()->default_value("csv")->value_name("F"), "csv (one sheet) or xlsx (all three sheets; needs --output)")
        ("sheet", po::value<std::string>()->value_name("S"), "csv: waybills (default), vehicles or drivers (monthly summaries), receipts (fuel receipts without a waybill)")
        ("output", po::value<std::string>()->value_name("FILE"), "write here (csv: default standard output)");
    // clang-format on
    po::options_description tolerances("Reconciliation");
    cli::add_reconcile_options(tolerances);
    d.add(tolerances);
    return d;
}

// CSV into a file that appears complete or not at all.
void write_csv_file(const std::filesystem::path& path, const waybills::Sheet& sheet) {
    auto partial = path;
    partial += ".partial";
    {
        std::ofstream out(partial, std::ios::binary | std::ios::trunc);
        if (!out) {
            throw waybills::ReportWriteError(path, "cannot create the file");
        }
        waybills::write_csv(out, sheet);
        out.close();
        if (!out) {
            std::error_code ignored;
            std::filesystem::remove(partial, ignored);
            throw waybills::ReportWriteError(path, "write failed");
        }
    }
    std::error_code ec;
    std::filesystem::rename(partial, path, ec);
    if (ec) {
        std::filesystem::remove(partial, ec);
        throw waybills::ReportWriteError(path, ec.message());
    }
}

int run(const server::Config& config, const std::vector<std::string>& args) {
    const auto vm = cli::parse(name, options(), args);
    const auto period = cli::period(vm, name);
    const auto format = vm["format"].as<std::string>();
    const auto output = cli::text(vm, "output");
    const auto sheet_name = cli::text(vm, "sheet");
    if (format != "csv" && format != "xlsx") {
        throw ConfigError(name, "--format must be csv or xlsx, got '" + format + "'");
    }
    if (format == "xlsx" && output.empty()) {
        throw ConfigError(name, "--format xlsx needs --output FILE");
    }
    if (format == "xlsx" && !sheet_name.empty()) {
        throw ConfigError(name, "--sheet is for csv; an xlsx workbook holds every sheet");
    }
    if (!sheet_name.empty() && !waybills::is_report_sheet(sheet_name)) {
        throw ConfigError(name, "--sheet must be waybills, vehicles, drivers or receipts, got '" +
                                    sheet_name + "'");
    }
    const auto tolerances = cli::reconcile_options(vm);
    // A long period is reconciled first: find out now that the file cannot be written there.
    if (!output.empty()) {
        const auto dir = std::filesystem::path(output).parent_path();
        if (!dir.empty() && !std::filesystem::is_directory(dir)) {
            throw waybills::ReportWriteError(output, "no directory '" + dir.string() + "'");
        }
    }
    auto db = cli::open(config);  // the schema up to date before reconcile() connects on its own
    cli::Progress progress;
    const auto results = waybills::reconcile(
        geo::ConnectionFactory(config.database).conninfo("fleetctl"),
        {.from = period.from, .to = period.to, .waybill_ids = {}}, tolerances, progress.callback());
    progress.finish(results.size());
    const auto loose = waybills::receipts_without_waybill(*db, period.from, period.to, tolerances);
    if (format == "xlsx") {
        waybills::write_xlsx(output, waybills::waybill_report(results, loose));
        std::cerr << "wrote " << output << ": " << results.size()
                  << " waybills, monthly summaries per vehicle and per driver, " << loose.size()
                  << " receipts without waybill\n";
        return 0;
    }
    const auto sheet =
        waybills::report_sheet(sheet_name.empty() ? "waybills" : sheet_name, results, loose);
    if (output.empty()) {
        waybills::write_csv(std::cout, sheet);
        std::cout.flush();
        if (!std::cout) {
            throw waybills::ReportWriteError("standard output", "write failed");
        }
    } else {
        write_csv_file(output, sheet);
        std::cerr << "wrote " << output << ": " << sheet.rows.size() << " rows\n";
    }
    return 0;
}

const Registration registration(
    name, {"reconcile a period and write the accountants' report: one row per waybill, monthly "
           "summaries per vehicle and per driver",
           "report waybills --from D --to D [--format csv|xlsx] [--output FILE] [--sheet "
           "waybills|vehicles|drivers|receipts] [reconciliation options]",
           run, [] { return cli::describe(options()); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
