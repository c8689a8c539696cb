#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "geo/error.hpp"

/// Records stored all or none (a CSV import, a list in one API request): every record is checked,
/// every problem of every record is reported in record order, and the batch is stored only when
/// there is none. The register of the fleet and the vehicle models use it.
namespace fleet::geo {

/// One thing wrong with a field of a record: the field as its record (and a CSV header) names
/// it, and what is wrong, with what is wanted.
struct FieldProblem {
    std::string field;  ///< empty when the record as a whole is wrong
    std::string problem;
};

/// The problems of one record, in the order found.
using FieldProblems = std::vector<FieldProblem>;

/// A problem of one record of a batch.
struct RecordProblem {
    std::size_t record = 0;  ///< 0-based position in the batch
    std::string label;       ///< the record as people name it ("vehicle 'A123BC'")
    FieldProblem problem;
};

/// "field: problem; field: problem", as an error message lists them.
inline std::string describe(const FieldProblems& problems) {
    std::string out;
    for (const auto& p : problems) {
        out += (out.empty() ? "" : "; ") + (p.field.empty() ? "" : p.field + ": ") + p.problem;
    }
    return out;
}

/// A batch refused whole: nothing of it was stored. Lists every problem of every record.
class BatchError : public InputError {
  public:
    BatchError(std::vector<RecordProblem> problems, std::size_t records)
        : InputError(message(problems, records)), problems_(std::move(problems)) {}
    /// In record order; within a record, in the order found.
    const std::vector<RecordProblem>& problems() const noexcept { return problems_; }

  private:
    static std::string message(const std::vector<RecordProblem>& problems, std::size_t records) {
        std::string out = std::to_string(problems.size()) + " problem(s) in " +
                          std::to_string(records) + " record(s), nothing stored:";
        for (const auto& p : problems) {
            out += "\n  record " + std::to_string(p.record + 1) + " (" + p.label +
                   "): " + describe({p.problem});
        }
        return out;
    }
    std::vector<RecordProblem> problems_;
};

/// The keys of a batch's records seen so far (registrations, identifiers, ...): a key given
/// twice is a problem of the later record, even when the earlier one is refused and so never
/// stored to clash with.
class BatchKeys {
  public:
    /// True the first time; otherwise false, with a problem for `field` naming the value as
    /// `shown`. An empty key is not remembered (it is a problem of its own).
    bool first(const std::string& key, const std::string& shown, const std::string& field,
               FieldProblems& problems) {
        if (key.empty() || seen_.insert(key).second) {
            return true;
        }
        problems.push_back({field, "'" + shown + "' appears earlier in this batch"});
        return false;
    }

  private:
    std::set<std::string> seen_;
};

/// Called with (records done, records in all) as a batch goes on.
using BatchProgress = std::function<void(std::size_t done, std::size_t total)>;

struct BatchOptions {
    BatchProgress progress{};
    /// Check every record as if storing it, then roll everything back.
    bool dry_run = false;
};

namespace detail {

/// The first line of a database error, without libpq's "ERROR:  " prefix.
inline std::string database_problem(const pqxx::sql_error& e) {
    std::string text = e.what();
    text = text.substr(0, text.find('\n'));
    if (text.rfind("ERROR:  ", 0) == 0) {
        text.erase(0, 8);
    }
    return text;
}

}  // namespace detail

/// Stores `records` in one transaction: `step(tx, record, problems)` checks one record and, when
/// it finds nothing wrong, stores it (journalled) and returns its result; when it adds problems,
/// what it wrote is undone (it runs in a savepoint) and the next record is checked. A step's
/// InputError and the database's refusal of a value count as that record's problem. Returns the
/// results in record order; throws BatchError listing every problem, and nothing is stored, when
/// any record has one (or, with `dry_run`, stores nothing either way).
template <typename Record, typename Step, typename Label>
auto store_all(pqxx::connection& conn, const std::vector<Record>& records, Step&& step,
               Label&& label, const BatchOptions& options = {}) {
    using Result = typename std::invoke_result_t<Step&, pqxx::transaction_base&, const Record&,
                                                 FieldProblems&>::value_type;
    std::vector<Result> results;
    std::vector<RecordProblem> all;
    pqxx::work tx(conn);
    for (std::size_t i = 0; i < records.size(); ++i) {
        FieldProblems problems;
        std::optional<Result> result;
        try {
            pqxx::subtransaction record_tx(tx, "record");
            result = step(record_tx, records[i], problems);
            if (problems.empty()) {
                record_tx.commit();
            }
        } catch (const InputError& e) {
            problems.push_back({"", e.what()});
        } catch (const pqxx::data_exception& e) {
            problems.push_back({"", detail::database_problem(e)});
        } catch (const pqxx::integrity_constraint_violation& e) {
            problems.push_back({"", detail::database_problem(e)});
        }
        if (problems.empty() && result) {
            results.push_back(std::move(*result));
        } else {
            if (problems.empty()) {
                problems.push_back({"", "not stored"});
            }
            for (auto& p : problems) {
                all.push_back({.record = i, .label = label(records[i]), .problem = std::move(p)});
            }
        }
        if (options.progress) {
            options.progress(i + 1, records.size());
        }
    }
    if (!all.empty()) {
        throw BatchError(std::move(all), records.size());
    }
    if (!options.dry_run) {
        tx.commit();
    }
    return results;
}

/// Stores one record in a transaction of its own, as `store_all` does; throws InputError
/// "<label>: field: problem; ..." with every problem of the record, and nothing is stored.
template <typename Record, typename Step, typename Label>
auto store_one(pqxx::connection& conn, const Record& record, Step&& step, Label&& label) {
    using Result = typename std::invoke_result_t<Step&, pqxx::transaction_base&, const Record&,
                                                 FieldProblems&>::value_type;
    try {
        auto results = store_all(conn, std::vector<Record>{record}, step, label);
        // Copied out before the vector goes (std::vector<bool> hands out proxies).
        Result result = results.front();
        return result;
    } catch (const BatchError& e) {
        FieldProblems problems;
        for (const auto& p : e.problems()) {
            problems.push_back(p.problem);
        }
        throw InputError(label(record) + ": " + describe(problems));
    }
}

}  // namespace fleet::geo
