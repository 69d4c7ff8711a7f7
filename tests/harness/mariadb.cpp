#include "harness/mariadb.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "harness/cluster.h"
#include "util/process.h"

namespace fs = std::filesystem;

namespace dbr::test {
namespace {

constexpr const char* kDirPrefix = "dbr-mariadb-";
constexpr const char* kInstallDb = "/usr/bin/mariadb-install-db";
constexpr const char* kServer = "/usr/sbin/mariadbd";

// Small and fast: a throwaway server, crash safety not needed beyond what a test kills.
const std::map<std::string, std::string> kBaseSettings = {
    {"innodb_buffer_pool_size", "64M"},
    {"innodb_log_file_size", "8M"},
    {"innodb_flush_log_at_trx_commit", "2"},
    {"sync_binlog", "0"},
    {"performance_schema", "OFF"},
    {"skip_name_resolve", "ON"},
    {"max_connections", "200"},
    {"binlog_format", "ROW"},
};

// Live servers of this process, killed at exit.
struct Live {
  std::mutex mu;
  std::set<pid_t> pids;
};
Live& LiveServers() {
  static Live* live = new Live;  // never destroyed: the atexit handler still needs it
  return *live;
}

void KillAndWait(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGKILL);
  for (int i = 0; i < 500 && ProcessAlive(pid); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

void KillAllAtExit() {
  std::lock_guard<std::mutex> lock(LiveServers().mu);
  for (pid_t pid : LiveServers().pids) kill(pid, SIGKILL);
}

pid_t ReadPid(const fs::path& file) {
  std::ifstream in(file);
  pid_t pid = -1;
  in >> pid;
  return in ? pid : -1;
}

// Directories of test processes that were killed outright: their servers still run.
void SweepStale() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::temp_directory_path(), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kDirPrefix, 0) != 0 || fs::exists(entry.path() / "keep")) continue;
    const pid_t owner = ReadPid(entry.path() / "owner");
    if (owner <= 0 || owner == getpid() || ProcessAlive(owner)) continue;
    KillAndWait(ReadPid(entry.path() / "server.pid"));
    fs::remove_all(entry.path(), ec);
  }
}

// The template data directory of this process: mariadb-install-db once, copied by each server.
Result<fs::path> TemplateDataDir() {
  static std::mutex mu;
  static fs::path made;
  std::lock_guard<std::mutex> lock(mu);
  if (!made.empty()) return made;
  SweepStale();
  fs::path root = fs::temp_directory_path() /
                  (std::string(kDirPrefix) + "template-" + std::to_string(getpid()));
  std::error_code ec;
  fs::remove_all(root, ec);
  fs::create_directories(root);
  std::ofstream(root / "owner") << getpid() << "\n";
  ProcessSpec spec;
  spec.argv = {kInstallDb,
               "--no-defaults",
               "--datadir=" + (root / "data").string(),
               "--auth-root-authentication-method=normal",
               "--skip-test-db",
               "--innodb-log-file-size=8M"};
  if (geteuid() == 0) spec.argv.push_back("--user=root");
  auto out = RunProcess(spec);
  if (!out.ok()) return out.status();
  if (out->exit_code != 0)
    return Status::Error("mariadb-install-db failed: " + DescribeFailure(spec, *out));
  std::atexit([] {
    std::error_code e;
    if (!KeepTemp())
      fs::remove_all(fs::temp_directory_path() /
                         (std::string(kDirPrefix) + "template-" + std::to_string(getpid())),
                     e);
  });
  made = root / "data";
  return made;
}

int NextServerId() {
  static std::atomic<int> counter{0};
  return 1000 + (getpid() % 1000) * 100 + ++counter;
}

}  // namespace

Result<fs::path> MariaDbServerBinary() {
  if (!fs::exists(kServer) || !fs::exists(kInstallDb))
    return Status::Error(std::string(kServer) + " or " + kInstallDb +
                         " is missing: run scripts/install-deps.sh (mariadb-server-core)");
  return fs::path(kServer);
}

Result<MariaDbPair> StartMariaDbPair() {
  auto a = std::async(std::launch::async, [] { return TestMariaDb::Start(); });
  auto b = std::async(std::launch::async, [] { return TestMariaDb::Start(); });
  auto src = a.get();
  auto dst = b.get();
  if (!src.ok()) return src.status().Wrap("starting the source");
  if (!dst.ok()) return dst.status().Wrap("starting the destination");
  return MariaDbPair{std::move(*src), std::move(*dst)};
}

Result<std::unique_ptr<TestMariaDb>> TestMariaDb::Start(const MariaDbOptions& options) {
  DBR_RETURN_IF_ERROR(MariaDbServerBinary().status());
  DBR_ASSIGN_OR_RETURN(fs::path template_dir, TemplateDataDir());
  std::unique_ptr<TestMariaDb> db(new TestMariaDb);
  db->options_ = options;
  db->server_id_ = NextServerId();
  char pattern[] = "/tmp/dbr-mariadb-XXXXXX";
  if (mkdtemp(pattern) == nullptr) return Status::Error("mkdtemp failed");
  db->root_ = pattern;
  std::ofstream(db->root_ / "owner") << getpid() << "\n";
  std::error_code ec;
  fs::copy(template_dir, db->root_ / "data", fs::copy_options::recursive, ec);
  if (ec) return Status::Error("copying the MariaDB template: " + ec.message());
  fs::create_directories(db->root_ / "tmp");
  if (KeepTemp()) std::ofstream(db->root_ / "keep") << "DBR_KEEP_TEMP\n";
  Status last = Status::Error("no port tried");
  for (int attempt = 0; attempt < 3 && !last.ok(); ++attempt) {
    DBR_ASSIGN_OR_RETURN(db->port_, PickFreePort());
    last = db->Launch();
  }
  DBR_RETURN_IF_ERROR(last);
  auto root = mariadb::Connection::Open(db->Params("root", ""));
  if (!root.ok()) return root.status();
  DBR_RETURN_IF_ERROR(root->Exec("CREATE USER ops@'%' IDENTIFIED BY 'secret'"));
  DBR_RETURN_IF_ERROR(root->Exec("GRANT ALL ON *.* TO ops@'%' WITH GRANT OPTION"));
  return db;
}

Status TestMariaDb::Launch() {
  std::map<std::string, std::string> settings = kBaseSettings;
  for (const auto& [k, v] : options_.settings) settings[k] = v;
  ProcessSpec spec;
  spec.argv = {kServer,
               "--no-defaults",
               "--datadir=" + (root_ / "data").string(),
               "--port=" + std::to_string(port_),
               "--bind-address=127.0.0.1",
               "--socket=" + (root_ / "sock").string(),
               "--pid-file=" + (root_ / "server.pid").string(),
               "--tmpdir=" + (root_ / "tmp").string(),
               "--server-id=" + std::to_string(server_id_)};
  if (geteuid() == 0) spec.argv.push_back("--user=root");
  if (options_.log_bin) spec.argv.push_back("--log-bin=" + (root_ / "data" / "binlog").string());
  for (const auto& [k, v] : settings) spec.argv.push_back("--" + k + "=" + v);
  spec.stdout_file = root_ / "error.log";
  spec.stderr_file = root_ / "error.log";
  DBR_ASSIGN_OR_RETURN(pid_, SpawnDetached(spec));
  {
    std::lock_guard<std::mutex> lock(LiveServers().mu);
    static bool registered = (std::atexit(KillAllAtExit), true);
    (void)registered;
    LiveServers().pids.insert(pid_);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    auto c = mariadb::Connection::Open(Params("root", ""));
    if (c.ok()) return Status::Ok();
    if (!ProcessAlive(pid_)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  Kill();
  return Status::Error("mariadbd did not start on port " + std::to_string(port_) + ":\n" +
                       LogTail(15));
}

TestMariaDb::~TestMariaDb() {
  Kill();
  std::error_code ec;
  if (!KeepTemp()) fs::remove_all(root_, ec);
}

void TestMariaDb::Kill() {
  if (pid_ <= 0) return;
  KillAndWait(pid_);
  std::lock_guard<std::mutex> lock(LiveServers().mu);
  LiveServers().pids.erase(pid_);
  pid_ = -1;
}

Status TestMariaDb::StartAgain() {
  if (pid_ > 0) return Status::Error("the MariaDB server is running");
  return Launch();
}

mariadb::ConnParams TestMariaDb::Params(const std::string& user, const std::string& password,
                                        const std::string& database) const {
  mariadb::ConnParams p;
  p.label = "test server";
  p.host = host();
  p.port = port_;
  p.user = user;
  p.password = password;
  p.database = database;
  return p;
}

Result<mariadb::Connection> TestMariaDb::Connect(const std::string& user,
                                                 const std::string& password,
                                                 const std::string& database) const {
  return mariadb::Connection::Open(Params(user, password, database));
}

Status TestMariaDb::Exec(const std::vector<std::string>& statements) {
  DBR_ASSIGN_OR_RETURN(mariadb::Connection c, Connect());
  for (const auto& sql : statements) DBR_RETURN_IF_ERROR(c.Exec(sql));
  return Status::Ok();
}

Result<std::string> TestMariaDb::QueryValue(const std::string& sql) {
  DBR_ASSIGN_OR_RETURN(mariadb::Connection c, Connect());
  return c.QueryValue(sql);
}

std::string TestMariaDb::LogTail(int lines) const {
  std::ifstream in(root_ / "error.log");
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::string out;
  for (size_t i = all.size() > static_cast<size_t>(lines) ? all.size() - lines : 0; i < all.size();
       ++i)
    out += all[i] + "\n";
  return out;
}

}  // namespace dbr::test
