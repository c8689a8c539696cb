#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pqxx/pqxx>

#include "geo/batch.hpp"

/// The register of the fleet in PostGIS: vehicles (fleet.vehicles), their trackers
/// (fleet.devices), drivers (fleet.drivers) and named groups of vehicles
/// (fleet.vehicle_groups). Plain structs in; every change is one transaction, journalled
/// through geo::record with the ids it concerns; a refused change stores nothing and says why,
/// naming the field (as the CSV columns name it) and what is wanted. Text is trimmed of
/// surrounding blanks before it is checked. The *s functions (add_vehicles, ...) store a batch
/// all or none and report every problem of every record (geo::BatchError); the others throw
/// InputError. Vehicle models and their fuel norms are kept by waybills/models.hpp.
namespace fleet::dispatch {

/// The vehicle classes (fleet.vehicles.vehicle_class), which select the fuel-norm formula.
inline constexpr std::string_view vehicle_classes[] = {"car", "bus", "truck", "dump_truck",
                                                       "special"};
/// The device protocols a tracker may speak (fleet.devices.protocol).
inline constexpr std::string_view device_protocols[] = {"teltonika", "gt06", "osmand", "native"};

/// Fields of a vehicle; an absent one is left as it is (or its default, when adding). In a
/// change, an empty text clears the field (make_model, garage_number, fuel_grade, region,
/// built_on).
struct VehicleFields {
    /// One of `vehicle_classes`. Default when adding: the model's class, else car.
    std::optional<std::string> vehicle_class{};
    /// A make and model of fleet.vehicle_models (its norms are the vehicle's); the vehicle's
    /// class must be the model's.
    std::optional<std::string> make_model{};
    std::optional<std::string> garage_number{};
    /// As the waybills name it ("AI-92", "diesel").
    std::optional<std::string> fuel_grade{};
    /// For the winter and city norm corrections (fleet.fuel_corrections.region).
    std::optional<std::string> region{};
    /// YYYY-MM-DD, not in the future: the age correction.
    std::optional<std::string> built_on{};
    /// The odometer's counter: a power of ten from 10 000 (a 99 999 km counter is 100 000).
    /// Default 1 000 000.
    std::optional<std::int64_t> odometer_capacity_km{};
    /// Names of existing groups; replaces the vehicle's memberships.
    std::optional<std::vector<std::string>> groups{};
    /// An inactive vehicle keeps its history and its devices; default true.
    std::optional<bool> active{};
};

struct NewVehicle {
    /// The registration plate: 1–32 characters, no control characters, no comma.
    std::string registration{};
    VehicleFields fields{};
};

struct VehicleChange {
    /// The vehicle, by its registration.
    std::string registration{};
    /// A new registration plate (re-registration, or naming a vehicle that ingest registered
    /// as "unregistered <identifier>").
    std::optional<std::string> new_registration{};
    VehicleFields fields{};
};

/// A vehicle as registered.
struct Vehicle {
    std::int64_t vehicle_id = 0;
    std::string registration, vehicle_class, make_model, garage_number, fuel_grade, region;
    std::string built_on;  ///< YYYY-MM-DD or empty
    std::int64_t odometer_capacity_km = 0;
    bool active = true;
    std::vector<std::string> groups;   ///< by name
    std::vector<std::string> devices;  ///< identifiers
    bool auto_registered = false;      ///< created by ingest for an unknown device
};

/// Which vehicles to list; absent or empty fields match all.
struct VehicleFilter {
    std::string group{};
    std::string vehicle_class{};
    std::optional<bool> active{};
};

/// Registers a vehicle; journalled ("vehicle added"). Returns its id. Refused: a registration
/// already registered, an unknown class, model or group, a class other than the model's, a
/// malformed or future date, a capacity that is not a power of ten.
std::int64_t add_vehicle(pqxx::connection& conn, const NewVehicle& vehicle,
                         const std::string& actor);
/// Registers many vehicles, all or none (a registration twice in the batch is refused too).
std::vector<std::int64_t> add_vehicles(pqxx::connection& conn,
                                       const std::vector<NewVehicle>& vehicles,
                                       const std::string& actor,
                                       const geo::BatchOptions& options = {});
/// Changes the fields given; journalled ("vehicle changed", each field from and to). Returns
/// false when nothing would change (nothing journalled). Refused as add_vehicle, and for an
/// unknown vehicle; a new model of another class changes the class with it, unless a class is
/// given too.
bool change_vehicle(pqxx::connection& conn, const VehicleChange& change, const std::string& actor);
/// Removes a vehicle added by mistake (its devices first: move or remove them). Refused, naming
/// what it has, when the vehicle has history: positions, waybills, assignments, events, fuel
/// receipts, odometer acts, shift results, notices; deactivate it instead
/// (`change_vehicle` with active = false). Journalled ("vehicle removed"; the entry keeps the
/// id in its details, the journal's link to the vehicle goes with it).
void remove_vehicle(pqxx::connection& conn, const std::string& registration,
                    const std::string& actor);
/// The vehicles by registration.
std::vector<Vehicle> list_vehicles(pqxx::connection& conn, const VehicleFilter& filter = {});
/// The id of the vehicle with this registration; InputError when there is none.
std::int64_t vehicle_id(pqxx::transaction_base& tx, const std::string& registration);

/// A tracker (or an in-cab terminal) of a vehicle.
struct NewDevice {
    /// As the device sends it: teltonika, a 15-digit IMEI; gt06, the IMEI of its login (15 or
    /// 16 digits); osmand, its `id` (1–128 bytes); native, the terminal's device_id (1–128
    /// bytes); no control characters.
    std::string identifier{};
    /// One of `device_protocols`: the identifier is bound to it.
    std::string protocol{};
    /// The vehicle's registration.
    std::string vehicle{};
};

/// A registered device.
struct Device {
    std::int64_t device_id = 0;
    std::string identifier, protocol, vehicle;  ///< vehicle: its registration
    std::string registered_at;                  ///< UTC, ISO 8601
    bool auto_registered = false;
};

/// A device that connected but is not registered (fleet.unknown_devices, kept by ingest).
struct UnknownDevice {
    std::string identifier, protocol, peer_address, reason;
    std::string first_seen, last_seen;  ///< UTC, ISO 8601
    std::int64_t attempts = 0;
};

/// Registers a device on a vehicle; journalled ("device added"). Returns its id. Refused: an
/// identifier already registered (the message names its vehicle), an unknown protocol or
/// vehicle, an identifier that is not what the protocol sends.
std::int64_t add_device(pqxx::connection& conn, const NewDevice& device, const std::string& actor);
/// Registers many devices, all or none.
std::vector<std::int64_t> add_devices(pqxx::connection& conn, const std::vector<NewDevice>& devices,
                                      const std::string& actor,
                                      const geo::BatchOptions& options = {});
/// Moves a device to another vehicle; journalled ("device moved") on the vehicle it moves to,
/// with both in details.vehicle_ids, where geo::read finds it for either. False when it is on
/// that vehicle already. Refused for an unknown device or vehicle.
bool move_device(pqxx::connection& conn, const std::string& identifier, const std::string& vehicle,
                 const std::string& actor);
/// Unregisters a device (the positions it sent stay with its vehicle); journalled. Refused for
/// an unknown device and for one that is a driver's terminal (naming the driver).
void remove_device(pqxx::connection& conn, const std::string& identifier, const std::string& actor);
/// The registered devices by identifier; `vehicle` (a registration) narrows to one vehicle.
std::vector<Device> list_devices(pqxx::connection& conn, const std::string& vehicle = "");
/// The devices refused at login (fleet.unknown_devices, kept by ingest), most recent first;
/// those registered since for that protocol are left out.
std::vector<UnknownDevice> list_unknown_devices(pqxx::connection& conn);

/// Fields of a driver; an absent one is left as it is. In a change, an empty text clears it
/// (licence fields, terminal).
struct DriverFields {
    /// Required when adding; 1–200 characters.
    std::optional<std::string> full_name{};
    /// The driving licence: series ("77 12"), number ("345678"), issue date (YYYY-MM-DD, not
    /// in the future). A waybill cannot be accepted without all three.
    std::optional<std::string> licence_series{};
    std::optional<std::string> licence_number{};
    std::optional<std::string> licence_issued_on{};
    /// The identifier of a registered device: the in-cab terminal the driver uses.
    std::optional<std::string> terminal{};
    std::optional<bool> active{};
};

struct NewDriver {
    /// The personnel number, unique: how commands, waybills and assignments name the driver.
    std::string personnel_number{};
    DriverFields fields{};
};

struct DriverChange {
    /// The driver: personnel number, or the full name of one active driver.
    std::string driver{};
    std::optional<std::string> new_personnel_number{};
    DriverFields fields{};
};

/// A registered driver.
struct Driver {
    std::int64_t driver_id = 0;
    std::string personnel_number, full_name, licence_series, licence_number, licence_issued_on;
    std::string terminal;  ///< device identifier or empty
    bool active = true;
};

/// Registers a driver; journalled ("driver added"). Returns the id. Refused: a personnel number
/// already registered, no full name, a malformed or future licence date, an unknown terminal.
std::int64_t add_driver(pqxx::connection& conn, const NewDriver& driver, const std::string& actor);
/// Registers many drivers, all or none.
std::vector<std::int64_t> add_drivers(pqxx::connection& conn, const std::vector<NewDriver>& drivers,
                                      const std::string& actor,
                                      const geo::BatchOptions& options = {});
/// Changes the fields given; journalled ("driver changed"). False when nothing would change.
bool change_driver(pqxx::connection& conn, const DriverChange& change, const std::string& actor);
/// Removes a driver registered by mistake. Refused, naming what they have, when the driver has
/// history (waybills, assignments, events, shift results, notices): deactivate instead.
void remove_driver(pqxx::connection& conn, const std::string& driver, const std::string& actor);
/// The drivers by personnel number; `active` narrows to active or inactive ones.
std::vector<Driver> list_drivers(pqxx::connection& conn, std::optional<bool> active = {});
/// The id of a driver by personnel number, or by the full name of exactly one active driver;
/// InputError when there is none or the name is ambiguous.
std::int64_t driver_id(pqxx::transaction_base& tx, const std::string& driver);

/// A named group of vehicles (for the API's permissions).
struct Group {
    std::string name, description;
    std::vector<std::string> vehicles;  ///< registrations
};

/// Creates a group; journalled ("group added"). The name: 1–64 characters, no control
/// characters, no comma. Refused when it exists.
void add_group(pqxx::connection& conn, const std::string& name, const std::string& description,
               const std::string& actor);
/// Removes a group and its memberships (the vehicles stay); journalled with the members it had.
void remove_group(pqxx::connection& conn, const std::string& name, const std::string& actor);
/// The groups by name, with their members.
std::vector<Group> list_groups(pqxx::connection& conn);

/// Vehicles to add to a group and to take out of it, by registration.
struct GroupMembersChange {
    std::string group{};
    std::vector<std::string> add{}, remove{};
};

struct GroupMembersChanged {
    std::size_t added = 0, removed = 0;  ///< members already there, or not there, count not
};

/// Adds and removes members in one transaction; journalled ("group members changed", the
/// registrations added and removed, their ids in details.vehicle_ids) when anything changed.
/// Refused, naming every unknown registration, for an unknown group or vehicle, or a vehicle both
/// added and removed.
GroupMembersChanged change_group_members(pqxx::connection& conn, const GroupMembersChange& change,
                                         const std::string& actor);

}  // namespace fleet::dispatch
