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

ConnectionFactory::ConnectionFactory(DatabaseOptions options) : options_(std::move(options)) {
    check_connection_string(options_.url, "database-url");
}

std::string ConnectionFactory::conninfo(std::string_view application) const {
    auto params = parse_conninfo(options_.url, "database-url");
    auto set = [&params](const std::string& key, const std::string& value) {
        for (auto& p : params) {
            if (p.key == key) {
                p.value = value;
                return;
            }
        }
        params.push_back({key, value});
    };
    if (options_.connect_timeout.count() > 0) {
        set("connect_timeout", std::to_string(options_.connect_timeout.count()));
    }
    if (!application.empty()) {
        set("application_name", std::string(application));
    }
    // Over TCP, a peer that vanished without a reset is noticed by keep-alives, and data it never
    // acknowledges fails the connection (ignored on Unix sockets).
    set("keepalives", "1");
    set("keepalives_idle", "30");
    set("keepalives_interval", "10");
    set("keepalives_count", "3");
    if (options_.statement_timeout.count() > 0) {
        set("tcp_user_timeout", std::to_string(options_.statement_timeout.count()));
        std::string options =
            "-c statement_timeout=" + std::to_string(options_.statement_timeout.count());
        for (const auto& p : params) {
            if (p.key == "options" && !p.value.empty()) {
                options = p.value + " " + options;
            }
        }
        set("options", options);
    }
    return build(params);
}

std::unique_ptr<pqxx::connection> ConnectionFactory::connect(std::string_view application) const {
    try {
        return std::make_unique<pqxx::connection>(conninfo(application));
    } catch (const pqxx::broken_connection& e) {
        std::string reason = e.what();
        while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) {
            reason.pop_back();
        }
        throw DatabaseError("database unreachable at " + redacted(options_.url) + ": " + reason);
    }
}

std::unique_ptr<pqxx::connection> connect_with_retry(const ConnectionFactory& factory,
                                                     std::string_view application,
                                                     const RetryPolicy& policy,
                                                     const Sleeper& sleep) {
    const std::string url = factory.conninfo(application);
    const std::string shown = redacted(factory.options().url);
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
