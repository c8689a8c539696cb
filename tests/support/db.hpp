#pragma once

#include <string>

#include <pqxx/pqxx>

/// Test access to the throwaway PostGIS that CTest's "postgis" fixture starts.
namespace fleet::test {

/// Connection string of the test server's maintenance database (from the fixture's state file,
/// or FLEET_DATABASE_URL). Fails the test with a clear message when there is none.
std::string server_url();

/// A new, empty database with PostGIS, dropped again when the object goes away.
class ScratchDatabase {
  public:
    ScratchDatabase();
    ~ScratchDatabase();
    ScratchDatabase(const ScratchDatabase&) = delete;
    ScratchDatabase& operator=(const ScratchDatabase&) = delete;

    const std::string& url() const { return url_; }
    const std::string& name() const { return name_; }

  private:
    std::string name_;
    std::string url_;
};

/// A scratch database with every bundled migration applied, and a connection to it.
class MigratedDatabase {
  public:
    MigratedDatabase();
    const std::string& url() const { return db_.url(); }
    pqxx::connection& conn() { return conn_; }

  private:
    ScratchDatabase db_;
    pqxx::connection conn_;
};

}  // namespace fleet::test
