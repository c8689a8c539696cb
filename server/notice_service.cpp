#include "server/notice_service.hpp"

#include <charconv>

#include "dispatch/speed_limits.hpp"
#include "geo/error.hpp"
#include "geo/log.hpp"
#include "geo/metrics.hpp"
#include "ingest/protocols.hpp"

namespace fleet::server {

using dispatch::DeliveryStep;

namespace {

// Why a text command protocol refused a notice: it transliterates to ASCII, so only its length.
const std::string unsupported_text =
    "the text is too long for the device's text commands once written in ASCII (Codec 12: " +
    std::to_string(ingest::teltonika_command_max) +
    " bytes, GT06: " + std::to_string(ingest::gt06_command_max) + ")";

const char* reply_name(ingest::NoticeReceipt::Reply reply) {
    switch (reply) {
        case ingest::NoticeReceipt::Reply::acknowledged:
            return "acknowledged";
        case ingest::NoticeReceipt::Reply::cannot_comply:
            return "cannot_comply";
        case ingest::NoticeReceipt::Reply::canned:
            return "canned";
        case ingest::NoticeReceipt::Reply::free_text:
            return "free_text";
    }
    return "acknowledged";
}

}  // namespace

NoticeService::NoticeService(geo::ConnectionFactory connections, ingest::Downlink& downlink,
                             Clock clock, NoticeServiceOptions options)
    : connections_(std::move(connections)),
      downlink_(downlink),
      clock_(std::move(clock)),
      options_(options),
      channel_(dispatch::notice_channel,
               [this](const std::string& payload) { notified(payload); }) {}

NoticeService::~NoticeService() {
    stop(std::chrono::milliseconds(0));
}

// A notice id of dispatch::notice_channel; anything else: look at everything.
void NoticeService::notified(const std::string& payload) {
    std::int64_t id = 0;
    const auto [end, ec] = std::from_chars(payload.data(), payload.data() + payload.size(), id);
    std::lock_guard lock(inbox_mutex_);
    if (ec == std::errc() && end == payload.data() + payload.size()) {
        inbox_.notified.insert(id);
    } else {
        resync_ = true;
    }
}

void NoticeService::add_listener(Listener listener) {
    listeners_.push_back(std::move(listener));
}

void NoticeService::wake() {
    channel_.wake();
}

// ---- hand-overs (any thread) -------------------------------------------------------------------

void NoticeService::on_committed(std::span<const ingest::StoredPosition> positions) {
    std::shared_ptr<const std::vector<Area>> areas;
    {
        std::lock_guard lock(areas_mutex_);
        areas = areas_;
    }
    if (areas->empty()) {
        return;
    }
    std::vector<Entered> found;
    for (const auto& p : positions) {
        const auto& fix = p.position;
        if (!fix.valid) {
            continue;  // an invalid fix places the vehicle nowhere
        }
        const geo::LonLat at{fix.longitude_deg, fix.latitude_deg};
        for (const auto& a : *areas) {
            if (fix.device_time < a.valid_from || fix.device_time >= a.valid_until ||
                at.lon_deg < a.min_lon || at.lon_deg > a.max_lon || at.lat_deg < a.min_lat ||
                at.lat_deg > a.max_lat) {
                continue;
            }
            for (const auto& polygon : a.polygons) {
                if (dispatch::contains(polygon, at)) {
                    found.push_back({a.notice_id, p.vehicle_id, fix.device_time});
                    break;
                }
            }
        }
    }
    if (found.empty()) {
        return;
    }
    std::vector<Entered> fresh;
    {
        std::lock_guard lock(considered_mutex_);
        for (const auto& e : found) {
            auto [it, added] = considered_.try_emplace({e.notice_id, e.vehicle_id}, e.at);
            if (added || e.at - it->second >= options_.reconsider) {
                it->second = e.at;
                fresh.push_back(e);
            }
        }
    }
    if (fresh.empty()) {
        return;
    }
    {
        std::lock_guard lock(inbox_mutex_);
        for (const auto& e : fresh) {
            if (inbox_.size() >= options_.max_pending) {
                ++dropped_;
                continue;
            }
            inbox_.entered.push_back(e);
        }
    }
    wake();
}

void NoticeService::push_step(DeliveryStep step) {
    {
        std::lock_guard lock(inbox_mutex_);
        if (inbox_.size() >= options_.max_pending) {
            ++dropped_;  // a flood of receipts harms only what it floods
            return;
        }
        inbox_.steps.push_back(std::move(step));
    }
    wake();
}

void NoticeService::on_receipt(std::int64_t vehicle_id, const ingest::NoticeReceipt& receipt) {
    if (receipt.notice_id > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        ++unmatched_;  // no notice has such an id
        return;
    }
    // The terminal's clock is only believed within reason: never before 2000 nor after now.
    const geo::Millis now = clock_();
    geo::Millis at = receipt.read_at;
    if (receipt.stage == ingest::NoticeReceipt::Stage::delivered ||
        at < geo::Millis(std::chrono::seconds(946684800)) || at > now) {
        at = now;
    }
    DeliveryStep step{.kind = DeliveryStep::Kind::read,
                      .notice_id = static_cast<std::int64_t>(receipt.notice_id),
                      .vehicle_id = vehicle_id,
                      .at = at,
                      .accepted = receipt.accepted};
    switch (receipt.stage) {
        case ingest::NoticeReceipt::Stage::delivered:
            step.kind = DeliveryStep::Kind::delivered;
            break;
        case ingest::NoticeReceipt::Stage::read:
            break;
        case ingest::NoticeReceipt::Stage::replied:
            step.kind = DeliveryStep::Kind::replied;
            step.reply_kind = reply_name(receipt.reply);
            step.reply_text = receipt.reply_text;
            break;
    }
    push_step(std::move(step));
}

void NoticeService::on_connected(std::int64_t vehicle_id) {
    {
        std::lock_guard lock(inbox_mutex_);
        if (inbox_.size() >= options_.max_pending) {
            ++dropped_;
            return;
        }
        inbox_.connected.insert(vehicle_id);
    }
    wake();
}

// ---- the thread -------------------------------------------------------------------------------

bool NoticeService::listen() {
    if (channel_.listening()) {
        return true;
    }
    try {
        channel_.open(connections_, "fleetd notices (listen)");
        resync_ = true;  // whatever was notified before we listened
        return true;
    } catch (const std::exception& e) {
        next_listen_ = std::chrono::steady_clock::now() + options_.retry;
        if (!failing_) {
            log::warn("notices", std::string("notice changes not followed (retried): ") + e.what());
        }
        return false;
    }
}

pqxx::connection& NoticeService::work() {
    if (!work_ || !work_->is_open()) {
        work_.reset();
        work_ = connections_.connect("fleetd notices");
    }
    return *work_;
}

void NoticeService::drop_connections() {
    work_.reset();
    channel_.close();
    resync_ = true;
}

void NoticeService::reload_areas(pqxx::connection& conn) {
    const auto now = clock_();
    std::vector<dispatch::NoticeArea> loaded;
    {
        pqxx::read_transaction tx(conn);
        loaded = dispatch::notice_areas_in_force(tx, now);
    }
    auto areas = std::make_shared<std::vector<Area>>();
    std::set<std::int64_t> ids;
    for (auto& n : loaded) {
        Area a{n.notice_id, n.valid_from, n.valid_until, geo::multipolygon_of_geojson(n.area)};
        for (const auto& polygon : a.polygons) {
            for (const auto& p : polygon.empty() ? geo::Ring{} : polygon.front()) {
                a.min_lon = std::min(a.min_lon, p.lon_deg);
                a.max_lon = std::max(a.max_lon, p.lon_deg);
                a.min_lat = std::min(a.min_lat, p.lat_deg);
                a.max_lat = std::max(a.max_lat, p.lat_deg);
            }
        }
        ids.insert(a.notice_id);
        areas->push_back(std::move(a));
    }
    {
        std::lock_guard lock(areas_mutex_);
        areas_ = std::move(areas);
    }
    // What the entered rule remembers of notices no longer in force goes.
    std::lock_guard lock(considered_mutex_);
    std::erase_if(considered_, [&](const auto& entry) { return !ids.contains(entry.first.first); });
}

void NoticeService::send(const std::vector<dispatch::Outgoing>& messages) {
    const auto now = clock_();
    std::set<std::tuple<std::int64_t, std::int64_t, bool>> this_round;
    for (const auto& o : messages) {
        if (o.valid_until <= now) {
            continue;  // never sent after expiry
        }
        if (!this_round.insert({o.notice_id, o.vehicle_id, o.withdrawal}).second) {
            continue;  // found by two ways in one round (a notification and a reconnect)
        }
        {
            std::lock_guard lock(in_flight_mutex_);
            if (!in_flight_.insert({o.notice_id, o.vehicle_id, o.withdrawal}).second) {
                continue;  // its outcome is still to come
            }
        }
        ingest::DownlinkMessage m;
        m.kind = ingest::DownlinkMessage::Kind::notice;
        m.id = static_cast<std::uint64_t>(o.notice_id);
        m.title = o.title;
        m.valid_from = o.valid_from;
        m.valid_until = o.valid_until;
        // A withdrawal: severity 0 on the native terminal (it removes the notice with that id),
        // a text saying so on the others.
        m.severity = o.withdrawal ? 0 : static_cast<std::uint32_t>(o.severity);
        m.text = o.withdrawal ? "WITHDRAWN: " + o.short_text : o.short_text;
        m.message = o.message && !o.withdrawal;
        if (m.message) {
            m.replies = o.replies;
        }
        downlink_.send(o.vehicle_id, std::move(m), [this, o](ingest::DownlinkResult result) {
            {
                std::lock_guard lock(in_flight_mutex_);
                in_flight_.erase({o.notice_id, o.vehicle_id, o.withdrawal});
            }
            switch (result) {
                case ingest::DownlinkResult::written:
                    push_step({.kind = o.withdrawal ? DeliveryStep::Kind::withdrawal_sent
                                                    : DeliveryStep::Kind::sent,
                               .notice_id = o.notice_id,
                               .vehicle_id = o.vehicle_id,
                               .driver_id = o.driver_id,
                               .at = clock_()});
                    return;
                case ingest::DownlinkResult::unsupported:
                    if (!o.withdrawal) {
                        push_step({.kind = DeliveryStep::Kind::failed,
                                   .notice_id = o.notice_id,
                                   .vehicle_id = o.vehicle_id,
                                   .driver_id = o.driver_id,
                                   .at = clock_(),
                                   .failure = unsupported_text});
                    }
                    return;
                case ingest::DownlinkResult::not_connected:
                case ingest::DownlinkResult::failed:
                    ++not_connected_;  // it waits for the device to connect again
                    return;
            }
        });
    }
}

void NoticeService::publish(const std::vector<dispatch::DeliveryChange>& changes) {
    for (const auto& c : changes) {
        if (!c.reply_kind.empty()) {
            ++replies_;
        }
        if (!c.withdrawal_state.empty()) {
            ++(c.withdrawal_state == "sent" ? withdrawals_sent_ : withdrawals_delivered_);
        } else if (c.state == "sent") {
            ++sent_;
        } else if (c.state == "delivered") {
            ++delivered_;
        } else if (c.state == "read") {
            ++read_;
        } else if (c.state == "failed") {
            ++failed_;
        } else if (c.state == "expired") {
            ++expired_;
        }
        for (const auto& l : listeners_) {
            l(c);
        }
    }
}

void NoticeService::apply(std::vector<DeliveryStep> steps) {
    if (steps.empty()) {
        return;
    }
    std::vector<dispatch::DeliveryChange> changes;
    {
        pqxx::work tx(work());
        changes = dispatch::apply_steps(tx, steps, "dispatch");
        tx.commit();
    }
    publish(changes);
}

void NoticeService::step(std::chrono::milliseconds wait) {
    const auto started = std::chrono::steady_clock::now();
    if (std::string problem; !channel_.take(&problem)) {
        log::warn("notices", "notice changes: connection lost (" + problem + "); reconnecting");
        drop_connections();
    }
    if (!channel_.listening() && started >= next_listen_) {
        listen();
    }
    bool idle = false;
    {
        std::lock_guard lock(inbox_mutex_);
        idle = inbox_.size() == 0 && inbox_.notified.empty() && !resync_;
    }
    if (idle && started < next_sweep_ && started < next_reload_ && !stopping_) {
        const auto until = std::min({next_sweep_, next_reload_, started + wait});
        channel_.wait(std::chrono::duration_cast<std::chrono::milliseconds>(until - started));
        if (!channel_.take()) {
            drop_connections();
        }
    }
    Inbox taken;
    bool resync = false;
    {
        std::lock_guard lock(inbox_mutex_);
        std::swap(taken, inbox_);
        resync = std::exchange(resync_, false);
    }
    try {
        auto& conn = work();
        const auto now = clock_();
        const auto clock_now = std::chrono::steady_clock::now();
        if (resync || !taken.notified.empty() || clock_now >= next_reload_) {
            reload_areas(conn);
            next_reload_ = clock_now + options_.reload;
        }
        // Outcomes and receipts first: what is sent next knows what was confirmed.
        apply(std::move(taken.steps));
        taken.steps.clear();
        std::vector<dispatch::Outgoing> out;
        {
            pqxx::work tx(conn);
            if (resync) {
                out = dispatch::outgoing(tx, std::nullopt, std::nullopt, now);
            } else {
                for (const auto id : taken.notified) {
                    auto some = dispatch::outgoing(tx, id, std::nullopt, now);
                    out.insert(out.end(), some.begin(), some.end());
                }
                for (const auto vehicle : taken.connected) {
                    auto some = dispatch::outgoing(tx, std::nullopt, vehicle, now, true);
                    out.insert(out.end(), some.begin(), some.end());
                }
            }
            for (const auto& e : taken.entered) {
                if (auto d = dispatch::target_vehicle(tx, e.notice_id, e.vehicle_id, e.at)) {
                    ++entered_;
                    auto some = dispatch::outgoing(tx, e.notice_id, e.vehicle_id, now);
                    out.insert(out.end(), some.begin(), some.end());
                }
            }
            tx.commit();
        }
        taken.entered.clear();
        if (clock_now >= next_sweep_) {
            std::vector<dispatch::DeliveryChange> expired;
            {
                pqxx::work tx(conn);
                expired = dispatch::expire_deliveries(tx, now);
                if (!resync) {
                    // What is queued for devices that connected without our noticing.
                    auto queued = dispatch::outgoing(tx, std::nullopt, std::nullopt, now);
                    for (auto& o : queued) {
                        out.push_back(std::move(o));
                    }
                }
                tx.commit();
            }
            publish(expired);
            next_sweep_ = clock_now + options_.sweep;
        }
        send(out);
        if (failing_) {
            log::info("notices", "notices followed again");
            failing_ = false;
        }
    } catch (const std::exception& e) {
        // What was taken is handed back, so that nothing a device said is lost to an outage.
        {
            std::lock_guard lock(inbox_mutex_);
            for (auto& s : taken.steps) {
                if (inbox_.size() < options_.max_pending) {
                    inbox_.steps.push_back(std::move(s));
                }
            }
            for (auto& en : taken.entered) {
                if (inbox_.size() < options_.max_pending) {
                    inbox_.entered.push_back(en);
                }
            }
            inbox_.connected.insert(taken.connected.begin(), taken.connected.end());
            inbox_.notified.insert(taken.notified.begin(), taken.notified.end());
            resync_ = resync_ || resync;
        }
        drop_connections();
        ++failures_;
        throw DatabaseError(std::string("notices: ") + e.what());
    }
}

void NoticeService::run() {
    while (!stopping_) {
        try {
            step(options_.sweep);
        } catch (const std::exception& e) {
            if (!failing_) {
                log::warn("notices", std::string(e.what()) + " (retried)");
            }
            failing_ = true;
            if (!stopping_) {
                channel_.wait(options_.retry);
            }
        }
    }
}

void NoticeService::start() {
    stopping_ = false;
    listen();
    thread_ = std::thread([this] { run(); });
}

void NoticeService::stop(std::chrono::milliseconds deadline) {
    if (!thread_.joinable()) {
        return;
    }
    // One last round applies what devices said before the stop (bounded by the connection's
    // statement timeout); then the thread ends.
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < until) {
        std::lock_guard lock(inbox_mutex_);
        if (inbox_.steps.empty()) {
            break;
        }
        wake();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    stopping_ = true;
    wake();
    thread_.join();
}

NoticeService::Figures NoticeService::figures() const {
    Figures f;
    f.sent = sent_.load();
    f.delivered = delivered_.load();
    f.read = read_.load();
    f.failed = failed_.load();
    f.expired = expired_.load();
    f.withdrawals_sent = withdrawals_sent_.load();
    f.withdrawals_delivered = withdrawals_delivered_.load();
    f.replies = replies_.load();
    f.not_connected = not_connected_.load();
    f.entered = entered_.load();
    f.dropped = dropped_.load();
    f.unmatched = unmatched_.load();
    f.failures = failures_.load();
    return f;
}

void NoticeService::write_metrics(std::string& out) const {
    const auto f = figures();
    const auto d = [](std::uint64_t v) { return static_cast<double>(v); };
    geo::write_family(out, "fleet_notice_deliveries_total", "counter",
                      "Notice deliveries that reached a state",
                      {{geo::label("state", "sent"), d(f.sent)},
                       {geo::label("state", "delivered"), d(f.delivered)},
                       {geo::label("state", "read"), d(f.read)},
                       {geo::label("state", "failed"), d(f.failed)},
                       {geo::label("state", "expired"), d(f.expired)},
                       {geo::label("state", "withdrawal_sent"), d(f.withdrawals_sent)},
                       {geo::label("state", "withdrawal_delivered"), d(f.withdrawals_delivered)}});
    geo::write_family(out, "fleet_notice_replies_total", "counter", "Drivers' replies to messages",
                      {{"", d(f.replies)}});
    geo::write_family(out, "fleet_notice_sends_waiting_total", "counter",
                      "Notice sends that found the device not connected (they wait for it)",
                      {{"", d(f.not_connected)}});
    geo::write_family(out, "fleet_notice_entered_total", "counter",
                      "Deliveries queued because a vehicle entered a notice's area",
                      {{"", d(f.entered)}});
    geo::write_family(out, "fleet_notice_handovers_dropped_total", "counter",
                      "Receipts and checks dropped because the notice service was behind",
                      {{"", d(f.dropped)}});
    geo::write_family(out, "fleet_notice_receipts_unmatched_total", "counter",
                      "Receipts naming no notice", {{"", d(f.unmatched)}});
    geo::write_family(out, "fleet_notice_failures_total", "counter",
                      "Rounds of the notice service that failed (database)", {{"", d(f.failures)}});
}

}  // namespace fleet::server
