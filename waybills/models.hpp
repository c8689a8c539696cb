#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "geo/batch.hpp"
#include "waybills/norms.hpp"

/// Vehicle models with their fuel and lubricant norms (fleet.vehicle_models), which the
/// reconciliation applies by the AM-23-r formula of the model's class (norms.hpp). Every change
/// is one transaction, journalled (kind "model"); a refused one stores nothing and names each
/// field at fault, by the column names (base_l_per_100km, heater_l_per_h, ...). Text is trimmed
/// of surrounding blanks.
namespace fleet::waybills {

/// Fields of a model; an absent one is left as it is (or 0, when adding).
struct ModelFields {
    /// car, bus, truck, dump_truck or special; required when adding.
    std::optional<std::string> vehicle_class{};
    /// petrol, diesel or lpg (the maxima of the tonne-km norms depend on it); default diesel.
    std::optional<std::string> fuel_grade{};
    /// Required when adding; positive.
    std::optional<double> base_l_per_100km{};
    std::optional<double> heater_l_per_h{};
    std::optional<double> work_l_per_100tkm{};
    std::optional<double> trailer_l_per_100tkm{};
    std::optional<double> loaded_trip_l{};
    std::optional<double> equipment_l_per_h{};
    std::optional<double> idle_l_per_h{};
    std::optional<double> oil_l_per_100l{};
    std::optional<double> grease_kg_per_100l{};
};

struct NewModel {
    /// Make and model as vehicles name it ("LiAZ 5292"): 1–100 characters, no control
    /// characters, unique whatever its letter case.
    std::string make_model{};
    ModelFields fields{};
};

struct ModelChange {
    std::string make_model{};
    ModelFields fields{};
};

/// A model as stored, with the number of vehicles of that model.
struct VehicleModel {
    std::string make_model;
    std::string fuel_grade;  ///< petrol, diesel or lpg
    ModelNorms norms;        ///< class, fuel and norms
    std::int64_t vehicles = 0;
};

/// Registers a model with its norms; journalled ("model added"). Refused: a model that exists,
/// an unknown class or fuel grade, norms that `model_norm_problems` refuses (each named).
void add_model(pqxx::connection& conn, const NewModel& model, const std::string& actor);
/// Registers many models, all or none.
void add_models(pqxx::connection& conn, const std::vector<NewModel>& models,
                const std::string& actor, const geo::BatchOptions& options = {});
/// Changes the fields given; journalled ("model changed", each field from and to). False when
/// nothing would change. Refused as add_model, for an unknown model, and for a class other than
/// that of vehicles of the model (naming them). New norms apply to every reconciliation from
/// then on; accepted waybills keep the reconciliation they were accepted on.
bool change_model(pqxx::connection& conn, const ModelChange& change, const std::string& actor);
/// The models by name.
std::vector<VehicleModel> list_models(pqxx::connection& conn);

}  // namespace fleet::waybills
