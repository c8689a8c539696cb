#include "waybills/detail/sql.hpp"

#include "geo/error.hpp"

namespace fleet::waybills::detail {

void throw_input(const pqxx::sql_error& e) {
    std::string message = e.what();
    if (const auto eol = message.find('\n'); eol != std::string::npos) {
        message.resize(eol);
    }
    if (message.rfind("ERROR:", 0) == 0) {
        message.erase(0, message.find_first_not_of(' ', 6));
    }
    throw InputError(message);
}

std::string bigint_array(const std::vector<std::int64_t>& ids) {
    std::string out = "{";
    for (std::size_t i = 0; i < ids.size(); ++i) {
        out += (i ? "," : "") + std::to_string(ids[i]);
    }
    return out + "}";
}

std::string subject(pqxx::transaction_base& tx, std::int64_t waybill_id) {
    const auto r = tx.exec_params(
        "SELECT issuer || '/' || number FROM fleet.waybills"
        " WHERE waybill_id = $1",
        waybill_id);
    if (r.empty()) {
        throw InputError("no waybill " + std::to_string(waybill_id));
    }
    return r[0][0].as<std::string>();
}

}  // namespace fleet::waybills::detail
