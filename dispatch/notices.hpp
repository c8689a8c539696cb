#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "dispatch/plan.hpp"

/// Road and weather notices to the drivers they concern (fleet.notices, fleet.notice_deliveries,
/// migration 0016): made and withdrawn by operators (each journalled), targeted in PostGIS, and
/// the state of each delivery as fleetd's notice service sends it (server/notice_service.hpp).
///
/// Targeting. A notice reaches each driver once, whichever rule finds them first:
///  - inside: the vehicle was inside the area (its latest fix, at most `fresh_fix` old) when the
///    notice was made; its driver is the one of the assignment under way (or about to start) on
///    that vehicle, else the driver whose in-cab terminal is the vehicle's device;
///  - assignment: the driver's assignment passes through the area during the validity (each
///    trip's shape, or its route's line, crossing the area; the time it is there interpolated
///    by distance between the trip's first and last stop times; freight: along the route's
///    line between the shift's start and end), or runs a trip of one of the notice's routes, or
///    calls at one of its stops, during the validity;
///  - entered: the vehicle enters the area later while the notice is valid (fleetd checks each
///    committed fix against the areas of the notices in force, target_vehicle()).
/// A vehicle without a driver by either means is not targeted (there is no one to tell).
namespace fleet::dispatch {

/// The PostgreSQL notification channel on which every change of a notice is announced (payload:
/// the notice id), at its commit (a trigger, migration 0016).
inline constexpr const char* notice_channel = "fleet_notices";

/// What a notice is about. Its GTFS-realtime cause and effect follow from it (gtfs_cause(),
/// gtfs_effect()).
enum class NoticeCategory {
    closure,
    road_works,
    accident,
    congestion,
    ice,
    snow,
    fog,
    storm,
    flooding,
    other,
};
const char* to_string(NoticeCategory category);
/// Throws InputError listing the categories when `text` names none.
NoticeCategory parse_category(std::string_view text);
/// "closure, road_works, ..., other".
std::string category_list();
/// The GTFS-realtime Alert cause and effect names ("CONSTRUCTION", "DETOUR", ...).
const char* gtfs_cause(NoticeCategory category);
const char* gtfs_effect(NoticeCategory category);

/// Limits of a notice's texts, in characters (Unicode code points).
///
/// The short text is what every terminal shows: the native terminal shows it as it is (and the
/// title above it); Teltonika (Codec 12) and GT06 (0x80) text commands carry printable ASCII
/// only, at most 160 characters (a GT06 packet's one-byte length bounds its content), so a short
/// text in another script fails on those devices with its reason; OsmAnd phones get it in the
/// body of their next response.
inline constexpr std::size_t notice_title_max = 60;
inline constexpr std::size_t notice_short_text_max = 160;
inline constexpr std::size_t notice_full_text_max = 8000;
/// A line's buffer, in metres.
inline constexpr double notice_buffer_max_m = 5000;
/// The longest validity window.
inline constexpr std::chrono::hours notice_validity_max{24 * 31};

/// A notice as an operator makes it.
struct NoticeDraft {
    NoticeCategory category = NoticeCategory::other;
    int severity = 1;  ///< 1 info, 2 warning, 3 danger
    std::string title{};
    std::string short_text{};  ///< for terminal screens; at most notice_short_text_max
    std::string full_text{};   ///< may be empty
    /// ISO 8601 times with their offset; `valid_until` after `valid_from` and after now.
    std::string valid_from{}, valid_until{};
    /// A GeoJSON geometry (a Polygon or MultiPolygon; a LineString or MultiLineString with
    /// `buffer_m`) in WGS 84, or empty when routes or stops say where.
    std::string area_geojson{};
    double buffer_m = 0;  ///< the half-width around a line (a closed road section), > 0
    /// Route and stop codes of `feed` (default "local").
    std::vector<std::string> routes{}, stops{};
    std::string feed = "local";
    std::string actor{};  ///< who, for the journal
};

/// A dispatcher's message to drivers: to each driver named, the driver of each vehicle named, of
/// each vehicle of a group, and each driver on a route (an assignment under way on it, within an
/// hour). The driver's terminal offers `replies` (canned; acknowledged and cannot comply are
/// always offered), and the driver's answer is kept on the delivery.
struct MessageDraft {
    std::string text{};  ///< at most notice_short_text_max characters
    int severity = 1;
    std::vector<std::string> drivers{};   ///< personnel numbers
    std::vector<std::string> vehicles{};  ///< registrations
    std::vector<std::string> groups{};    ///< group names
    std::vector<std::string> routes{};    ///< route codes of `feed`
    std::string feed = "local";
    std::vector<std::string> replies{};  ///< empty: default_replies()
    std::chrono::minutes validity{12 * 60};
    std::string actor{};
};
/// The canned replies a message offers unless it names its own.
const std::vector<std::string>& default_replies();
inline constexpr std::size_t message_replies_max = 8;
inline constexpr std::size_t reply_text_max = 500;

/// Who a notice reached, and how.
struct Delivery {
    std::int64_t notice_id = 0;
    std::int64_t driver_id = 0;
    std::int64_t vehicle_id = 0;
    std::optional<std::int64_t> assignment_id{};
    std::string rule{};  ///< "inside", "assignment", "entered"
    std::string
        state{};  ///< "queued", "sent", "delivered", "read", "expired", "failed", "withdrawn"
    std::string withdrawal_state{};  ///< "", "queued", "sent", "delivered"
    std::string driver{};            ///< personnel number, or the name without one
    std::string registration{};
    int attempts = 0;
    std::string failure{};
    /// ISO 8601 UTC times ("" when not reached).
    std::string queued_at{}, sent_at{}, delivered_at{}, read_at{}, expired_at{}, failed_at{};
    std::optional<bool> accepted{};
    std::string reply_kind{};  ///< "", "acknowledged", "cannot_comply", "canned", "free_text"
    std::string reply_text{}, replied_at{};
};

/// A notice made: its id and the deliveries the inside and assignment rules queued.
struct NoticeCreated {
    std::int64_t notice_id = 0;
    std::vector<Delivery> deliveries{};
};

/// Validates `draft`, stores it with its area (a line buffered by `buffer_m` on the geography),
/// routes and stops, targets it (inside and assignment rules, as of `now`) and journals "notice
/// created", all in `tx`. Throws InputError naming the field: an unknown category, a severity
/// outside 1..3, an empty or too long title or short text (its limit stated), a too long full
/// text, text that is not valid UTF-8 or holds control characters, a validity that is not two
/// ISO times with offsets, reversed, longer than notice_validity_max or already over, an area
/// that is not GeoJSON or is neither a polygon nor a line (a point, a collection), an invalid
/// polygon (GEOS's reason), a line without a buffer or a polygon with one, a buffer beyond
/// notice_buffer_max_m, coordinates outside WGS 84, no area and no routes or stops; throws
/// NotFoundError for a route or stop code that is not in the feed. Nothing is stored then.
NoticeCreated create_notice(pqxx::transaction_base& tx, const NoticeDraft& draft, Millis now);

/// Stores a message and queues it for its addressees, journalled ("message sent"), in `tx`.
/// Throws InputError naming the field: an empty or too long text (control characters, not
/// UTF-8), no addressee, more than message_replies_max replies or one empty or longer than 40
/// characters, a validity outside 1 minute .. 7 days, a driver who is on no vehicle now (no
/// assignment under way, no terminal), a vehicle without a driver now; NotFoundError for an
/// unknown driver, vehicle, group or route. A group or route whose vehicles have no driver now
/// adds none of them; no addressee found at all is an InputError. Nothing is stored then.
NoticeCreated create_message(pqxx::transaction_base& tx, const MessageDraft& draft, Millis now);

/// Withdraws a notice: deliveries not yet sent become "withdrawn" (never sent), those sent get a
/// withdrawal queued; journals "notice withdrawn". Throws NotFoundError for an unknown id,
/// ConflictError when it is already withdrawn (naming when and by whom).
void withdraw_notice(pqxx::transaction_base& tx, std::int64_t notice_id, const std::string& actor,
                     const std::string& reason, Millis now);

/// A notice as stored, with its area as GeoJSON (its buffer polygon for a line; null when only
/// routes or stops say where).
struct NoticeRecord {
    std::int64_t notice_id = 0;
    std::string kind = "notice";  ///< "notice" or "message"
    std::vector<std::string> replies{};
    NoticeCategory category = NoticeCategory::other;
    int severity = 1;
    std::string title{}, short_text{}, full_text{};
    Millis valid_from{}, valid_until{};
    nlohmann::json area = nullptr;  ///< GeoJSON geometry, WGS 84
    nlohmann::json line = nullptr;  ///< the line as drawn, for a buffered line
    std::optional<double> buffer_m{};
    std::vector<std::string> routes{}, stops{};  ///< codes
    std::vector<std::string> route_gtfs_ids{};   ///< "feed:code" of the routes concerned
    std::string created_by{};
    Millis created_at{};
    std::optional<Millis> withdrawn_at{};
    std::string withdrawn_by{};
    /// Counts of deliveries by state.
    std::map<std::string, std::int64_t> deliveries{};
};

/// One notice; nullopt when there is none with that id.
std::optional<NoticeRecord> load_notice(pqxx::transaction_base& tx, std::int64_t notice_id);

/// Which notices to list: those valid at some moment of [from, to) (ISO times with offsets),
/// or, with `in_force_at`, those valid and not withdrawn then.
struct NoticeQuery {
    std::string kind = "notice";  ///< "notice" or "message"
    std::string from{}, to{};
    std::optional<Millis> in_force_at{};
    bool include_withdrawn = true;
    std::size_t limit = 500;
};
/// Newest first. Throws InputError for unreadable times.
std::vector<NoticeRecord> list_notices(pqxx::transaction_base& tx, const NoticeQuery& query);

/// What a notice concerns, as GTFS names it (route and stop codes), for its GTFS-realtime
/// Alert's informed entities: its own routes and stops, the routes whose line or trips' shapes
/// cross its area, and the stops inside the area.
struct NoticeEntities {
    std::vector<std::string> routes{}, stops{};
};
std::map<std::int64_t, NoticeEntities> notice_entities(pqxx::transaction_base& tx,
                                                       const std::vector<std::int64_t>& ids);

/// The deliveries of a notice, by driver (personnel number).
std::vector<Delivery> notice_deliveries(pqxx::transaction_base& tx, std::int64_t notice_id);

/// The notices in force at `now` that have an area, for the entered rule.
struct NoticeArea {
    std::int64_t notice_id = 0;
    Millis valid_from{}, valid_until{};
    nlohmann::json area;  ///< GeoJSON Polygon or MultiPolygon
};
std::vector<NoticeArea> notice_areas_in_force(pqxx::transaction_base& tx, Millis now);

/// The entered rule for one vehicle that a fix placed inside a notice's area at `at`: queues a
/// delivery to its driver unless the driver has one of that notice. nullopt when nothing was
/// queued (the driver has it already, no driver, the notice is withdrawn or not valid at `at`).
std::optional<Delivery> target_vehicle(pqxx::transaction_base& tx, std::int64_t notice_id,
                                       std::int64_t vehicle_id, Millis at);

/// What to send to a vehicle's device: a notice (or a withdrawal) not yet delivered.
struct Outgoing {
    std::int64_t notice_id = 0;
    std::int64_t driver_id = 0;
    std::int64_t vehicle_id = 0;
    bool withdrawal = false;
    bool message = false;
    std::vector<std::string> replies{};
    int severity = 1;
    std::string title{}, short_text{};
    Millis valid_from{}, valid_until{};
};
/// Deliveries queued (with `include_sent`, also those sent and not yet delivered: a device that
/// connects again gets them again), and withdrawals likewise, of notices still valid at `now`
/// (withdrawn ones: only their withdrawals); of one notice or one vehicle (or all, when both
/// are empty).
std::vector<Outgoing> outgoing(pqxx::transaction_base& tx, std::optional<std::int64_t> notice_id,
                               std::optional<std::int64_t> vehicle_id, Millis now,
                               bool include_sent = false);

/// A step of a delivery, as the notice service learns it.
struct DeliveryStep {
    enum class Kind {
        sent,                  ///< written to the device's connection (attempts + 1)
        delivered,             ///< the device answered (a terminal, Codec 12, GT06)
        read,                  ///< the driver's receipt
        failed,                ///< the device cannot carry it (`failure` says why)
        withdrawal_sent,       ///< the withdrawal written
        withdrawal_delivered,  ///< the device answered the withdrawal
        replied,               ///< the driver answered a message (`reply_kind`, `reply_text`)
    };
    Kind kind = Kind::sent;
    std::int64_t notice_id = 0;
    std::int64_t vehicle_id = 0;
    std::optional<std::int64_t>
        driver_id{};  ///< empty: the delivery of that notice to that vehicle
    Millis at{};
    bool accepted = false;  ///< read: the driver confirmed
    std::string failure{};
    std::string reply_kind{};  ///< replied: "acknowledged", "cannot_comply", "canned", "free_text"
    std::string reply_text{};
};

/// A delivery whose state changed, as applied.
struct DeliveryChange {
    std::int64_t notice_id = 0;
    std::int64_t driver_id = 0;
    std::int64_t vehicle_id = 0;
    std::string state{}, withdrawal_state{};
    Millis at{};
    std::string reply_kind{}, reply_text{};  ///< set when the change is the driver's reply
};

/// Applies the steps in one statement, each only where it moves a delivery forward (queued <
/// sent < delivered < read; a late "sent" does not undo "read"; nothing moves an expired,
/// failed or withdrawn one), and journals each change (kind "notice"). Returns what changed.
std::vector<DeliveryChange> apply_steps(pqxx::transaction_base& tx,
                                        std::span<const DeliveryStep> steps,
                                        const std::string& actor);

/// Marks "expired" the deliveries still queued (never written to a device) of notices whose
/// validity ended by `now`, journalled; returns them.
std::vector<DeliveryChange> expire_deliveries(pqxx::transaction_base& tx, Millis now);

}  // namespace fleet::dispatch
