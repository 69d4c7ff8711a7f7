#include "core/cleanup.h"

#include <chrono>
#include <optional>
#include <thread>

#include "core/heartbeat.h"
#include "core/names.h"
#include "core/run_state.h"
#include "core/servers.h"
#include "pg/quote.h"
#include "util/files.h"
#include "util/log.h"

namespace dbr {
namespace {

class Cleanup {
 public:
  Cleanup(const Config& config, bool dry_run) : config_(config), dry_run_(dry_run) {}

  Result<std::vector<std::string>> Run() {
    StateStore store(config_.state_dir);
    // Without a state folder (lost, or never made here) the servers are still cleaned.
    std::optional<FileLock> lock;
    if (std::filesystem::is_directory(store.dir())) {
      auto held = FileLock::Acquire(store.file("run.lock"), "this relocation");
      if (!held.ok()) return held.status();
      lock.emplace(std::move(*held));
    }
    auto state = store.Load();
    if (!state.ok()) return state.status();
    auto src = pg::Connection::Open(SourceParams(config_));
    if (!src.ok()) return src.status().Wrap("cleanup needs the source");
    auto dst = pg::Connection::Open(DestinationParams(config_));
    if (!dst.ok()) return dst.status().Wrap("cleanup needs the destination");

    DBR_RETURN_IF_ERROR(StopWriter(store));
    DBR_RETURN_IF_ERROR(DropSubscription(*dst));
    DBR_RETURN_IF_ERROR(DropSlot(*src));
    DBR_RETURN_IF_ERROR(Act(*src, "publication " + std::string(names::kPublication), "source",
                            "SELECT count(*) FROM pg_publication WHERE pubname = $1",
                            {names::kPublication},
                            "DROP PUBLICATION " + pg::QuoteIdent(names::kPublication)));
    for (auto* side : {&*src, &*dst})
      DBR_RETURN_IF_ERROR(Act(*side, "schema db_relocate (the heartbeat table)",
                              side == &*src ? "source" : "destination",
                              "SELECT count(*) FROM pg_namespace WHERE nspname = $1",
                              {names::kSchema},
                              "DROP SCHEMA " + pg::QuoteIdent(names::kSchema) + " CASCADE"));
    DBR_RETURN_IF_ERROR(DropRole(*src, "source"));
    for (const auto& role : state->created_roles)
      if (role == config_.upgrade.user) DBR_RETURN_IF_ERROR(DropRole(*dst, "destination"));
    if (store.Exists()) {
      actions_.push_back("move the run state aside (" + store.file("state.json").string() + ")");
      if (!dry_run_) {
        std::error_code ec;
        std::filesystem::rename(store.file("state.json"),
                                store.file("state.json.cleaned-" + NowUtc()), ec);
        if (ec) return Status::Error("cannot move the run state aside: " + ec.message());
      }
    }
    return actions_;
  }

 private:
  // Records `action` when `count_sql` finds the object; true when it is to be dropped now.
  Result<bool> Plan(pg::Connection& conn, const std::string& count_sql, const pg::Params& params,
                    const std::string& action) {
    auto n = conn.QueryValue(count_sql, params);
    if (!n.ok()) return n.status();
    if (*n == "0") return false;
    actions_.push_back(action);
    return !dry_run_;
  }

  // Runs `drop_sql` when `count_sql` finds the object.
  Status Act(pg::Connection& conn, const std::string& what, const std::string& side,
             const std::string& count_sql, const pg::Params& params, const std::string& drop_sql) {
    auto go = Plan(conn, count_sql, params, "drop " + what + " on the " + side);
    if (!go.ok() || !*go) return go.status();
    DBR_RETURN_IF_ERROR(conn.Exec(drop_sql));
    log::info("dropped {} on the {}", what, side);
    return Status::Ok();
  }

  Status StopWriter(const StateStore& store) {
    auto pid = HeartbeatWriterPid(store);
    if (!pid) return Status::Ok();
    actions_.push_back("stop the heartbeat writer (pid " + std::to_string(*pid) + ")");
    return dry_run_ ? Status::Ok() : StopHeartbeatWriter(store);
  }

  Status DropSubscription(pg::Connection& dst) {
    auto go =
        Plan(dst, "SELECT count(*) FROM pg_subscription WHERE subname = $1", {names::kSubscription},
             std::string("drop subscription ") + names::kSubscription +
                 " on the destination (its slot is dropped on the source next)");
    if (!go.ok() || !*go) return go.status();
    std::string sub = pg::QuoteIdent(names::kSubscription);
    // Detached from its slot first, so DROP does not reach into the source.
    DBR_RETURN_IF_ERROR(dst.Exec("ALTER SUBSCRIPTION " + sub + " DISABLE"));
    DBR_RETURN_IF_ERROR(dst.Exec("ALTER SUBSCRIPTION " + sub + " SET (slot_name = NONE)"));
    return dst.Exec("DROP SUBSCRIPTION " + sub);
  }

  Status DropSlot(pg::Connection& src) {
    auto go =
        Plan(src, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", {names::kSlot},
             std::string("drop replication slot ") + names::kSlot +
                 " on the source (releases the WAL it retains)");
    if (!go.ok() || !*go) return go.status();
    // The walsender of the disabled subscription may take a moment to exit.
    for (int i = 0; i < 50; ++i) {
      auto active = src.QueryValue(
          "SELECT COALESCE(bool_or(active), false) FROM pg_replication_slots WHERE slot_name = $1",
          {names::kSlot});
      if (!active.ok()) return active.status();
      if (*active == "f") break;
      if (i == 25)
        (void)src.Exec(
            "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
            "WHERE slot_name = $1 AND active",
            {names::kSlot});
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return src.Exec("SELECT pg_drop_replication_slot($1)", {names::kSlot});
  }

  Status DropRole(pg::Connection& conn, const std::string& side) {
    const std::string& user = config_.upgrade.user;
    std::string role = pg::QuoteIdent(user);
    auto go = Plan(conn, "SELECT count(*) FROM pg_roles WHERE rolname = $1", {user},
                   "drop the replication user " + user + " on the " + side);
    if (!go.ok() || !*go) return go.status();
    // Its grants in this database go with DROP OWNED; it owns nothing.
    DBR_RETURN_IF_ERROR(conn.Exec("DROP OWNED BY " + role));
    return conn.Exec("DROP ROLE " + role);
  }

  const Config& config_;
  bool dry_run_;
  std::vector<std::string> actions_;
};

}  // namespace

Result<std::vector<std::string>> CleanupRelocation(const Config& config, bool dry_run) {
  return Cleanup(config, dry_run).Run();
}

}  // namespace dbr
