#pragma once

#include <cstddef>
#include <string>
#include <string_view>

/// UTF-8 as every text from outside is checked: a device's attributes, an HTTP form, a cell of
/// a CSV or XLSX file, a command's argument.
namespace fleet::geo {

/// The length (1–4) of the well-formed UTF-8 sequence that starts at text[i], or 0 when none
/// does: overlong forms, surrogates, code points above U+10FFFF and cut-off sequences are
/// refused (Unicode 15, table 3-7; RFC 3629). `i` must be below text.size().
std::size_t utf8_sequence_length(std::string_view text, std::size_t i);

/// Whether all of `text` is well-formed UTF-8.
bool is_valid_utf8(std::string_view text);

/// The number of code points in `text`; an ill-formed byte counts as one.
std::size_t utf8_length(std::string_view text);

/// A text an operator typed (a notice's title, a cargo description): throws InputError naming
/// `field` when it is empty and `required`, not valid UTF-8, holds a control character (a line
/// break or tab only where `lines` allows), or is longer than `max` characters (saying so).
void check_text(const std::string& field, std::string_view text, std::size_t max, bool required,
                bool lines);

/// `text` in printable ASCII, for devices that show nothing else (Teltonika Codec 12 and GT06
/// text commands): Cyrillic as ICAO Doc 9303 (the table of Russian passports, GOST R
/// 52535.1-2006) writes it, a letter written with several ("Ж" ZH) capitalised as its
/// neighbours are ("Жуковка" Zhukovka, "ЖКХ" ZHKKH); Latin letters with marks as their base
/// letters; typographic dashes, quotes, the ellipsis and "№" as their ASCII look-alikes;
/// control characters (line breaks, tabs) as a space; any other character, and a byte that is
/// not UTF-8, as "?".
std::string ascii_transliteration(std::string_view text);

}  // namespace fleet::geo
