#include "tools/fleetsim/link.hpp"

#include <deque>
#include <stdexcept>

#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "geo/error.hpp"
#include "tools/fleetsim/devices/gt06.hpp"
#include "tools/fleetsim/devices/native.hpp"
#include "tools/fleetsim/devices/osmand.hpp"
#include "tools/fleetsim/devices/reply_error.hpp"
#include "tools/fleetsim/devices/teltonika.hpp"

namespace fleet::tools::fleetsim {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using devices::Fix;
using ingest::Bytes;
using ingest::ByteView;

Protocol parse_protocol(std::string_view name) {
    if (name == "teltonika") {
        return Protocol::teltonika;
    }
    if (name == "gt06") {
        return Protocol::gt06;
    }
    if (name == "osmand") {
        return Protocol::osmand;
    }
    if (name == "native") {
        return Protocol::native;
    }
    throw InputError("unknown protocol '" + std::string(name) +
                     "' (teltonika, gt06, osmand or native)");
}

const char* protocol_name(Protocol protocol) {
    switch (protocol) {
        case Protocol::teltonika:
            return "teltonika";
        case Protocol::gt06:
            return "gt06";
        case Protocol::osmand:
            return "osmand";
        case Protocol::native:
            return "native";
    }
    return "?";
}

std::uint16_t default_port(Protocol protocol) {
    switch (protocol) {
        case Protocol::teltonika:
            return 5027;
        case Protocol::gt06:
            return 5023;
        case Protocol::osmand:
            return 5055;
        case Protocol::native:
            return 5100;
    }
    return 0;
}

std::size_t max_records_per_packet(Protocol protocol) {
    switch (protocol) {
        case Protocol::teltonika:
            return devices::teltonika::max_records_per_packet;
        case Protocol::osmand:
        case Protocol::gt06:
            return 1;
        case Protocol::native:
            break;
    }
    return 10000;
}

devices::SentFix sent_fix(Protocol protocol, const devices::Fix& fix) {
    switch (protocol) {
        case Protocol::teltonika:
            return devices::teltonika::sent_fix(fix);
        case Protocol::gt06:
            return devices::gt06::sent_fix(fix);
        case Protocol::osmand:
            return devices::osmand::sent_fix(fix);
        case Protocol::native:
            return devices::native::sent_fix(fix);
    }
    throw std::invalid_argument("unknown protocol");
}

namespace {

// The parts every TCP device protocol shares: a stream with deadlines and a receive buffer that
// is cut into frames by a protocol's length function.
class TcpLink : public Link {
  public:
    TcpLink(asio::any_io_executor executor, std::string device_id, LinkOptions options)
        : stream_(executor), device_id_(std::move(device_id)), options_(options) {}

    void close() override {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.close();
        rx_.clear();
    }

  protected:
    awaitable<void> connect(tcp::endpoint server, Clock::time_point deadline) {
        close();
        stream_.expires_at(deadline);
        co_await stream_.async_connect(server, use_awaitable);
        stream_.socket().set_option(tcp::no_delay(true));
    }

    awaitable<void> write(const Bytes& bytes, Clock::time_point deadline) {
        stream_.expires_at(deadline);
        co_await asio::async_write(stream_, asio::buffer(bytes), use_awaitable);
    }

    // Reads until `length_of(received)` names a complete frame, then removes and returns it.
    template <typename LengthOf>
    awaitable<Bytes> read_frame(LengthOf length_of, Clock::time_point deadline) {
        std::uint8_t chunk[4096];
        while (true) {
            if (auto length = length_of(ByteView(rx_))) {
                Bytes frame(rx_.begin(), rx_.begin() + static_cast<std::ptrdiff_t>(*length));
                rx_.erase(rx_.begin(), rx_.begin() + static_cast<std::ptrdiff_t>(*length));
                co_return frame;
            }
            stream_.expires_at(deadline);
            const std::size_t n =
                co_await stream_.async_read_some(asio::buffer(chunk), use_awaitable);
            rx_.insert(rx_.end(), chunk, chunk + n);
        }
    }

    beast::tcp_stream stream_;
    std::string device_id_;
    LinkOptions options_;
    Bytes rx_;
};

std::optional<std::size_t> exactly(ByteView buffered, std::size_t n) {
    return buffered.size() >= n ? std::optional<std::size_t>(n) : std::nullopt;
}

// What the server sends a Teltonika device after its login: the 4-byte record count of an AVL
// packet, or a Codec 12 command. A count is never 0 (every packet holds a record), so 4 zero
// bytes are the preamble of a command, not an acknowledgement.
std::optional<std::size_t> teltonika_frame_length(ByteView buffered) {
    if (buffered.size() < 4) {
        return std::nullopt;
    }
    if (buffered[0] == 0 && buffered[1] == 0 && buffered[2] == 0 && buffered[3] == 0) {
        return devices::teltonika::command_frame_length(buffered);
    }
    return 4;
}

// Teltonika: IMEI, then 0x01; each AVL packet is answered with its record count (4 bytes);
// Codec 12 commands that come meanwhile are answered with a response.
class TeltonikaLink : public TcpLink {
  public:
    using TcpLink::TcpLink;

    awaitable<void> open(tcp::endpoint server, Clock::time_point deadline) override {
        co_await connect(server, deadline);
        co_await write(devices::teltonika::encode_imei(device_id_), deadline);
        const Bytes reply = co_await read_frame([](ByteView b) { return exactly(b, 1); }, deadline);
        if (reply[0] != 0x01) {
            throw devices::ReplyError("teltonika", "server refused IMEI " + device_id_);
        }
    }

    awaitable<void> write_packet(std::span<const Fix> fixes, Clock::time_point deadline) override {
        std::vector<devices::teltonika::AvlRecord> records;
        records.reserve(fixes.size());
        for (const auto& fix : fixes) {
            records.push_back(devices::teltonika::record_from_fix(fix));
        }
        in_flight_ = fixes.size();
        co_await write(devices::teltonika::encode_packet(records), deadline);
    }

    awaitable<Answer> read_answer(Clock::time_point deadline) override {
        Bytes ack = co_await read_frame(teltonika_frame_length, deadline);
        while (ack.size() != 4) {
            const std::string command = devices::teltonika::decode_command(ack);
            co_await write(devices::teltonika::encode_response("OK " + command), deadline);
            ack = co_await read_frame(teltonika_frame_length, deadline);
        }
        const std::uint32_t count = (std::uint32_t{ack[0]} << 24) | (std::uint32_t{ack[1]} << 16) |
                                    (std::uint32_t{ack[2]} << 8) | std::uint32_t{ack[3]};
        // A count that differs from the packet's makes the device resend the whole packet, so
        // none of its records counts as delivered.
        if (count != in_flight_) {
            co_return Answer{0, "teltonika: ACK for " + std::to_string(count) + " records, sent " +
                                    std::to_string(in_flight_)};
        }
        co_return Answer{in_flight_, std::nullopt};
    }

  private:
    std::size_t in_flight_ = 0;
};

// GT06: login answered by a reply echoing 0x01 and its serial; each location 0x12 is a packet
// of its own, delivered when the server's reply echoing 0x12 and its serial arrives (the server
// answers after the commit, as Concox devices that buffer unsent fixes expect). Online commands
// 0x80 that come meanwhile are answered with 0x21.
class Gt06Link : public TcpLink {
  public:
    using TcpLink::TcpLink;

    awaitable<void> open(tcp::endpoint server, Clock::time_point deadline) override {
        co_await connect(server, deadline);
        const std::uint16_t serial = next_serial();
        co_await write(devices::gt06::encode_login(device_id_, serial), deadline);
        const auto reply =
            devices::gt06::decode_reply(co_await read_frame(devices::gt06::frame_length, deadline));
        if (reply.protocol_number != devices::gt06::msg_login || reply.serial != serial) {
            throw devices::ReplyError(
                "gt06", "login not answered with 0x01 and serial " + std::to_string(serial));
        }
    }

    awaitable<void> write_packet(std::span<const Fix> fixes, Clock::time_point deadline) override {
        if (fixes.size() != 1) {
            throw std::invalid_argument("gt06: one location per packet");
        }
        location_serial_ = next_serial();
        co_await write(devices::gt06::encode_location(fixes.front(), cell_, location_serial_),
                       deadline);
    }

    awaitable<Answer> read_answer(Clock::time_point deadline) override {
        while (true) {
            const Bytes frame = co_await read_frame(devices::gt06::frame_length, deadline);
            const auto reply = devices::gt06::decode_reply(frame);
            if (reply.protocol_number == devices::gt06::msg_online_command) {
                co_await answer_command(devices::gt06::decode_command(frame), deadline);
                continue;
            }
            // Replies to anything else (a late one to an earlier message) are skipped.
            if (reply.protocol_number == devices::gt06::msg_location &&
                reply.serial == location_serial_) {
                co_return Answer{1, std::nullopt};
            }
        }
    }

  private:
    std::uint16_t next_serial() {
        serial_ = static_cast<std::uint16_t>(serial_ + 1);
        return serial_;
    }

    awaitable<void> answer_command(const devices::gt06::Command& command,
                                   Clock::time_point deadline) {
        // One 0x78 0x78 frame holds at most 245 bytes of answer.
        const std::string text = ("OK " + command.text).substr(0, 245);
        co_await write(
            devices::gt06::encode_command_reply(command.server_flag, text, next_serial()),
            deadline);
    }

    devices::gt06::Cell cell_;
    std::uint16_t serial_ = 0;
    std::uint16_t location_serial_ = 0;
};

// Native terminal protocol: Login → LoginResult; PositionBatch → Ack{batch_id, stored}. A Notice
// is acknowledged as delivered at once; the driver reads it read_after later, and the read ack
// goes out before the next packet or after the next answer, whichever comes first once it is
// due (the position loop never waits for it).
class NativeLink : public TcpLink {
  public:
    using TcpLink::TcpLink;

    awaitable<void> open(tcp::endpoint server, Clock::time_point deadline) override {
        co_await connect(server, deadline);
        co_await write(devices::native::encode_login(device_id_), deadline);
        while (true) {
            const auto frame = co_await read_message(deadline);
            if (frame.has_login_result()) {
                if (!frame.login_result().accepted()) {
                    throw devices::ReplyError("native", "login of " + device_id_ + " refused: " +
                                                            frame.login_result().reason());
                }
                co_return;
            }
        }
    }

    awaitable<void> write_packet(std::span<const Fix> fixes, Clock::time_point deadline) override {
        co_await send_due_reads(deadline);
        ++batch_id_;
        in_flight_ = fixes.size();
        co_await write(devices::native::encode_batch(batch_id_, fixes), deadline);
    }

    awaitable<Answer> read_answer(Clock::time_point deadline) override {
        while (true) {
            const auto frame = co_await read_message(deadline);
            if (frame.has_notice()) {
                const auto& notice = frame.notice();
                co_await write(devices::native::encode_notice_delivered(notice.notice_id()),
                               deadline);
                // A withdrawal (severity 0) is removed from the screen: nothing to read.
                if (notice.severity() != 0 && options_.read_after) {
                    pending_reads_.push_back(
                        {Clock::now() + *options_.read_after, notice.notice_id()});
                }
                continue;
            }
            if (!frame.has_ack() || frame.ack().batch_id() != batch_id_) {
                continue;
            }
            co_await send_due_reads(deadline);
            // `stored` positions are committed; fewer than sent is a partial failure.
            const std::size_t stored = std::min<std::size_t>(frame.ack().stored(), in_flight_);
            if (frame.ack().stored() != in_flight_) {
                co_return Answer{stored, "native: batch " + std::to_string(batch_id_) + " stored " +
                                             std::to_string(frame.ack().stored()) + " of " +
                                             std::to_string(in_flight_)};
            }
            co_return Answer{stored, std::nullopt};
        }
    }

  private:
    awaitable<proto::terminal::Frame> read_message(Clock::time_point deadline) {
        const Bytes bytes = co_await read_frame(
            [](ByteView b) -> std::optional<std::size_t> {
                const auto span = devices::native::frame_span(b);
                if (!span) {
                    return std::nullopt;
                }
                return span->header_bytes + span->body_bytes;
            },
            deadline);
        const auto span = devices::native::frame_span(bytes);
        co_return devices::native::decode_frame(ByteView(bytes).subspan(span->header_bytes));
    }

    // The driver reads the notices whose time has come, and accepts each (oldest first: with
    // one read_after for all, the queue is in order of due time).
    awaitable<void> send_due_reads(Clock::time_point deadline) {
        while (!pending_reads_.empty() && pending_reads_.front().due <= Clock::now()) {
            const auto read_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count();
            co_await write(
                devices::native::encode_notice_read(pending_reads_.front().notice_id, read_at_ms),
                deadline);
            pending_reads_.pop_front();
        }
    }

    struct PendingRead {
        Clock::time_point due;
        std::uint64_t notice_id = 0;
    };

    std::uint64_t batch_id_ = 0;
    std::size_t in_flight_ = 0;
    // Kept over reconnections: the driver reads what is on the screen either way.
    std::deque<PendingRead> pending_reads_;
};

// OsmAnd: one GET per fix on a keep-alive connection; delivered when the 200 arrives.
class OsmandLink : public Link {
  public:
    OsmandLink(asio::any_io_executor executor, std::string device_id)
        : stream_(executor), device_id_(std::move(device_id)) {}

    awaitable<void> open(tcp::endpoint server, Clock::time_point deadline) override {
        server_ = server;
        co_await connect(deadline);
    }

    awaitable<void> write_packet(std::span<const Fix> fixes, Clock::time_point deadline) override {
        if (fixes.size() != 1) {
            throw std::invalid_argument("osmand: one fix per request");
        }
        if (!connected_) {
            co_await connect(deadline);
        }
        http::request<http::empty_body> request{
            http::verb::get, devices::osmand::encode_target(device_id_, fixes.front()), 11};
        request.set(http::field::host, server_.address().to_string());
        request.set(http::field::user_agent, "fleetsim");
        request.keep_alive(true);
        stream_.expires_at(deadline);
        co_await http::async_write(stream_, request, use_awaitable);
    }

    awaitable<Answer> read_answer(Clock::time_point deadline) override {
        http::response<http::string_body> response;
        stream_.expires_at(deadline);
        co_await http::async_read(stream_, buffer_, response, use_awaitable);
        if (!response.keep_alive()) {
            close();
        }
        if (response.result() != http::status::ok) {
            co_return Answer{0, "osmand: HTTP " + std::to_string(response.result_int()) + ": " +
                                    response.body().substr(0, 200)};
        }
        co_return Answer{1, std::nullopt};
    }

    void close() override {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.close();
        buffer_.clear();
        connected_ = false;
    }

  private:
    awaitable<void> connect(Clock::time_point deadline) {
        close();
        stream_.expires_at(deadline);
        co_await stream_.async_connect(server_, use_awaitable);
        stream_.socket().set_option(tcp::no_delay(true));
        connected_ = true;
    }

    beast::tcp_stream stream_;
    std::string device_id_;
    tcp::endpoint server_;
    beast::flat_buffer buffer_;
    bool connected_ = false;
};

}  // namespace

std::unique_ptr<Link> make_link(Protocol protocol, asio::any_io_executor executor,
                                std::string device_id, LinkOptions options) {
    switch (protocol) {
        case Protocol::teltonika:
            return std::make_unique<TeltonikaLink>(executor, std::move(device_id), options);
        case Protocol::gt06:
            return std::make_unique<Gt06Link>(executor, std::move(device_id), options);
        case Protocol::osmand:
            return std::make_unique<OsmandLink>(executor, std::move(device_id));
        case Protocol::native:
            return std::make_unique<NativeLink>(executor, std::move(device_id), options);
    }
    throw std::invalid_argument("unknown protocol");
}

}  // namespace fleet::tools::fleetsim
