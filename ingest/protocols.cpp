#include "ingest/protocols.hpp"

#include "geo/error.hpp"
#include "geo/utf8.hpp"
#include "ingest/gt06/encoder.hpp"
#include "ingest/gt06/handler.hpp"
#include "ingest/native/encoder.hpp"
#include "ingest/native/handler.hpp"
#include "ingest/teltonika/encoder.hpp"
#include "ingest/teltonika/handler.hpp"

namespace fleet::ingest {

const char* to_string(DownlinkResult result) {
    switch (result) {
        case DownlinkResult::written:
            return "written";
        case DownlinkResult::not_connected:
            return "not_connected";
        case DownlinkResult::unsupported:
            return "unsupported";
        case DownlinkResult::failed:
            return "failed";
    }
    return "failed";
}

namespace {

// A text command is plain printable ASCII on the wire for both command protocols: the text is
// transliterated (Cyrillic as ICAO writes it); nothing when it comes to nothing or to more than
// `max` bytes.
std::optional<std::string> command_text(std::string_view text, std::size_t max) {
    auto ascii = geo::ascii_transliteration(text);
    if (ascii.empty() || ascii.size() > max) {
        return std::nullopt;
    }
    return ascii;
}

}  // namespace

const std::vector<ProtocolInfo>& protocols() {
    static const std::vector<ProtocolInfo> all = {
        {"teltonika", 5027, Transport::tcp, "Teltonika Codec 8 / 8 Extended over TCP",
         [] { return std::make_unique<teltonika::Handler>(); },
         [](const DownlinkMessage& m, std::uint16_t) -> std::optional<Bytes> {
             // Codec 12, command type 0x05.
             const auto text = command_text(m.text, teltonika_command_max);
             if (!text) {
                 return std::nullopt;
             }
             return teltonika::encode_command(*text);
         }},
        {"gt06", 5023, Transport::tcp, "GT06 / Concox over TCP",
         [] { return std::make_unique<gt06::Handler>(); },
         [](const DownlinkMessage& m, std::uint16_t serial) -> std::optional<Bytes> {
             // 0x80 online command; the server flag the terminal echoes is the message id.
             const auto text = command_text(m.text, gt06_command_max);
             if (!text) {
                 return std::nullopt;
             }
             return gt06::encode_command(gt06::server_flag_of(m.id), *text, serial);
         }},
        {"osmand",
         5055,
         Transport::http,
         "OsmAnd / Traccar Client over HTTP (GET or POST, query, form or JSON)",
         {},
         {}},
        {"native", 5100, Transport::tcp,
         "the in-cab terminal protocol (proto/terminal.proto) over TCP",
         [] { return std::make_unique<native::Handler>(); },
         [](const DownlinkMessage& m, std::uint16_t) -> std::optional<Bytes> {
             if (m.kind != DownlinkMessage::Kind::notice) {
                 return std::nullopt;  // the terminal shows notices; it runs no commands
             }
             return native::encode_notice(m);
         }},
    };
    return all;
}

const ProtocolInfo* find_protocol(std::string_view name) {
    for (const auto& p : protocols()) {
        if (p.name == name) {
            return &p;
        }
    }
    return nullptr;
}

}  // namespace fleet::ingest
