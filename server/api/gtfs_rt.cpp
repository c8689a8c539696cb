#include "server/api/gtfs_rt.hpp"

#include <google/protobuf/util/json_util.h>

#include <algorithm>

#include "geo/error.hpp"
#include "proto/gtfs-realtime.pb.h"

namespace fleet::server::api {

namespace tr = transit_realtime;

namespace {

std::uint64_t seconds(geo::Millis t) {
    return static_cast<std::uint64_t>(std::max<std::int64_t>(
        0, std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count()));
}

tr::FeedMessage feed(geo::Millis now) {
    tr::FeedMessage m;
    auto* h = m.mutable_header();
    h->set_gtfs_realtime_version("2.0");
    h->set_incrementality(tr::FeedHeader::FULL_DATASET);
    h->set_timestamp(seconds(now));
    return m;
}

std::string encode(const tr::FeedMessage& m, bool json) {
    std::string out;
    if (json) {
        google::protobuf::util::JsonPrintOptions options;
        options.add_whitespace = true;
        options.preserve_proto_field_names = true;
        if (!google::protobuf::util::MessageToJsonString(m, &out, options).ok()) {
            throw Error("a GTFS-realtime feed could not be written as JSON");
        }
    } else if (!m.SerializeToString(&out)) {
        throw Error("a GTFS-realtime feed could not be encoded");
    }
    return out;
}

bool visible(const FeedInput& in, std::int64_t id) {
    return in.visible == nullptr || in.visible->count(id) > 0;
}

// YYYY-MM-DD as GTFS writes a date: YYYYMMDD.
std::string gtfs_date(const std::string& date) {
    std::string out;
    for (const char c : date) {
        if (c != '-') {
            out += c;
        }
    }
    return out;
}

void describe_vehicle(tr::VehicleDescriptor* d, std::int64_t id, const FeedInput& in) {
    d->set_id(std::to_string(id));
    if (const auto it = in.vehicles.find(id); it != in.vehicles.end()) {
        d->set_label(it->second.registration);
        d->set_license_plate(it->second.registration);
    }
}

// The trip being driven, when the state has one.
const dispatch::TripPlan* current_trip(const dispatch::VehicleState& s) {
    if (!s.plan || !s.trip_index || *s.trip_index >= s.plan->trips.size()) {
        return nullptr;
    }
    return &s.plan->trips[*s.trip_index];
}

void describe_trip(tr::TripDescriptor* t, const dispatch::VehicleState& s,
                   const dispatch::TripPlan& trip) {
    t->set_trip_id(trip.code);
    if (!trip.route_code.empty()) {
        t->set_route_id(trip.route_code);
    }
    if (!s.service_date.empty()) {
        t->set_start_date(gtfs_date(s.service_date));
    }
    t->set_schedule_relationship(tr::TripDescriptor::SCHEDULED);
}

}  // namespace

std::string vehicle_positions(const FeedInput& in, bool json) {
    auto m = feed(in.now);
    std::unordered_map<std::int64_t, const dispatch::VehicleState*> states;
    for (const auto& s : in.states) {
        states.emplace(s.vehicle_id, &s);
    }
    std::vector<std::int64_t> ids;
    for (const auto& [id, fix] : in.fixes) {
        // A vehicle registered by ingest since the register was last read: no label yet.
        if (visible(in, id)) {
            ids.push_back(id);
        }
    }
    std::sort(ids.begin(), ids.end());
    for (const auto id : ids) {
        const auto& fix = in.fixes.at(id);
        auto* e = m.add_entity();
        e->set_id("vehicle-" + std::to_string(id));
        auto* v = e->mutable_vehicle();
        describe_vehicle(v->mutable_vehicle(), id, in);
        auto* p = v->mutable_position();
        p->set_latitude(static_cast<float>(fix.latitude_deg));
        p->set_longitude(static_cast<float>(fix.longitude_deg));
        if (fix.course_deg) {
            p->set_bearing(static_cast<float>(*fix.course_deg));
        }
        if (fix.speed_kmh) {
            p->set_speed(static_cast<float>(*fix.speed_kmh / 3.6));
        }
        v->set_timestamp(seconds(fix.device_time));
        if (const auto it = states.find(id); it != states.end()) {
            const auto& s = *it->second;
            if (const auto* trip = current_trip(s)) {
                describe_trip(v->mutable_trip(), s, *trip);
                if (s.next_stop < trip->stops.size()) {
                    const auto& stop = trip->stops[s.next_stop];
                    if (!stop.code.empty()) {
                        v->set_stop_id(stop.code);
                    }
                    v->set_current_status(tr::VehiclePosition::IN_TRANSIT_TO);
                }
            }
        }
    }
    return encode(m, json);
}

std::string trip_updates(const FeedInput& in, bool json) {
    auto m = feed(in.now);
    for (const auto& s : in.states) {
        const auto* trip = current_trip(s);
        if (trip == nullptr || trip->time_windows || !visible(in, s.vehicle_id)) {
            continue;
        }
        auto* e = m.add_entity();
        e->set_id("trip-" + std::to_string(s.vehicle_id) + "-" + trip->code);
        auto* u = e->mutable_trip_update();
        describe_trip(u->mutable_trip(), s, *trip);
        describe_vehicle(u->mutable_vehicle(), s.vehicle_id, in);
        if (s.last_fix_at) {
            u->set_timestamp(seconds(*s.last_fix_at));
        }
        const auto delay_s = s.deviation_s ? static_cast<std::int32_t>(*s.deviation_s) : 0;
        if (s.deviation_s) {
            u->set_delay(delay_s);
        }
        for (std::size_t i = 0; i < trip->stops.size(); ++i) {
            const auto& stop = trip->stops[i];
            const bool passed = i < s.next_stop;
            const bool served = i < s.served.size() && s.served[i];
            if (passed && served) {
                continue;  // done: nothing to predict
            }
            auto* st = u->add_stop_time_update();
            if (!stop.code.empty()) {
                st->set_stop_id(stop.code);
            }
            if (passed) {
                st->set_schedule_relationship(tr::TripUpdate::StopTimeUpdate::SKIPPED);
                continue;
            }
            // The engine's prediction for the stop (dispatch/eta.hpp), when it has one.
            const auto predicted = std::find_if(s.eta.begin(), s.eta.end(),
                                                [i](const auto& e) { return e.stop_index == i; });
            if (predicted != s.eta.end()) {
                const auto arrival = static_cast<std::int64_t>(seconds(predicted->arrival));
                const auto scheduled = static_cast<std::int64_t>(seconds(stop.arrival));
                const auto dwell = static_cast<std::int64_t>(seconds(stop.departure)) - scheduled;
                // An early vehicle waits at a timepoint for its departure time.
                const auto departure =
                    stop.timepoint ? std::max(arrival + dwell,
                                              static_cast<std::int64_t>(seconds(stop.departure)))
                                   : arrival + dwell;
                auto* a = st->mutable_arrival();
                a->set_time(arrival);
                a->set_delay(static_cast<std::int32_t>(arrival - scheduled));
                auto* dep = st->mutable_departure();
                dep->set_time(departure);
                dep->set_delay(static_cast<std::int32_t>(departure - scheduled - dwell));
                st->set_schedule_relationship(tr::TripUpdate::StopTimeUpdate::SCHEDULED);
                continue;
            }
            if (!s.deviation_s) {
                st->set_schedule_relationship(tr::TripUpdate::StopTimeUpdate::NO_DATA);
                continue;
            }
            // The delay now, carried forward; an early vehicle waits at a timepoint.
            const std::int32_t d = stop.timepoint ? std::max(delay_s, 0) : delay_s;
            auto* a = st->mutable_arrival();
            a->set_delay(d);
            a->set_time(static_cast<std::int64_t>(seconds(stop.arrival)) + d);
            auto* dep = st->mutable_departure();
            dep->set_delay(d);
            dep->set_time(static_cast<std::int64_t>(seconds(stop.departure)) + d);
            st->set_schedule_relationship(tr::TripUpdate::StopTimeUpdate::SCHEDULED);
        }
    }
    return encode(m, json);
}

std::string alerts(const std::vector<AlertInput>& notices, geo::Millis now, bool json) {
    auto m = feed(now);
    for (const auto& n : notices) {
        auto* e = m.add_entity();
        e->set_id("notice-" + std::to_string(n.notice_id));
        auto* a = e->mutable_alert();
        auto* period = a->add_active_period();
        period->set_start(seconds(n.valid_from));
        period->set_end(seconds(n.valid_until));
        for (const auto& r : n.routes) {
            a->add_informed_entity()->set_route_id(r);
        }
        for (const auto& st : n.stops) {
            a->add_informed_entity()->set_stop_id(st);
        }
        if (n.routes.empty() && n.stops.empty()) {
            // An area no route or stop of ours crosses: the whole agency's service is told.
            a->add_informed_entity()->set_route_type(3);
        }
        tr::Alert::Cause cause = tr::Alert::UNKNOWN_CAUSE;
        tr::Alert::Cause_Parse(n.cause, &cause);
        a->set_cause(cause);
        tr::Alert::Effect effect = tr::Alert::UNKNOWN_EFFECT;
        tr::Alert::Effect_Parse(n.effect, &effect);
        a->set_effect(effect);
        a->set_severity_level(n.severity >= 3   ? tr::Alert::SEVERE
                              : n.severity == 2 ? tr::Alert::WARNING
                                                : tr::Alert::INFO);
        a->mutable_header_text()->add_translation()->set_text(n.header);
        a->mutable_description_text()->add_translation()->set_text(n.description);
    }
    return encode(m, json);
}

}  // namespace fleet::server::api
