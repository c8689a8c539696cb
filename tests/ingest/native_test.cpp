#include <doctest/doctest.h>

#include <chrono>

#include "ingest/decode_error.hpp"
#include "ingest/native/encoder.hpp"
#include "ingest/native/frame.hpp"
#include "ingest/native/handler.hpp"
#include "proto/terminal.pb.h"

// The native terminal protocol (proto/terminal.proto): frames built with the generated code, the
// handler's receipts and the encoder's notices.

using namespace fleet::ingest;
namespace pb = fleet::proto::terminal;

namespace {

Bytes frame_of(const pb::Frame& f) {
    return native::frame(f.SerializeAsString());
}

native::Handler logged_in() {
    native::Handler handler;
    handler.set_logged_in(true);
    return handler;
}

}  // namespace

TEST_CASE("native: NoticeAck{delivered} is a delivered receipt, whatever else it carries") {
    native::Handler handler = logged_in();
    pb::Frame f;
    f.mutable_notice_ack()->set_notice_id(42);
    f.mutable_notice_ack()->set_delivered(true);
    f.mutable_notice_ack()->set_read_at_ms(1234);  // unset by a conforming terminal: ignored
    f.mutable_notice_ack()->set_accepted(true);
    const Step step = handler.on_frame(frame_of(f));
    REQUIRE(step.receipts.size() == 1);
    CHECK(step.receipts[0].notice_id == 42);
    CHECK(step.receipts[0].stage == NoticeReceipt::Stage::delivered);
    CHECK(step.receipts[0].read_at == Millis{});
    CHECK_FALSE(step.receipts[0].accepted);
    CHECK(step.reply.empty());
}

TEST_CASE("native: a NoticeAck without delivered is the driver's read receipt") {
    native::Handler handler = logged_in();
    pb::Frame f;
    f.mutable_notice_ack()->set_notice_id(42);
    f.mutable_notice_ack()->set_read_at_ms(1'767'225'600'000);
    SUBCASE("accepted") {
        f.mutable_notice_ack()->set_accepted(true);
        const Step step = handler.on_frame(frame_of(f));
        REQUIRE(step.receipts.size() == 1);
        CHECK(step.receipts[0].stage == NoticeReceipt::Stage::read);
        CHECK(step.receipts[0].accepted);
        CHECK(step.receipts[0].read_at == Millis(std::chrono::milliseconds(1'767'225'600'000)));
    }
    SUBCASE("only displayed") {
        const Step step = handler.on_frame(frame_of(f));
        REQUIRE(step.receipts.size() == 1);
        CHECK(step.receipts[0].stage == NoticeReceipt::Stage::read);
        CHECK_FALSE(step.receipts[0].accepted);
    }
}

TEST_CASE("native: a withdrawal goes down as a Notice with severity 0") {
    const Bytes bytes =
        native::encode_notice({.kind = DownlinkMessage::Kind::notice, .id = 7, .severity = 0});
    const auto length = native::frame_length(bytes, 1024);
    REQUIRE(length == bytes.size());
    pb::Frame f;
    REQUIRE(f.ParseFromArray(bytes.data() + 1, static_cast<int>(bytes.size() - 1)));
    REQUIRE(f.has_notice());
    CHECK(f.notice().notice_id() == 7);
    CHECK(f.notice().severity() == 0);
}

TEST_CASE("native: a driver's reply to a message is a replied receipt; a bad one is refused") {
    native::Handler handler = logged_in();
    pb::Frame f;
    auto& r = *f.mutable_notice_reply();
    r.set_notice_id(7);
    r.set_kind(pb::NoticeReply::CANNED);
    r.set_text("In 10 min");
    r.set_replied_at_ms(1764662400000);
    Step step = handler.on_frame(frame_of(f));
    REQUIRE(step.receipts.size() == 1);
    CHECK(step.receipts[0].notice_id == 7);
    CHECK(step.receipts[0].stage == NoticeReceipt::Stage::replied);
    CHECK(step.receipts[0].reply == NoticeReceipt::Reply::canned);
    CHECK(step.receipts[0].reply_text == "In 10 min");
    CHECK(step.receipts[0].read_at.time_since_epoch().count() == 1764662400000);
    r.set_kind(pb::NoticeReply::CANNOT_COMPLY);
    r.clear_text();
    step = handler.on_frame(frame_of(f));
    REQUIRE(step.receipts.size() == 1);
    CHECK(step.receipts[0].reply == NoticeReceipt::Reply::cannot_comply);
    // Text that is not UTF-8, or too long for the journal, closes nothing but this frame.
    r.set_text(std::string("\xff\xfe", 2));
    CHECK_THROWS_AS(handler.on_frame(frame_of(f)), DecodeError);
    r.set_text(std::string(501, 'x'));
    CHECK_THROWS_AS(handler.on_frame(frame_of(f)), DecodeError);
}

TEST_CASE("native: a message goes down as a Notice with message set and its replies") {
    DownlinkMessage m;
    m.id = 9;
    m.text = "Call the depot";
    m.message = true;
    m.replies = {"Yes", "In 10 min"};
    const Bytes bytes = native::encode_notice(m);
    REQUIRE(native::frame_length(bytes, 1024) == bytes.size());
    pb::Frame f;
    REQUIRE(bytes.size() < 128);  // a one-byte length prefix
    REQUIRE(f.ParseFromArray(bytes.data() + 1, static_cast<int>(bytes.size() - 1)));
    CHECK(f.notice().message());
    REQUIRE(f.notice().replies_size() == 2);
    CHECK(f.notice().replies(1) == "In 10 min");
}
