#include "proxy/pgbouncer.h"

#include <fmt/format.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <regex>

#include "model/servers.h"
#include "model/timings.h"
#include "pg/connection.h"
#include "proxy/pgbouncer_ini.h"
#include "util/files.h"
#include "util/host_port.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/process.h"

namespace dbr {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

class PgBouncer : public Proxy {
 public:
  explicit PgBouncer(const Config& config) : config_(config) {}

  const char* name() const override { return "PgBouncer"; }

  Status Provision(const Backend& active, const std::optional<Backend>& standby) override {
    (void)standby;  // PgBouncer names one server per database; cut-over rewrites it
    DBR_RETURN_IF_ERROR(CheckDatabaseName());
    const fs::path dir = fs::path(co_.config_file).parent_path();
    DBR_RETURN_IF_ERROR(EnsureDirectory(dir));
    if (co_.generate_auth_file) DBR_RETURN_IF_ERROR(WriteUserlist());
    DBR_ASSIGN_OR_RETURN(
        std::string ini,
        RenderPgBouncerIni(co_, active, {(dir / "pgbouncer.log").string(), PidFile().string()}));
    DBR_RETURN_IF_ERROR(WriteFileAtomic(co_.config_file, ini));
    DBR_RETURN_IF_ERROR(HandToRunAs(dir));
    if (Running()) {
      auto admin = Admin();
      if (!admin.ok()) return admin.status();
      DBR_RETURN_IF_ERROR(admin->Exec("RELOAD").Wrap("reloading PgBouncer"));
      log::info("PgBouncer reloaded: {} -> {}:{}", co_.database, active.host, active.port);
      return Status::Ok();
    }
    return Start();
  }

  Result<ProxyState> Inspect() override {
    ProxyState state;
    auto admin = Admin();
    if (!admin.ok()) {
      state.detail = admin.message();
      return state;
    }
    state.running = true;
    auto r = admin->Query("SHOW DATABASES");
    if (!r.ok()) return r.status();
    // Columns by name: they vary between PgBouncer versions.
    const int name_col = r->Column("name"), host_col = r->Column("host"),
              port_col = r->Column("port"), paused_col = r->Column("paused"),
              db_col = r->Column("database");
    for (int i = 0; i < r->rows(); ++i) {
      if (r->Get(i, name_col) != co_.database) continue;
      const std::string host = r->Get(i, host_col);
      const int port = static_cast<int>(ParseInt(r->Get(i, port_col), 0, 65535).value_or(0));
      state.paused = paused_col >= 0 && r->Get(i, paused_col) == "1";
      if (port == config_.src.port && host == config_.src.host) state.active = Side::kSource;
      if (port == config_.dst.port && host == config_.dst.host) state.active = Side::kDestination;
      state.detail =
          fmt::format("PgBouncer at {}: database {} -> {}:{}/{}{}", co_.listen, co_.database, host,
                      port, r->Get(i, db_col), state.paused ? " (paused)" : "");
      return state;
    }
    state.detail = fmt::format("PgBouncer at {} has no database {}", co_.listen, co_.database);
    return state;
  }

  Status Pause(milliseconds timeout) override {
    DBR_RETURN_IF_ERROR(CheckDatabaseName());
    auto admin = Admin();
    if (!admin.ok()) return admin.status();
    auto paused = admin->QueryWithin("PAUSE " + co_.database, timeout);
    if (paused.ok()) return Status::Ok();
    // Give the database back to its clients before reporting: nothing has changed yet. On a
    // loaded machine PgBouncer may not have read the PAUSE yet: a RESUME before it finds nothing
    // paused, and the PAUSE read after it holds the clients for good. So resume only once
    // PgBouncer shows the database paused.
    const PolledWait& wait = Timings::Default().proxies.pgbouncer_pause_seen;
    const bool seen = wait.Until([&] {
      auto state = Inspect();
      return state.ok() && state->paused;
    });
    Status resumed =
        seen ? Resume()
             : Status::Error(fmt::format(
                   "PgBouncer did not show database {} paused within {} s; if `db_relocate proxy` "
                   "shows it paused later, run RESUME {} on its admin console",
                   co_.database, wait.LimitSeconds(), co_.database));
    return Status::Error(fmt::format(
        "PgBouncer could not pause database {} within {} ms ({}); {}. Transactions still running "
        "hold it (with pool_mode session, every connected client does)",
        co_.database, timeout.count(), paused.message(),
        resumed.ok() ? "traffic resumed, nothing changed"
                     : "and resuming it failed too: " + resumed.message()));
  }

  Status PointTo(const Backend& backend) override {
    auto text = ReadFile(co_.config_file);
    if (!text.ok()) return text.status().Wrap("reading PgBouncer's config");
    auto updated = PointDatabaseAt(*text, co_.database, backend);
    if (!updated.ok()) return updated.status().Wrap(co_.config_file);
    DBR_RETURN_IF_ERROR(WriteFileKeepingOwner(co_.config_file, *updated));
    auto admin = Admin();
    if (!admin.ok()) return admin.status();
    DBR_RETURN_IF_ERROR(admin->Exec("RELOAD").Wrap("reloading PgBouncer"));
    // RELOAD reports success even when it kept the old entry; read back what it runs with.
    auto state = Inspect();
    if (!state.ok()) return state.status();
    if (state->active != backend.side)
      return Status::Error(fmt::format(
          "PgBouncer did not take the new entry for {} ({}); see {}", co_.database, state->detail,
          (fs::path(co_.config_file).parent_path() / "pgbouncer.log").string()));
    log::info("PgBouncer: {} now points at {}:{}", co_.database, backend.host, backend.port);
    return Status::Ok();
  }

  std::string HowToPointTo(const Backend& backend) const override {
    return fmt::format(
        "in {}, set the [databases] entry {} to host={} port={}; then, on PgBouncer's admin "
        "console at {} (user {}): RELOAD; RESUME {};",
        co_.config_file, co_.database, backend.host, backend.port, co_.admin, co_.admin_user,
        co_.database);
  }

  Status Resume() override {
    DBR_RETURN_IF_ERROR(CheckDatabaseName());  // the console has no quoting: plain names only
    auto admin = Admin();
    if (!admin.ok()) return admin.status();
    auto r = admin->Query("RESUME " + co_.database);
    // Resuming a database that is not paused is not an error for us.
    if (!r.ok() && r.message().find("not paused") == std::string::npos)
      return r.status().Wrap("resuming PgBouncer");
    return Status::Ok();
  }

  Status RetireStandby(const Backend&) override { return Status::Ok(); }

  Status StopManaged() override {
    if (!co_.manage) return Status::Ok();
    auto pid = ManagedPid();
    if (!pid) return Status::Ok();
    kill(*pid, SIGTERM);
    const PolledWait& wait = Timings::Default().proxies.pgbouncer_stop;
    if (!wait.Until([&] { return !ProcessAlive(*pid); }))
      return Status::Error(
          fmt::format("PgBouncer (pid {}) did not stop within {} s", *pid, wait.LimitSeconds()));
    log::info("PgBouncer (pid {}) stopped", *pid);
    return Status::Ok();
  }

 private:
  fs::path PidFile() const { return fs::path(co_.config_file).parent_path() / "pgbouncer.pid"; }

  std::optional<pid_t> ManagedPid() const {
    auto text = ReadFile(PidFile());
    if (!text.ok()) return std::nullopt;
    auto pid = ParseInt(*text, 1, INT32_MAX);
    if (pid && ProcessAlive(static_cast<pid_t>(*pid))) return static_cast<pid_t>(*pid);
    return std::nullopt;
  }

  bool Running() { return ManagedPid().has_value() || Admin().ok(); }

  Status CheckDatabaseName() const {
    static const std::regex kSimple("[A-Za-z_][A-Za-z0-9_]*");
    if (!std::regex_match(co_.database, kSimple))
      return Status::BadConfig("cutover.database \"" + co_.database +
                               "\": PgBouncer's console takes plain names only (letters, digits, "
                               "underscore); name the entry so in pgbouncer.ini");
    return Status::Ok();
  }

  Result<pg::Connection> Admin() {
    pg::ConnParams p;
    p.label = "PgBouncer admin console";
    auto admin = ParseHostPort(co_.admin);
    if (!admin.ok()) return admin.status().Wrap("cutover.admin");
    p.host = admin->host;
    p.port = admin->port;
    p.user = co_.admin_user;
    p.password = co_.admin_password;
    p.dbname = "pgbouncer";
    p.connect_timeout_s = 3;
    p.sslmode = "disable";
    return pg::Connection::Open(p);
  }

  // Login roles and their password secrets, as the source stores them.
  Status WriteUserlist() {
    auto src = pg::Connection::Open(SourceParams(config_));
    if (!src.ok()) return src.status();
    auto r = src->Query(
        "SELECT rolname, rolpassword FROM pg_authid WHERE rolcanlogin AND rolpassword IS NOT "
        "NULL ORDER BY rolname");
    if (!r.ok())
      return Status::BadConfig(
          "cutover.auth_file is not set, and it cannot be generated: " + config_.src.user +
          " cannot read pg_authid on the source (" + r.message() +
          "). Write PgBouncer's userlist yourself (lines \"user\" \"secret\") and set "
          "cutover.auth_file");
    std::vector<std::pair<std::string, std::string>> users;
    for (int i = 0; i < r->rows(); ++i) users.emplace_back(r->Get(i, 0), r->Get(i, 1));
    return WriteFileAtomic(co_.auth_file, RenderUserlist(users));
  }

  // A PgBouncer started by root runs as `run_as` and re-reads its files as that user on RELOAD.
  Status HandToRunAs(const fs::path& dir) {
    if (geteuid() != 0) return Status::Ok();
    const passwd* pw = getpwnam(co_.run_as.c_str());
    if (pw == nullptr)
      return Status::BadConfig("cutover.run_as: no such user \"" + co_.run_as + "\"");
    std::error_code ec;
    // The state folder must be traversable (not listable) for it to reach the proxy's folder.
    if (fs::path(config_.state_dir) == dir.parent_path())
      fs::permissions(dir.parent_path(), fs::perms::others_exec, fs::perm_options::add, ec);
    for (fs::path p = dir.parent_path(); p.has_relative_path(); p = p.parent_path()) {
      struct stat st {};
      if (stat(p.c_str(), &st) != 0) break;
      const bool reachable = (st.st_mode & S_IXOTH) ||
                             (st.st_uid == pw->pw_uid && (st.st_mode & S_IXUSR)) ||
                             (st.st_gid == pw->pw_gid && (st.st_mode & S_IXGRP));
      if (!reachable)
        return Status::BadConfig(fmt::format(
            "PgBouncer refuses to run as root, so it runs as {} (cutover.run_as), which cannot "
            "reach {} ({} is closed to it). Set cutover.config_file and cutover.auth_file to a "
            "folder {} can read, or open {} with chmod o+x",
            co_.run_as, dir.string(), p.string(), co_.run_as, p.string()));
    }
    for (const fs::path& f : {dir, fs::path(co_.config_file), fs::path(co_.auth_file)})
      if (fs::exists(f, ec) && chown(f.c_str(), pw->pw_uid, pw->pw_gid) != 0)
        return Status::Error("cannot hand " + f.string() + " to " + co_.run_as);
    return Status::Ok();
  }

  Status WriteFileKeepingOwner(const fs::path& path, const std::string& text) {
    struct stat st {};
    const bool had = stat(path.c_str(), &st) == 0;
    DBR_RETURN_IF_ERROR(WriteFileAtomic(path, text));
    if (had) {
      (void)chown(path.c_str(), st.st_uid, st.st_gid);
      (void)chmod(path.c_str(), st.st_mode & 07777);
    }
    return Status::Ok();
  }

  Status Start() {
    ProcessSpec spec{.argv = {"pgbouncer", "-d"}};
    if (geteuid() == 0) spec.argv.insert(spec.argv.end(), {"-u", co_.run_as});
    spec.argv.push_back(co_.config_file);
    auto out = RunProcess(spec);
    if (!out.ok())
      return out.status().Wrap("starting PgBouncer (is the pgbouncer package installed?)");
    if (out->exit_code != 0)
      return Status::Error("starting PgBouncer: " + DescribeFailure(spec, *out));
    const PolledWait& wait = Timings::Default().proxies.pgbouncer_start;
    if (wait.Until([&] { return Admin().ok(); })) {
      log::info("PgBouncer started, listening on {} (pid {})", co_.listen,
                ManagedPid().value_or(0));
      return Status::Ok();
    }
    auto admin = Admin();
    return Status::Error("PgBouncer did not answer on " + co_.admin + " within " +
                         std::to_string(wait.LimitSeconds()) + " s: " + admin.message() + "; see " +
                         (fs::path(co_.config_file).parent_path() / "pgbouncer.log").string());
  }

  Config config_;
  const CutoverConfig& co_ = config_.cutover;
};

}  // namespace

std::unique_ptr<Proxy> MakePgBouncer(const Config& config) {
  return std::make_unique<PgBouncer>(config);
}

}  // namespace dbr
