#include <doctest/doctest.h>

#include "dispatch/fleet_register.hpp"
#include "server/api/accounts.hpp"
#include "tests/support/db.hpp"

using namespace fleet;
using namespace fleet::server::api;
using namespace std::chrono_literals;

namespace {

std::int64_t count(pqxx::connection& c, const std::string& sql) {
    pqxx::read_transaction tx(c);
    return tx.exec(sql)[0][0].as<std::int64_t>();
}

template <typename F>
void refused(F&& f, const std::string& words) {
    try {
        f();
        FAIL("not refused: " << words);
    } catch (const InputError& e) {
        CHECK_MESSAGE(std::string(e.what()).find(words) != std::string::npos, e.what());
    }
}

}  // namespace

TEST_SUITE("db") {
    TEST_CASE("users: added with a role, passwords kept as Argon2id, every change journalled") {
        test::MigratedDatabase db;
        auto& c = db.conn();
        add_user(c, {.name = "root", .role = Role::admin, .password = "correct horse battery"},
                 "test");
        {
            pqxx::read_transaction tx(c);
            const auto hash =
                tx.exec("SELECT password_hash FROM fleet.users WHERE name = 'root'")[0][0]
                    .as<std::string>();
            CHECK(hash.rfind("$argon2id$", 0) == 0);
            CHECK(hash.find("correct horse") == std::string::npos);
        }
        refused([&] { add_user(c, {.name = "root", .role = Role::viewer}, "test"); },
                "exists already");
        refused([&] { add_user(c, {.name = "bad name", .role = Role::viewer}, "test"); },
                "is not a user name");
        refused(
            [&] {
                add_user(c, {.name = "short", .role = Role::viewer, .password = "abc"}, "test");
            },
            "password: must be 10 to 256 bytes long (got 3)");
        refused(
            [&] {
                add_user(c, {.name = "acc", .role = Role::accountant, .groups = {"north"}}, "test");
            },
            "only a dispatcher can be limited to groups");
        refused(
            [&] {
                add_user(c, {.name = "d", .role = Role::dispatcher, .groups = {"nowhere"}}, "test");
            },
            "no such group 'nowhere'");
        CHECK(count(c, "SELECT count(*) FROM fleet.users") == 1);
        CHECK_THROWS_AS(parse_role("superuser"), InputError);

        CHECK(count(c, "SELECT count(*) FROM fleet.journal WHERE action = 'user added'") == 1);
        CHECK(count(c, "SELECT count(*) FROM fleet.journal WHERE details::text LIKE '%horse%'") ==
              0);

        // The last active admin stays.
        refused([&] { change_user(c, {.name = "root", .role = Role::viewer}, "test"); },
                "last active admin");
        refused([&] { change_user(c, {.name = "root", .active = false}, "test"); },
                "last active admin");
        refused([&] { remove_user(c, "root", "test"); }, "last active admin");
        CHECK_THROWS_AS(change_user(c, {.name = "ghost", .role = Role::viewer}, "test"),
                        NotFoundError);
        CHECK_FALSE(change_user(c, {.name = "root", .role = Role::admin}, "test"));
    }

    TEST_CASE("log-in: the right password opens a session; tokens work until revoked") {
        test::MigratedDatabase db;
        auto& c = db.conn();
        dispatch::add_group(c, "north", "", "test");
        const auto bus = dispatch::add_vehicle(c, {.registration = "N1"}, "test");
        dispatch::add_vehicle(c, {.registration = "S1"}, "test");
        dispatch::change_group_members(c, {.group = "north", .add = {"N1"}}, "test");
        add_user(c,
                 {.name = "disp",
                  .role = Role::dispatcher,
                  .groups = {"north"},
                  .password = "a long enough password"},
                 "test");

        CHECK_FALSE(log_in(c, "disp", "the wrong password", "10.0.0.1", 3600s));
        CHECK_FALSE(log_in(c, "nobody", "a long enough password", "10.0.0.1", 3600s));
        const auto session = log_in(c, "disp", "a long enough password", "10.0.0.1", 3600s);
        REQUIRE(session);
        CHECK(session->value.size() == 43);
        CHECK(session->principal.limited);
        CHECK(session->principal.sees(bus));
        CHECK(session->principal.vehicles.size() == 1);
        // Only the hash is kept.
        CHECK(count(c, "SELECT count(*) FROM fleet.api_sessions WHERE session_sha256 = sha256('" +
                           session->value + "')") == 1);
        const auto again = principal_for_session(c, session->value);
        REQUIRE(again);
        CHECK(again->name == "disp");
        CHECK_FALSE(principal_for_session(c, "not-a-session"));

        const auto token = issue_token(c, "disp", "script", std::nullopt, "test");
        CHECK(token.token.rfind("fleet_", 0) == 0);
        CHECK(token.token.size() == 6 + 43);  // 256 bits
        const auto by_token = principal_for_token(c, token.token);
        REQUIRE(by_token);
        CHECK(by_token->role == Role::dispatcher);
        CHECK_FALSE(principal_for_token(c, token.token + "x"));
        CHECK_FALSE(principal_for_token(c, "fleet_"));
        CHECK(count(c, "SELECT count(*) FROM fleet.api_tokens WHERE last_used_at IS NOT NULL") ==
              1);

        // Deactivated: neither the session nor the token works.
        change_user(c, {.name = "disp", .active = false}, "test");
        CHECK_FALSE(principal_for_session(c, session->value));
        CHECK_FALSE(principal_for_token(c, token.token));
        CHECK_FALSE(log_in(c, "disp", "a long enough password", "10.0.0.1", 3600s));
        change_user(c, {.name = "disp", .active = true}, "test");
        CHECK(principal_for_token(c, token.token));
        CHECK(revoke_tokens(c, "disp", token.token_id, "test") == 1);
        CHECK_FALSE(principal_for_token(c, token.token));
        CHECK_THROWS_AS(revoke_tokens(c, "disp", token.token_id, "test"), NotFoundError);

        // Log-out ends the session; an expired one does not count.
        const auto second = log_in(c, "disp", "a long enough password", "10.0.0.1", 3600s);
        REQUIRE(second);
        log_out(c, second->value);
        CHECK_FALSE(principal_for_session(c, second->value));
        {
            pqxx::work tx(c);
            tx.exec("UPDATE fleet.api_sessions SET expires_at = now() - interval '1 second'");
            tx.commit();
        }
        CHECK(remove_expired_sessions(c) >= 0);
        CHECK(count(c, "SELECT count(*) FROM fleet.api_sessions") == 0);
        CHECK(count(c, "SELECT count(*) FROM fleet.journal WHERE kind = 'user'") >= 4);
    }
}
