#include <doctest/doctest.h>

#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>

#include "geo/error.hpp"
#include "waybills/table.hpp"

using namespace fleet;
using namespace fleet::waybills;
namespace fs = std::filesystem;

namespace {

// A waybill register as the accountants' report might start.
Sheet waybill_register() {
    return {
        .name = "Waybills",
        .columns = {"Number", "Driver", "Mileage, km", "Fuel norm, L", "Note"},
        .rows = {
            {std::int64_t{17}, "Иванов И., \"Пётр\"", std::int64_t{120}, Decimal{12.6, 2}, Cell{}},
            {std::int64_t{18}, "Smith", std::int64_t{0}, Decimal{-0.001, 2},
             "returned early\nengine fault"},
        }};
}

std::string csv(const Sheet& sheet) {
    std::ostringstream out;
    write_csv(out, sheet);
    return out.str();
}

// A directory of its own under the system's temporary directory, removed afterwards.
struct TempDir {
    fs::path path = fs::temp_directory_path() /
                    ("fleet-table-test-" + std::to_string(static_cast<long>(::getpid())));
    TempDir() {
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
};

// One member of a zip file, as `unzip -p` prints it.
std::string unzip(const fs::path& archive, const std::string& member) {
    const std::string command = "unzip -p '" + archive.string() + "' " + member;
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
    REQUIRE(pipe != nullptr);
    std::string text;
    std::array<char, 4096> buf{};
    std::size_t n = 0;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe.get())) > 0) {
        text.append(buf.data(), n);
    }
    return text;
}

}  // namespace

TEST_CASE("decimals are shown with their decimals, rounded half away from zero") {
    CHECK(format_decimal(12.6, 2) == "12.60");
    CHECK(format_decimal(12.599999999999998, 2) == "12.60");  // 10.08 · 1.25 in binary
    CHECK(format_decimal(0.1 + 0.2, 2) == "0.30");
    CHECK(format_decimal(2.675, 2) == "2.68");  // binary 2.67499999999999982236431605997495353221
    CHECK(format_decimal(-2.675, 2) == "-2.68");
    CHECK(format_decimal(0.5, 0) == "1");
    CHECK(format_decimal(2.5, 0) == "3");
    CHECK(format_decimal(0.005, 2) == "0.01");
    CHECK(format_decimal(0.0049, 2) == "0.00");
    CHECK(format_decimal(99.995, 2) == "100.00");
    CHECK(format_decimal(-0.001, 2) == "0.00");  // no "-0.00"
    CHECK(format_decimal(0, 3) == "0.000");
    CHECK(format_decimal(1e-7, 2) == "0.00");
    CHECK(format_decimal(1234567.891, 1) == "1234567.9");
    CHECK(format_decimal(90.75, 0) == "91");
    CHECK(format_decimal(123456789012.345678, 3) == "123456789012.346");
    CHECK(format_decimal(1e20, 0) == "100000000000000000000");
    CHECK(format_decimal(32.511, 10) == "32.5110000000");
    CHECK_THROWS_WITH_AS(format_decimal(1, 11), "decimals must be within 0..10 (got 11)",
                         InputError);
}

TEST_CASE("CSV: a header row, CRLF records, quoted fields with doubled quotes") {
    CHECK(csv(waybill_register()) ==
          "Number,Driver,\"Mileage, km\",\"Fuel norm, L\",Note\r\n"
          "17,\"Иванов И., \"\"Пётр\"\"\",120,12.60,\r\n"
          "18,Smith,0,0.00,\"returned early\nengine fault\"\r\n");
    const Sheet plain{.name = "s",
                      .columns = {"a", "b", "c"},
                      .rows = {{"x\ry", "say \"hi\"", "=1+2"}, {Cell{}, Cell{}, Cell{}}}};
    CHECK(csv(plain) == "a,b,c\r\n\"x\ry\",\"say \"\"hi\"\"\",'=1+2\r\n,,\r\n");
    const Sheet numbers{
        .name = "n",
        .columns = {"i", "d0", "d3"},
        .rows = {{std::int64_t{-9'000'000'000}, Decimal{1234.5, 0}, Decimal{-0.0005, 3}}}};
    CHECK(csv(numbers) == "i,d0,d3\r\n-9000000000,1235,-0.001\r\n");
}

TEST_CASE(
    "CSV: text a spreadsheet would take for a formula gets a quote; numbers keep their sign") {
    // OWASP's list: = + - @, a tab and a carriage return at the start of a cell.
    const Sheet hostile{
        .name = "s",
        .columns = {"=title", "note", "litres", "count"},
        .rows = {
            {"=HYPERLINK(\"http://x\",\"y\")", "plain", Decimal{-3.5, 2}, std::int64_t{-4}},
            {"+7 495 123-45-67", "@SUM(A1:A2)", Decimal{0, 2}, std::int64_t{0}},
            {"-3.50", "\tcmd", Cell{}, Cell{}},
            {"\r=1", "a=b", Cell{}, Cell{}},
            {"=1,2", "", Cell{}, Cell{}},
        }};
    CHECK(csv(hostile) ==
          "'=title,note,litres,count\r\n"
          "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",plain,-3.50,-4\r\n"
          "'+7 495 123-45-67,'@SUM(A1:A2),0.00,0\r\n"
          "'-3.50,'\tcmd,,\r\n"
          "\"'\r=1\",a=b,,\r\n"
          "\"'=1,2\",,,\r\n");
}

TEST_CASE("round_decimal gives the value format_decimal shows") {
    CHECK(round_decimal(18.449999999999996, 2) == 18.45);
    CHECK(round_decimal(2.675, 2) == 2.68);
    CHECK(round_decimal(-2.675, 2) == -2.68);
    CHECK(round_decimal(12.0499, 1) == 12.0);
    CHECK(round_decimal(-0.001, 2) == 0.0);
    CHECK_THROWS_AS(round_decimal(std::numeric_limits<double>::infinity(), 2), InputError);
}

TEST_CASE("CSV: a malformed sheet is refused before anything is written") {
    auto refused = [](const Sheet& sheet, const std::string& message) {
        std::ostringstream out;
        CHECK_THROWS_WITH_AS(write_csv(out, sheet), message.c_str(), InputError);
        CHECK(out.str().empty());
    };
    Sheet sheet = waybill_register();
    sheet.rows[1].pop_back();
    refused(sheet, "sheet 'Waybills', row 2 has 4 cells for 5 columns");
    sheet = waybill_register();
    sheet.rows[1][1] = std::string("Sm\xFFth");
    refused(sheet, "sheet 'Waybills', row 2, column 2 ('Driver'): the text is not valid UTF-8");
    sheet = waybill_register();
    sheet.rows[0][3] = Decimal{std::numeric_limits<double>::quiet_NaN(), 2};
    refused(sheet, "sheet 'Waybills', row 1, column 4 ('Fuel norm, L'): the number is not finite");
    sheet = waybill_register();
    sheet.rows[0][3] = Decimal{1, -1};
    refused(sheet,
            "sheet 'Waybills', row 1, column 4 ('Fuel norm, L'): decimals must be within 0..10 "
            "(got -1)");
    // An overlong encoding of '/' and a UTF-16 surrogate are not UTF-8 either.
    sheet = waybill_register();
    sheet.rows[0][1] = std::string("\xC0\xAF");
    refused(sheet, "sheet 'Waybills', row 1, column 2 ('Driver'): the text is not valid UTF-8");
    sheet.rows[0][1] = std::string("\xED\xA0\x80");
    refused(sheet, "sheet 'Waybills', row 1, column 2 ('Driver'): the text is not valid UTF-8");
    refused(Sheet{.name = "empty", .columns = {}, .rows = {}}, "sheet 'empty' has no columns");
}

TEST_CASE("XLSX: one worksheet per sheet, numbers as numbers, text as shared strings") {
    TempDir dir;
    const fs::path file = dir.path / "report.xlsx";
    Sheet summary{.name = "Сводка по машинам",  // Cyrillic, 17 characters in 33 bytes
                  .columns = {"Vehicle", "Mileage, km"},
                  .rows = {{"А123ВС 62", Decimal{1234.5, 1}}}};
    write_xlsx(file, {waybill_register(), summary});
    REQUIRE(fs::exists(file));
    CHECK_FALSE(fs::exists(dir.path / "report.xlsx.part"));

    const std::string workbook = unzip(file, "xl/workbook.xml");
    CHECK(workbook.find("<sheet name=\"Waybills\" sheetId=\"1\"") != std::string::npos);
    CHECK(workbook.find("<sheet name=\"Сводка по машинам\" sheetId=\"2\"") != std::string::npos);

    const std::string strings = unzip(file, "xl/sharedStrings.xml");
    CHECK(strings.find("<t>Иванов И., \"Пётр\"</t>") != std::string::npos);
    CHECK(strings.find("<t>returned early\nengine fault</t>") != std::string::npos);

    const std::string sheet1 = unzip(file, "xl/worksheets/sheet1.xml");
    // Header in bold (style 1), frozen below row 1, with an autofilter over the data.
    CHECK(sheet1.find("<c r=\"A1\" s=\"1\" t=\"s\">") != std::string::npos);
    CHECK(sheet1.find("<pane ySplit=\"1\" topLeftCell=\"A2\" activePane=\"bottomLeft\" "
                      "state=\"frozen\"/>") != std::string::npos);
    CHECK(sheet1.find("<autoFilter ref=\"A1:E3\"/>") != std::string::npos);
    // Integers in the General format, decimals with their number format (style 2).
    CHECK(sheet1.find("<c r=\"A2\"><v>17</v></c>") != std::string::npos);
    CHECK(sheet1.find("<c r=\"D2\" s=\"2\"><v>12.6</v></c>") != std::string::npos);
    CHECK(sheet1.find("<c r=\"D3\" s=\"2\"><v>-0.001</v></c>") != std::string::npos);
    CHECK(sheet1.find("<c r=\"B2\" t=\"s\">") != std::string::npos);  // text, not a number
    CHECK(sheet1.find("<c r=\"E2\"") == std::string::npos);           // an empty cell is absent
    // Columns sized to their contents: "Иванов И., \"Пётр\"" is 17 characters, + 1 (the
    // .7109375 is the padding libxlsxwriter adds to every width).
    CHECK(sheet1.find("<col min=\"2\" max=\"2\" width=\"18.7109375\" customWidth=\"1\"/>") !=
          std::string::npos);

    // Column 5 is as wide as the longer line of "returned early\nengine fault", + 1.
    CHECK(sheet1.find("<col min=\"5\" max=\"5\" width=\"15.7109375\" customWidth=\"1\"/>") !=
          std::string::npos);

    // Style 1 is the bold font, style 2 the number format "0.00", style 3 "0.0".
    const std::string styles = unzip(file, "xl/styles.xml");
    CHECK(styles.find("<font><b/>") != std::string::npos);
    CHECK(styles.find("formatCode=\"0.00\"") != std::string::npos);
    const std::string sheet2 = unzip(file, "xl/worksheets/sheet2.xml");
    CHECK(sheet2.find("<c r=\"B2\" s=\"3\"><v>1234.5</v></c>") != std::string::npos);
    CHECK(styles.find("formatCode=\"0.0\"") != std::string::npos);
}

TEST_CASE("XLSX: dates and times are date cells a spreadsheet sorts, not text") {
    TempDir dir;
    const fs::path file = dir.path / "dates.xlsx";
    auto departed = date_cell("2026-11-27");
    departed.wall_ms += (7 * 60 + 30) * 60 * 1000;  // 07:30 on the issuer's clock
    departed.precision = DateTime::Precision::minute;
    const Sheet sheet{.name = "Waybills",
                      .columns = {"Departed (Europe/Moscow)", "Valid from", "Month"},
                      .rows = {{departed, date_cell("2026-11-27"), date_cell("2026-11")}}};
    write_xlsx(file, {sheet});
    const std::string sheet1 = unzip(file, "xl/worksheets/sheet1.xml");
    // Serial numbers (days since 1899-12-30; 07:30 is 0.3125 of a day) with a date style
    // (style 2, 3, 4 after the bold header's 1), never a string ("t=" absent).
    CHECK(sheet1.find("<c r=\"A2\" s=\"2\"><v>46353.3125</v></c>") != std::string::npos);
    CHECK(sheet1.find("<c r=\"B2\" s=\"3\"><v>46353</v></c>") != std::string::npos);
    CHECK(sheet1.find("<c r=\"C2\" s=\"4\"><v>46327</v></c>") != std::string::npos);
    CHECK(sheet1.find("t=\"inlineStr\"") == std::string::npos);
    const std::string styles = unzip(file, "xl/styles.xml");
    CHECK(styles.find("formatCode=\"yyyy-mm-dd hh:mm\"") != std::string::npos);
    CHECK(styles.find("formatCode=\"yyyy-mm-dd\"") != std::string::npos);
    CHECK(styles.find("formatCode=\"yyyy-mm\"") != std::string::npos);
    // The same cells as CSV text, on the wall clock they were given in.
    std::ostringstream out;
    write_csv(out, sheet);
    CHECK(out.str() ==
          "Departed (Europe/Moscow),Valid from,Month\r\n2026-11-27 07:30,2026-11-27,"
          "2026-11\r\n");
}

TEST_CASE("XLSX: errors name the file or the sheet, and leave nothing behind") {
    TempDir dir;
    const fs::path missing_dir = dir.path / "no-such-dir" / "report.xlsx";
    try {
        write_xlsx(missing_dir, {waybill_register()});
        FAIL("no error for a file in a missing directory");
    } catch (const ReportWriteError& e) {
        CHECK(e.path() == missing_dir);
        CHECK(std::string(e.what()) ==
              "cannot write '" + missing_dir.string() +
                  "': Error creating output xlsx file. Usually a permissions error. (No such "
                  "file or directory)");
    }
    CHECK(fs::is_empty(dir.path));

    const fs::path file = dir.path / "report.xlsx";
    Sheet bad_name = waybill_register();
    bad_name.name = "Waybills: March";
    CHECK_THROWS_WITH_AS(write_xlsx(file, {bad_name}),
                         doctest::Contains("sheet name 'Waybills: March': Worksheet name cannot "
                                           "contain invalid characters"),
                         InputError);
    CHECK_THROWS_WITH_AS(
        write_xlsx(file, {waybill_register(), waybill_register()}),
        doctest::Contains("sheet name 'Waybills': Worksheet name is already in use"), InputError);
    bad_name.name = std::string(32, 'x');
    CHECK_THROWS_WITH_AS(write_xlsx(file, {bad_name}), doctest::Contains("31 characters"),
                         InputError);
    CHECK_THROWS_WITH_AS(write_xlsx(file, {}), "an XLSX workbook needs at least one sheet",
                         InputError);
    Sheet short_row = waybill_register();
    short_row.rows[0].pop_back();
    CHECK_THROWS_AS(write_xlsx(file, {short_row}), InputError);
    Sheet too_long = waybill_register();
    too_long.rows[0][4] = std::string(40'000, 'x');
    CHECK_THROWS_WITH_AS(write_xlsx(file, {too_long}),
                         doctest::Contains("sheet 'Waybills', row 1, column 5: String exceeds "
                                           "Excel's limit of 32,767 characters"),
                         InputError);
    CHECK(fs::is_empty(dir.path));
}

TEST_CASE("XLSX: a new report replaces an old file whole") {
    TempDir dir;
    const fs::path file = dir.path / "report.xlsx";
    {
        std::ofstream old(file);
        old << "an older report";
    }
    write_xlsx(file, {waybill_register()});
    CHECK(fs::file_size(file) > 1000);
    CHECK(unzip(file, "xl/workbook.xml").find("Waybills") != std::string::npos);
}
