#include "server/api/stream.hpp"

#include <cmath>

#include <nlohmann/json.hpp>

#include "geo/metrics.hpp"
#include "server/api/router.hpp"

namespace fleet::server::api {

namespace {

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

nlohmann::json event_json(const dispatch::Event& e) {
    const char* phase = e.ended_at ? "closed" : e.revision == 0 ? "opened" : "updated";
    return {{"vehicle_id", e.vehicle_id},
            {"kind", dispatch::to_string(e.kind)},
            {"phase", phase},
            {"started_at", geo::iso_utc(e.started_at)},
            {"ended_at", e.ended_at ? nlohmann::json(geo::iso_utc(*e.ended_at)) : nlohmann::json()},
            {"magnitude", e.magnitude},
            {"cause", e.cause},
            {"assignment_id", or_null(e.assignment_id)},
            {"trip_id", or_null(e.trip_id)},
            {"details", e.details},
            {"key", std::to_string(e.key)},
            {"revision", e.revision}};
}

}  // namespace

std::string StreamFilter::key() const {
    std::string k = positions ? "p" : "-";
    k += events ? "e" : "-";
    k += assignments ? "a" : "-";
    k += notices ? "n" : "-";
    k += "|";
    for (const auto& kind : kinds) {
        k += kind + ",";
    }
    k += "|";
    if (vehicles) {
        for (const auto id : *vehicles) {
            k += std::to_string(id) + ",";
        }
    } else {
        k += "*";
    }
    return k;
}

LiveStream::LiveStream(StreamConfig config) : config_(config) {}

void LiveStream::on_committed(std::span<const ingest::StoredPosition> positions) {
    const auto committed = now_ms();
    std::lock_guard lock(pending_mutex_);
    for (const auto& sp : positions) {
        const auto& p = sp.position;
        auto& pending = pending_[sp.vehicle_id];
        if (!pending.fix || pending.fix->device_time < p.device_time) {
            pending.fix = LatestFix{p.device_time, p.longitude_deg, p.latitude_deg, p.speed_kmh,
                                    p.course_deg,  p.ignition,      p.valid};
            pending.committed_ms = committed;
        }
    }
    updates_ += positions.size();
}

void LiveStream::on_event(const dispatch::Event& event) {
    std::lock_guard lock(pending_mutex_);
    auto& events = pending_[event.vehicle_id].events;
    // Coalesced: a later report of the same event replaces the earlier one within a frame.
    for (auto& e : events) {
        if (e.key == event.key) {
            e = event;
            return;
        }
    }
    events.push_back(event);
    ++updates_;
}

void LiveStream::on_assignment(const dispatch::Assignment& a) {
    AssignmentChange c;
    c.assignment_id = a.assignment_id;
    c.service_date = a.service_date;
    c.block = a.block;
    for (const auto& t : a.trips) {
        c.trips.push_back(t.code);
    }
    c.start = a.planned_start;
    c.end = a.planned_end;
    std::lock_guard lock(pending_mutex_);
    assignment_vehicles_[a.assignment_id] = a.vehicle_id;
    pending_[a.vehicle_id].assignments.push_back(std::move(c));
    ++updates_;
}

void LiveStream::on_assignment_withdrawn(std::int64_t assignment_id) {
    std::lock_guard lock(pending_mutex_);
    const auto it = assignment_vehicles_.find(assignment_id);
    if (it == assignment_vehicles_.end()) {
        return;
    }
    AssignmentChange c;
    c.assignment_id = assignment_id;
    c.withdrawn = true;
    pending_[it->second].assignments.push_back(std::move(c));
    assignment_vehicles_.erase(it);
    ++updates_;
}

void LiveStream::on_dispatch(std::int64_t vehicle_id, DispatchUpdate update) {
    std::lock_guard lock(pending_mutex_);
    // Sent again only when the board would show something else: another state, assignment or
    // trip, or a deviation 5 s away from the one sent (subscribers resync from /api/vehicles).
    auto& sent = dispatch_sent_[vehicle_id];
    const bool same =
        sent && sent->adherence == update.adherence &&
        sent->assignment_id == update.assignment_id && sent->trip_code == update.trip_code &&
        sent->off_route == update.off_route &&
        sent->deviation_s.has_value() == update.deviation_s.has_value() &&
        (!update.deviation_s || std::abs(*sent->deviation_s - *update.deviation_s) < 5);
    if (same) {
        return;
    }
    sent = update;
    pending_[vehicle_id].dispatch = std::move(update);
}

void LiveStream::on_notice_delivery(const dispatch::DeliveryChange& change) {
    std::lock_guard lock(pending_mutex_);
    pending_[change.vehicle_id].deliveries.push_back(change);
    ++updates_;
}

std::uint64_t LiveStream::subscribe(StreamFilter filter,
                                    std::weak_ptr<StreamSubscriber> subscriber) {
    std::lock_guard lock(subscribers_mutex_);
    const auto id = next_id_++;
    auto key = filter.key();
    subscriptions_.emplace(id,
                           Subscription{std::move(filter), std::move(key), std::move(subscriber)});
    return id;
}

void LiveStream::refilter(std::uint64_t id, StreamFilter filter) {
    std::lock_guard lock(subscribers_mutex_);
    if (auto it = subscriptions_.find(id); it != subscriptions_.end()) {
        it->second.key = filter.key();
        it->second.filter = std::move(filter);
    }
}

void LiveStream::unsubscribe(std::uint64_t id) {
    std::lock_guard lock(subscribers_mutex_);
    subscriptions_.erase(id);
}

std::size_t LiveStream::subscribers() const {
    std::lock_guard lock(subscribers_mutex_);
    return subscriptions_.size();
}

void LiveStream::flush(geo::Millis now) {
    std::unordered_map<std::int64_t, Pending> pending;
    {
        std::lock_guard lock(pending_mutex_);
        pending.swap(pending_);
    }
    if (pending.empty()) {
        return;
    }
    // Subscribers grouped by filter, so that each distinct filter's frame is built once.
    std::map<std::string, std::pair<StreamFilter, std::vector<std::shared_ptr<StreamSubscriber>>>>
        groups;
    std::vector<std::uint64_t> gone;
    {
        std::lock_guard lock(subscribers_mutex_);
        for (const auto& [id, s] : subscriptions_) {
            auto subscriber = s.subscriber.lock();
            if (!subscriber) {
                gone.push_back(id);
                continue;
            }
            auto& group = groups[s.key];
            group.first = s.filter;
            group.second.push_back(std::move(subscriber));
        }
        for (const auto id : gone) {
            subscriptions_.erase(id);
        }
    }
    const auto at = geo::iso_utc(now);
    for (auto& [key, group] : groups) {
        const auto& filter = group.first;
        nlohmann::json positions = nlohmann::json::array();
        nlohmann::json events = nlohmann::json::array();
        nlohmann::json assignments = nlohmann::json::array();
        nlohmann::json deliveries = nlohmann::json::array();
        nlohmann::json dispatch = nlohmann::json::array();
        for (const auto& [vehicle, p] : pending) {
            if (filter.vehicles && filter.vehicles->count(vehicle) == 0) {
                continue;
            }
            if (filter.positions && p.fix) {
                positions.push_back({{"vehicle_id", vehicle},
                                     {"time", geo::iso_utc(p.fix->device_time)},
                                     {"lon", p.fix->longitude_deg},
                                     {"lat", p.fix->latitude_deg},
                                     {"speed_kmh", or_null(p.fix->speed_kmh)},
                                     {"course_deg", or_null(p.fix->course_deg)},
                                     {"valid", p.fix->valid},
                                     {"committed_ms", p.committed_ms}});
            }
            if (filter.positions && p.dispatch) {
                const auto& d = *p.dispatch;
                dispatch.push_back({{"vehicle_id", vehicle},
                                    {"adherence", d.adherence},
                                    {"deviation_s", or_null(d.deviation_s)},
                                    {"assignment_id", or_null(d.assignment_id)},
                                    {"route_code", d.route_code},
                                    {"route_short_name", d.route_short_name},
                                    {"trip_code", d.trip_code},
                                    {"block", d.block},
                                    {"off_route", d.off_route}});
            }
            if (filter.assignments) {
                for (const auto& a : p.assignments) {
                    auto time = [](const std::optional<geo::Millis>& t) {
                        return t ? nlohmann::json(geo::iso_utc(*t)) : nlohmann::json();
                    };
                    assignments.push_back({{"assignment_id", a.assignment_id},
                                           {"vehicle_id", vehicle},
                                           {"change", a.withdrawn ? "withdrawn" : "planned"},
                                           {"service_date", a.service_date},
                                           {"block", a.block},
                                           {"trips", a.trips},
                                           {"start", time(a.start)},
                                           {"end", time(a.end)}});
                }
            }
            if (filter.notices) {
                for (const auto& d : p.deliveries) {
                    deliveries.push_back(
                        {{"notice_id", d.notice_id},
                         {"driver_id", d.driver_id},
                         {"vehicle_id", vehicle},
                         {"state", d.state},
                         {"withdrawal_state", d.withdrawal_state.empty()
                                                  ? nlohmann::json()
                                                  : nlohmann::json(d.withdrawal_state)},
                         {"at", geo::iso_utc(d.at)},
                         {"reply",
                          d.reply_kind.empty() ? nlohmann::json() : nlohmann::json(d.reply_kind)},
                         {"reply_text",
                          d.reply_text.empty() ? nlohmann::json() : nlohmann::json(d.reply_text)}});
                }
            }
            if (filter.events) {
                for (const auto& e : p.events) {
                    if (filter.kinds.empty() || filter.kinds.count(dispatch::to_string(e.kind))) {
                        events.push_back(event_json(e));
                    }
                }
            }
        }
        if (positions.empty() && events.empty() && assignments.empty() && deliveries.empty() &&
            dispatch.empty()) {
            continue;
        }
        const auto frame = std::make_shared<const std::string>(
            to_json_text({{"type", "update"},
                          {"at", at},
                          {"positions", std::move(positions)},
                          {"events", std::move(events)},
                          {"assignments", std::move(assignments)},
                          {"deliveries", std::move(deliveries)},
                          {"dispatch", std::move(dispatch)}}));
        ++frames_;
        for (const auto& subscriber : group.second) {
            if (subscriber->queued_bytes() + frame->size() > config_.max_queued_bytes) {
                if (subscriber->drop_slow()) {
                    ++dropped_;
                }
            } else {
                subscriber->send(frame);
            }
        }
    }
}

void LiveStream::write_metrics(std::string& out) const {
    geo::write_family(out, "fleet_api_stream_subscribers", "gauge",
                      "WebSocket subscribers of the live stream",
                      {{"", static_cast<double>(subscribers())}});
    geo::write_family(out, "fleet_api_stream_dropped_total", "counter",
                      "WebSocket subscribers dropped for not keeping up",
                      {{"", static_cast<double>(dropped_.load())}});
    geo::write_family(out, "fleet_api_stream_frames_total", "counter",
                      "frames serialised (once per distinct filter per period)",
                      {{"", static_cast<double>(frames_.load())}});
    geo::write_family(out, "fleet_api_stream_updates_total", "counter",
                      "positions and event reports taken by the stream",
                      {{"", static_cast<double>(updates_.load())}});
}

}  // namespace fleet::server::api
