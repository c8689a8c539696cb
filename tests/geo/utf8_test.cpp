#include <doctest/doctest.h>

#include "geo/utf8.hpp"

using namespace fleet;

TEST_CASE("UTF-8: well-formed text, and what RFC 3629 refuses") {
    CHECK(geo::is_valid_utf8("plain \xC3\xBC \xE2\x82\xAC \xF0\x9F\x9A\x97"));
    CHECK_FALSE(geo::is_valid_utf8("\xC3"));
    CHECK_FALSE(geo::is_valid_utf8("\xC0\xAF"));          // overlong '/'
    CHECK_FALSE(geo::is_valid_utf8("\xED\xA0\x80"));      // surrogate
    CHECK_FALSE(geo::is_valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
    CHECK(geo::is_valid_utf8(""));
    CHECK(geo::utf8_sequence_length("a\xC3\xBC", 0) == 1);
    CHECK(geo::utf8_sequence_length("a\xC3\xBC", 1) == 2);
    CHECK(geo::utf8_sequence_length("\xF0\x9F\x9A\x97", 0) == 4);
    CHECK(geo::utf8_sequence_length("\xE2\x82", 0) == 0);  // cut off
    CHECK(geo::utf8_sequence_length("\xFF", 0) == 0);
}

TEST_CASE("ASCII transliteration for text-command devices: Cyrillic as ICAO Doc 9303 writes it") {
    CHECK(geo::ascii_transliteration("Гололёд на мосту") == "Gololed na mostu");
    CHECK(geo::ascii_transliteration("Щёлковское шоссе перекрыто") ==
          "Shchelkovskoe shosse perekryto");
    // A letter written with several: capitals among capitals, else capitalised.
    CHECK(geo::ascii_transliteration("ЖКХ Жуковка ЩИТ Ж") == "ZHKKH Zhukovka SHCHIT Zh");
    CHECK(geo::ascii_transliteration("Объезд — ул. Ленина, №5 «Юг»") ==
          "Obieezd - ul. Lenina, No5 \"Iug\"");
    CHECK(geo::ascii_transliteration("Съезд, Ульяновск, Яуза, Ёлки, Хабаровск, Цна, Чита") ==
          "Sieezd, Ulianovsk, Iauza, Elki, Khabarovsk, Tsna, Chita");
    CHECK(geo::ascii_transliteration("Київ, Ґанок, Єва, Ўзда") == "Kiiv, Ganok, Ieva, Uzda");
    CHECK(geo::ascii_transliteration("Café Größe Ærø") == "Cafe Grosse AEro");
    CHECK(geo::ascii_transliteration("−5 °C… ‘ok’") == "-5 degC... 'ok'");
    // Control characters a space; what has no ASCII form, and bytes that are not UTF-8, "?".
    CHECK(geo::ascii_transliteration("line\none\ttab") == "line one tab");
    CHECK(geo::ascii_transliteration("\xF0\x9F\x9A\x97 \xE8\xB7\xAF \xC3 x\xFF") == "? ? ? x?");
    CHECK(geo::ascii_transliteration("ѓ ђ") == "? ?");  // Cyrillic letters ICAO leaves out
    CHECK(geo::ascii_transliteration("") == "");
    const std::string plain = "Road works at km 12 (A-108), 08:00-17:00!";
    CHECK(geo::ascii_transliteration(plain) == plain);
}
