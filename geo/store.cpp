#include "geo/store.hpp"

#include <libpq-fe.h>

#include <thread>
#include <vector>

#include "geo/error.hpp"
#include "geo/log.hpp"

namespace fleet::geo {

namespace {

struct Param {
    std::string key;
    std::string value;
};

std::vector<Param> parse_conninfo(const std::string& url, const std::string& key) {
    char* err = nullptr;
    PQconninfoOption* options = PQconninfoParse(url.c_str(), &err);
    if (options == nullptr) {
        std::string reason = err != nullptr ? err : "out of memory";
        PQfreemem(err);
        while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) {
            reason.pop_back();
        }
        throw ConfigError(key, "not a valid connection string: " + reason);
    }
    std::vector<Param> params;
    for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
        if (o->val != nullptr) {
            params.push_back({o->keyword, o->val});
        }
    }
    PQconninfoFree(options);
    return params;
}

std::string quote(const std::string& value) {
    std::string out = "'";
    for (char c : value) {
        if (c == '\'' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out + "'";
}

std::string build(const std::vector<Param>& params) {
    std::string out;
    for (const auto& p : params) {
        if (!out.empty()) {
            out += ' ';
        }
        out += p.key + "=" + quote(p.value);
    }
    return out;
}

std::string seconds(std::chrono::milliseconds d) {
    std::string s = std::to_string(d.count() / 1000);
    if (d.count() % 1000 != 0) {
        s += "." + std::to_string(d.count() % 1000 / 100);
    }
    return s;
}

}  // namespace

void check_connection_string(const std::string& url, const std::string& key) {
    parse_conninfo(url, key);
}

std::string with_database(const std::string& url, const std::string& dbname) {
    auto params = parse_conninfo(url, "database-url");
    bool replaced = false;
    for (auto& p : params) {
        if (p.key == "dbname") {
            p.value = dbname;
            replaced = true;
        }
    }
    if (!replaced) {
        params.push_back({"dbname", dbname});
    }
    return build(params);
}

std::string redacted(const std::string& url) {
    auto params = parse_conninfo(url, "database-url");
    std::erase_if(params, [](const Param& p) { return p.key == "password"; });
    return build(params);
}

std::unique_ptr<pqxx::connection> connect_with_retry(const std::string& url,
                                                     const RetryPolicy& policy,
                                                     const Sleeper& sleep) {
    const std::string shown = redacted(url);
    auto delay = policy.first_delay;
    std::chrono::milliseconds waited{0};
    for (int attempt = 1;; ++attempt) {
        std::string reason;
        try {
            return std::make_unique<pqxx::connection>(url);
        } catch (const pqxx::broken_connection& e) {
            reason = e.what();
        }
        while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) {
            reason.pop_back();
        }
        for (auto& c : reason) {
            if (c == '\n' || c == '\t') {
                c = ' ';
            }
        }
        if (policy.give_up_after.count() > 0 && waited >= policy.give_up_after) {
            throw DatabaseError("database unreachable at " + shown + " after " +
                                std::to_string(attempt) + " attempts over " +
                                std::to_string(waited.count() / 1000) + " s: " + reason);
        }
        log::warn("database", "unreachable at " + shown + " (attempt " + std::to_string(attempt) +
                                  "): " + reason + "; retrying in " + seconds(delay) + " s");
        if (!sleep(delay)) {
            throw DatabaseError("stopped while waiting for the database at " + shown);
        }
        waited += delay;
        delay = std::min(delay * 2, policy.max_delay);
    }
}

Sleeper interruptible_sleeper(const std::atomic<bool>& stop) {
    return [&stop](std::chrono::milliseconds delay) {
        const auto until = std::chrono::steady_clock::now() + delay;
        while (std::chrono::steady_clock::now() < until) {
            if (stop.load()) {
                return false;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return !stop.load();
    };
}

}  // namespace fleet::geo
