#include "harness/cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "harness/pg_control.h"
#include "harness/sanitizer_reports.h"
#include "pg/quote.h"
#include "util/process.h"

#ifndef DBR_SOURCE_DIR
#error "DBR_SOURCE_DIR must be defined (tests/CMakeLists.txt does)"
#endif
#ifndef DBR_BINARY
#error "DBR_BINARY must be defined (tests/CMakeLists.txt does)"
#endif

namespace fs = std::filesystem;

namespace dbr::test {
namespace {

constexpr const char* kInstallHint = "run scripts/install-deps.sh";
constexpr int kMaxSlots = 64;
constexpr int kPortAttempts = 3;

// ---------------------------------------------------------------------------------------------
// Running as the postgres OS user
// ---------------------------------------------------------------------------------------------

struct ServerUser {
  bool switch_user = false;  // we are root: run server programs through runuser
  uid_t uid = 0;
  gid_t gid = 0;
  std::string error;  // set when we are root and there is no postgres user
};

const ServerUser& GetServerUser() {
  static const ServerUser user = [] {
    ServerUser u;
    if (geteuid() != 0) {
      u.uid = geteuid();
      u.gid = getegid();
      return u;
    }
    u.switch_user = true;
    passwd pw{};
    passwd* found = nullptr;
    std::array<char, 4096> buf{};
    if (getpwnam_r("postgres", &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
      u.error =
          "running as root, but there is no 'postgres' OS user to run PostgreSQL servers as "
          "(it comes with Debian's postgresql-15; " +
          std::string(kInstallHint) + ")";
      return u;
    }
    u.uid = pw.pw_uid;
    u.gid = pw.pw_gid;
    return u;
  }();
  return user;
}

std::vector<std::string> AsServerUser(std::vector<std::string> argv) {
  if (!GetServerUser().switch_user) return argv;
  std::vector<std::string> out = {"runuser", "-u", "postgres", "--"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

Status GiveToServerUser(const fs::path& path, mode_t mode) {
  const ServerUser& u = GetServerUser();
  if (u.switch_user && chown(path.c_str(), u.uid, u.gid) != 0)
    return Status::Error("cannot chown " + path.string() + " to postgres: " + strerror(errno));
  if (chmod(path.c_str(), mode) != 0)
    return Status::Error("cannot chmod " + path.string() + ": " + strerror(errno));
  return Status::Ok();
}

// Writes a file (as us) and hands it to the server user with mode 0600.
Status WriteServerFile(const fs::path& path, const std::string& content, bool append = false) {
  {
    std::ofstream f(path, append ? std::ios::app : std::ios::trunc);
    if (!f) return Status::Error("cannot write " + path.string() + ": " + strerror(errno));
    f << content;
    if (!f.flush()) return Status::Error("cannot write " + path.string());
  }
  return GiveToServerUser(path, 0600);
}

std::string ReadFile(const fs::path& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string Tail(const std::string& text, int lines, size_t max_chars = 6000) {
  size_t pos = text.size();
  while (pos > 0 && (text[pos - 1] == '\n' || text[pos - 1] == ' ')) --pos;
  size_t end = pos;
  for (int n = 0; n < lines && pos > 0; ++n) {
    size_t nl = text.rfind('\n', pos - 1);
    pos = nl == std::string::npos ? 0 : nl;
    if (nl == std::string::npos) break;
  }
  std::string out = text.substr(pos, end - pos);
  while (!out.empty() && out.front() == '\n') out.erase(0, 1);
  if (out.size() > max_chars) out = "..." + out.substr(out.size() - max_chars);
  return out;
}

std::string OutputTail(const ProcessOutput& out, int lines = 20) {
  std::string both = out.out;
  if (!out.err.empty()) both += (both.empty() ? "" : "\n") + out.err;
  return Tail(both, lines);
}

bool EnvFlag(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && std::string(v) == "1";
}

// ---------------------------------------------------------------------------------------------
// Process-wide registry of live clusters: cleanup at exit and on SIGINT/SIGTERM
// ---------------------------------------------------------------------------------------------

// What the signal handler may use: atomics, fixed buffers, open/read/close and kill, all
// async-signal-safe. A slot is "starting" while pg_ctl start runs (the postmaster's pid is only
// in its postmaster.pid file then) and "running" once its pid is known.
enum SlotState : int { kSlotIdle = 0, kSlotStarting = 1, kSlotRunning = 2 };
struct SignalSlot {
  std::atomic<int> state{kSlotIdle};
  std::atomic<pid_t> postmaster{0};
  char pid_file[512] = {};
};
std::array<SignalSlot, kMaxSlots> g_slots;

// The first line of postmaster.pid, without allocating.
pid_t ReadPidFileSignalSafe(const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[32];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  pid_t pid = 0;
  for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) pid = pid * 10 + (buf[i] - '0');
  return pid;
}

void SetSlotState(int slot, SlotState state, pid_t postmaster = 0) {
  if (slot < 0) return;
  g_slots[static_cast<size_t>(slot)].postmaster.store(postmaster);
  g_slots[static_cast<size_t>(slot)].state.store(state);
}

struct LiveCluster {
  fs::path bin_dir, data_dir, root_dir;
};

struct Registry {
  std::mutex mu;
  std::array<bool, kMaxSlots> slot_used{};
  std::map<int, LiveCluster> live;  // by slot
  std::set<int> ports_handed_out;
};

Registry& Reg() {
  static Registry* r = new Registry;  // never destroyed: the atexit handler still needs it
  return *r;
}

// A data directory initdb'd once per (major, bin dir) in this process and copied for each
// cluster (initdb costs ~1 s of CPU, a copy ~0.1 s).
struct Template {
  std::mutex build_mu;  // held while it is built: one initdb per template
  bool built = false;
  fs::path data_dir;
  ControlFileLayout layout;
};

struct Templates {
  std::mutex mu;
  std::map<std::pair<int, fs::path>, std::shared_ptr<Template>> by_key;
  std::vector<fs::path> root_dirs;  // removed at exit
};

Templates& Tmpl() {
  static Templates* t = new Templates;  // never destroyed: the atexit handler still needs it
  return *t;
}

void OnFatalSignal(int sig) {
  for (auto& slot : g_slots) {
    int state = slot.state.load();
    pid_t p = state == kSlotRunning    ? slot.postmaster.load()
              : state == kSlotStarting ? ReadPidFileSignalSafe(slot.pid_file)
                                       : 0;
    if (p > 0) kill(p, SIGQUIT);  // SIGQUIT to the postmaster = immediate shutdown
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

void StopAllAtExit() {
  std::map<int, LiveCluster> live;
  {
    std::lock_guard<std::mutex> lock(Reg().mu);
    live.swap(Reg().live);
  }
  for (const auto& [slot, c] : live) {
    ProcessSpec spec{AsServerUser({(c.bin_dir / "pg_ctl").string(), "-D", c.data_dir.string(), "-m",
                                   "immediate", "-w", "-t", "30", "stop"})};
    (void)RunProcess(spec);
    SetSlotState(slot, kSlotIdle);
    std::error_code ec;
    if (!KeepTemp()) fs::remove_all(c.root_dir, ec);
  }
  std::vector<fs::path> templates;
  {
    std::lock_guard<std::mutex> lock(Tmpl().mu);
    templates.swap(Tmpl().root_dirs);
  }
  for (const fs::path& root : templates) {
    std::error_code ec;
    if (KeepTemp())
      std::ofstream(root / "keep") << "DBR_KEEP_TEMP\n";
    else
      fs::remove_all(root, ec);
  }
}

// Zombies count as gone (our orphaned postmasters are reaped by pid 1, maybe late).
bool PidAlive(pid_t pid) {
  return pid > 0 && ProcessAlive(pid);
}

// Clusters of a test process that was killed outright (SIGKILL, a crash): its postmasters keep
// running and its directories stay. Each cluster dir records its owner's pid; when that process
// is gone, stop the server and delete the dir. Dirs kept on purpose (DBR_KEEP_TEMP) are left.
void SweepStaleClusters() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/tmp", ec)) {
    const fs::path dir = entry.path();
    if (dir.filename().string().rfind("dbr-test-", 0) != 0 || !entry.is_directory(ec)) continue;
    if (!fs::exists(dir / "owner", ec) || fs::exists(dir / "keep", ec)) continue;
    pid_t owner = static_cast<pid_t>(std::atol(ReadFile(dir / "owner").c_str()));
    if (owner <= 0 || PidAlive(owner)) continue;
    pid_t pm = static_cast<pid_t>(std::atol(ReadFile(dir / "data" / "postmaster.pid").c_str()));
    if (pm > 0 && ReadFile("/proc/" + std::to_string(pm) + "/comm").rfind("postgres", 0) == 0) {
      kill(pm, SIGQUIT);
      for (int i = 0; i < 50 && PidAlive(pm); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    fs::remove_all(dir, ec);
  }
}

void InstallProcessHooks() {
  static std::once_flag once;
  std::call_once(once, [] {
    SweepStaleClusters();
    std::atexit(StopAllAtExit);
    for (int sig : {SIGINT, SIGTERM}) {
      struct sigaction old {};
      sigaction(sig, nullptr, &old);
      if (old.sa_handler != SIG_DFL) continue;  // somebody else handles it; leave theirs
      struct sigaction sa {};
      sa.sa_handler = OnFatalSignal;
      sigemptyset(&sa.sa_mask);
      sigaction(sig, &sa, nullptr);
    }
  });
}

int AcquireSlot(const LiveCluster& c) {
  std::lock_guard<std::mutex> lock(Reg().mu);
  for (int i = 0; i < kMaxSlots; ++i) {
    if (!Reg().slot_used[static_cast<size_t>(i)]) {
      Reg().slot_used[static_cast<size_t>(i)] = true;
      Reg().live[i] = c;
      std::string pid_file = (c.data_dir / "postmaster.pid").string();
      SignalSlot& slot = g_slots[static_cast<size_t>(i)];
      if (pid_file.size() < sizeof slot.pid_file) {
        std::memcpy(slot.pid_file, pid_file.c_str(), pid_file.size() + 1);
      } else {
        slot.pid_file[0] = '\0';
      }
      return i;
    }
  }
  return -1;  // too many live clusters for the registry: still stopped by the destructor
}

bool IsRegistered(int slot) {
  std::lock_guard<std::mutex> lock(Reg().mu);
  return Reg().live.count(slot) != 0;
}

void ReleaseSlot(int slot) {
  if (slot < 0) return;
  std::lock_guard<std::mutex> lock(Reg().mu);
  SetSlotState(slot, kSlotIdle);
  Reg().slot_used[static_cast<size_t>(slot)] = false;
  Reg().live.erase(slot);
}

// ---------------------------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------------------------

// 0 when the port cannot be bound on 127.0.0.1; otherwise the port (0 asks the kernel for one).
int BindLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  int result = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    socklen_t len = sizeof addr;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      result = ntohs(addr.sin_port);
  }
  close(fd);
  return result;
}

// A loopback port nobody listens on now, never handed out before in this process.
Result<int> PickFreePortImpl() {
  for (int attempt = 0; attempt < 100; ++attempt) {
    int port = BindLoopback(0);
    if (port == 0)
      return Status::Error(std::string("cannot bind a loopback socket: ") + strerror(errno));
    {
      std::lock_guard<std::mutex> lock(Reg().mu);
      if (Reg().ports_handed_out.count(port) != 0) continue;
      if (BindLoopback(port) != port) continue;  // taken meanwhile
      Reg().ports_handed_out.insert(port);
    }
    return port;
  }
  return Status::Error("found no free loopback port");
}

bool LooksLikePortConflict(const std::string& log) {
  return log.find("could not bind") != std::string::npos ||
         log.find("Address already in use") != std::string::npos ||
         log.find("could not create any TCP/IP sockets") != std::string::npos ||
         log.find("could not create lock file") != std::string::npos;
}

// ---------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------

std::map<std::string, std::string> DefaultSettings(const fs::path& data_dir) {
  return {
      {"listen_addresses", "127.0.0.1"},
      {"unix_socket_directories", data_dir.string()},
      {"wal_level", "logical"},
      {"max_replication_slots", "20"},
      {"max_wal_senders", "20"},
      {"max_worker_processes", "32"},
      {"max_logical_replication_workers", "16"},
      {"fsync", "off"},
      {"synchronous_commit", "off"},
      {"full_page_writes", "off"},
      {"shared_buffers", "64MB"},
      {"password_encryption", "scram-sha-256"},
      {"logging_collector", "off"},
      {"log_line_prefix", "%m [%p] "},
  };
}

// postgresql.conf accepts any value quoted, so every value is written as a quoted string.
std::string ConfValue(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'')
      out += "''";
    else if (c == '\\')
      out += "\\\\";
    else
      out += c;
  }
  return out + "'";
}

// ---------------------------------------------------------------------------------------------
// Data directories: initdb once per (major, bin dir) into a template, copied for each cluster
// ---------------------------------------------------------------------------------------------

// /tmp/dbr-test-XXXXXX with an `owner` file naming this process, for SweepStaleClusters.
Result<fs::path> MakeTestRoot() {
  std::string dir = "/tmp/dbr-test-XXXXXX";
  if (mkdtemp(dir.data()) == nullptr)
    return Status::Error(std::string("mkdtemp failed: ") + strerror(errno));
  std::ofstream owner(fs::path(dir) / "owner");
  owner << getpid() << "\n";
  return fs::path(dir);
}

// The superuser's password, "secret", as a SCRAM-SHA-256 secret of 16 iterations rather than
// the 4096 a server derives: each side of every connection (thousands in a test run) then
// spends microseconds on it instead of milliseconds. The server stores a secret given in this
// form as it is (PostgreSQL 13's initdb reads only the first 99 characters of the file and would
// take a cut secret for a password: there the password is given plain); libpq follows the count
// the server announces. Computed by
//   sp = hashlib.pbkdf2_hmac('sha256', b'secret', b'db_relocate-test', 16)
//   StoredKey = sha256(hmac(sp, 'Client Key')), ServerKey = hmac(sp, 'Server Key'), base64.
constexpr char kSuperuserScramSecret[] =
    "SCRAM-SHA-256$16:ZGJfcmVsb2NhdGUtdGVzdA==$eqzoZBS1BfcsEHuHbGJ2Fw5q47CeZUwECUduvRkmzoc=:"
    "LIvxTNttCyL7LPezvwJt4MZUf0alZFhtNJO0DrCcYto=";

// initdb, with C.UTF-8 and, should a major reject it, without a locale.
Status RunInitdb(int major, const fs::path& bin_dir, const fs::path& root_dir,
                 const fs::path& data_dir) {
  const fs::path pwfile = root_dir / "pwfile";
  DBR_RETURN_IF_ERROR(
      WriteServerFile(pwfile, std::string(major == 13 ? "secret" : kSuperuserScramSecret) + "\n"));
  const std::vector<std::string> initdb = {(bin_dir / "initdb").string(),
                                           "-D",
                                           data_dir.string(),
                                           "-U",
                                           "ops",
                                           "--auth-local=trust",
                                           "--auth-host=scram-sha-256",
                                           "--pwfile=" + pwfile.string(),
                                           "-E",
                                           "UTF8",
                                           "--no-sync"};  // throwaway data: skip the final fsync
  std::string initdb_failures;
  bool initialized = false;
  for (const char* locale : {"--locale=C.UTF-8", "--no-locale"}) {
    std::error_code ec;
    fs::remove_all(data_dir, ec);
    std::vector<std::string> argv = initdb;
    argv.push_back(locale);
    ProcessSpec spec{AsServerUser(argv)};
    auto out = RunProcess(spec);
    if (!out.ok()) return out.status().Wrap("initdb");
    if (out->exit_code == 0) {
      initialized = true;
      break;
    }
    initdb_failures += std::string("\n--- initdb ") + locale + " exited with code " +
                       std::to_string(out->exit_code) + ":\n" + OutputTail(*out);
  }
  std::error_code ec;
  fs::remove(pwfile, ec);
  if (!initialized) return Status::Error("initdb failed" + initdb_failures);
  return Status::Ok();
}

// What every cluster shares: password (scram) logins over TCP, and its settings from dbr.conf.
Status WriteAccessConfig(const fs::path& data_dir) {
  DBR_RETURN_IF_ERROR(
      WriteServerFile(data_dir / "pg_hba.conf",
                      "# Written by the db_relocate test harness\n"
                      "local   all           all                  trust\n"
                      "local   replication   all                  trust\n"
                      "host    all           all   127.0.0.1/32   scram-sha-256\n"
                      "host    replication   all   127.0.0.1/32   scram-sha-256\n"));
  return WriteServerFile(data_dir / "postgresql.conf", "\ninclude 'dbr.conf'\n", true);
}

Status InitTemplate(Template& t, int major, const fs::path& bin_dir, const fs::path& root_dir) {
  DBR_RETURN_IF_ERROR(GiveToServerUser(root_dir, 0700));
  const fs::path data_dir = root_dir / "data";
  DBR_RETURN_IF_ERROR(RunInitdb(major, bin_dir, root_dir, data_dir));
  DBR_RETURN_IF_ERROR(WriteAccessConfig(data_dir));
  auto layout = ReadControlFileLayout(ReadFile(data_dir / "global" / "pg_control"));
  if (!layout.ok()) return layout.status().Wrap("template data directory " + data_dir.string());
  t.data_dir = data_dir;
  t.layout = *layout;
  t.built = true;
  return Status::Ok();
}

Status BuildTemplate(Template& t, int major, const fs::path& bin_dir) {
  auto root = MakeTestRoot();
  if (!root.ok()) return root.status();
  {
    std::lock_guard<std::mutex> lock(Tmpl().mu);
    Tmpl().root_dirs.push_back(*root);
  }
  Status st = InitTemplate(t, major, bin_dir, *root);
  std::error_code ec;
  if (!st.ok() && !KeepTemp()) fs::remove_all(*root, ec);
  return st;
}

// The template of (major, bin_dir), built by its first caller while the others wait; templates
// of different majors are built concurrently. A failed build is tried again by the next caller.
Result<std::shared_ptr<const Template>> TemplateFor(int major, const fs::path& bin_dir) {
  std::shared_ptr<Template> t;
  {
    std::lock_guard<std::mutex> lock(Tmpl().mu);
    std::shared_ptr<Template>& entry = Tmpl().by_key[{major, bin_dir}];
    if (entry == nullptr) entry = std::make_shared<Template>();
    t = entry;
  }
  std::lock_guard<std::mutex> lock(t->build_mu);
  if (!t->built) DBR_RETURN_IF_ERROR(BuildTemplate(*t, major, bin_dir));
  return std::shared_ptr<const Template>(t);
}

// `cp -a` keeps owners and modes (the server user's; 0700 on the data directory). Each copy gets
// an identifier of its own: the product takes two servers with one identifier for one server.
Status CopyTemplate(const Template& t, const fs::path& data_dir) {
  ProcessSpec spec{{"cp", "-a", "--", t.data_dir.string(), data_dir.string()}};
  auto out = RunProcess(spec);
  if (!out.ok()) return out.status().Wrap("cp");
  if (out->exit_code != 0) {
    return Status::Error("copying " + t.data_dir.string() + " to " + data_dir.string() +
                         " failed: " + OutputTail(*out));
  }
  return SetSystemIdentifier(data_dir, t.layout, NewSystemIdentifier());
}

}  // namespace

bool KeepTemp() {
  return EnvFlag("DBR_KEEP_TEMP");
}

// ---------------------------------------------------------------------------------------------
// Binaries
// ---------------------------------------------------------------------------------------------

fs::path DebianPgBinDir(int major) {
  return fs::path("/usr/lib/postgresql") / std::to_string(major) / "bin";
}

Result<fs::path> PgBinDir(int major) {
  const std::string var = "DBR_PG_BIN_" + std::to_string(major);
  fs::path bin;
  std::string from;
  if (const char* v = std::getenv(var.c_str()); v != nullptr && *v != '\0') {
    bin = v;
    from = "$" + var;
  } else if (major == 15) {
    bin = DebianPgBinDir(15);
    from = "Debian's postgresql-15 package";
  } else {
    fs::path root = fs::path(DBR_SOURCE_DIR) / ".cache" / "pg" / std::to_string(major);
    std::error_code ec;
    if (fs::exists(root / ".dbr-location", ec)) {
      std::string loc = ReadFile(root / ".dbr-location");
      while (!loc.empty() && (loc.back() == '\n' || loc.back() == ' ')) loc.pop_back();
      root = loc;
    }
    bin = root / "bin";
    from = "the npm download of scripts/install-deps.sh";
  }
  for (const char* prog : {"postgres", "pg_ctl", "initdb"}) {
    if (access((bin / prog).c_str(), X_OK) != 0) {
      return Status::Error(
          "PostgreSQL " + std::to_string(major) + " binaries not found: " + (bin / prog).string() +
          " is missing (expected from " + from + "); " + kInstallHint + " (DBR_PG_MAJORS=\"" +
          std::to_string(major) + "\" scripts/install-deps.sh for this major alone) or set " + var);
    }
  }
  return bin;
}

// ---------------------------------------------------------------------------------------------
// TestCluster
// ---------------------------------------------------------------------------------------------

Result<std::unique_ptr<TestCluster>> TestCluster::Start(int major, const ClusterOptions& options) {
  const std::string what = "starting a PostgreSQL " + std::to_string(major) + " test cluster";
  if (!GetServerUser().error.empty()) return Status::Error(what + ": " + GetServerUser().error);
  auto bin = PgBinDir(major);
  if (!bin.ok()) return bin.status().Wrap(what);
  InstallProcessHooks();
  auto tmpl = TemplateFor(major, *bin);
  if (!tmpl.ok()) return tmpl.status().Wrap(what);

  std::unique_ptr<TestCluster> c(new TestCluster());
  c->major_ = major;
  c->bin_dir_ = *bin;
  auto root = MakeTestRoot();
  if (!root.ok()) return root.status().Wrap(what);
  c->root_dir_ = *root;
  c->data_dir_ = c->root_dir_ / "data";
  // From here on the destructor cleans up whatever exists.
  DBR_RETURN_IF_ERROR(GiveToServerUser(c->root_dir_, 0700).Wrap(what));
  c->slot_ = AcquireSlot({c->bin_dir_, c->data_dir_, c->root_dir_});
  DBR_RETURN_IF_ERROR(CopyTemplate(**tmpl, c->data_dir_).Wrap(what));

  c->settings_ = DefaultSettings(c->data_dir_);
  c->settings_["wal_level"] = options.wal_level;
  for (const auto& [k, v] : options.settings) c->settings_[k] = v;
  const bool fixed_port = options.settings.count("port") != 0;

  Status last;
  for (int attempt = 0; attempt < (fixed_port ? 1 : kPortAttempts); ++attempt) {
    if (!fixed_port) {
      auto port = PickFreePortImpl();
      if (!port.ok()) return port.status().Wrap(what);
      c->settings_["port"] = std::to_string(*port);
    }
    DBR_RETURN_IF_ERROR(c->WriteSettings().Wrap(what));
    last = c->StartServer();
    if (last.ok()) return c;
    if (!LooksLikePortConflict(c->LogTail(10))) break;
  }
  return last.Wrap(what);
}

TestCluster::~TestCluster() {
  // A cluster object that outlives main() (a static) was already stopped and removed by the
  // atexit handler, which took it off the registry.
  if (slot_ >= 0 && !IsRegistered(slot_)) return;
  if (running_) {
    Status st = RunPgCtl({"-D", data_dir_.string(), "-m", "immediate", "-w", "-t", "30", "stop"},
                         "pg_ctl stop -m immediate");
    if (!st.ok()) {
      const SignalSlot* slot = slot_ >= 0 ? &g_slots[static_cast<size_t>(slot_)] : nullptr;
      pid_t pm =
          slot != nullptr && slot->state.load() == kSlotRunning ? slot->postmaster.load() : 0;
      if (pm > 0) kill(pm, SIGQUIT);
      std::cerr << "[harness] " << st.message() << "\n";
    }
  }
  ReleaseSlot(slot_);
  if (root_dir_.empty()) return;
  std::error_code ec;
  if (KeepTemp()) {
    std::ofstream(root_dir_ / "keep") << "DBR_KEEP_TEMP\n";
    std::cerr << "[harness] DBR_KEEP_TEMP=1: keeping PostgreSQL " << major_ << " cluster in "
              << root_dir_ << " (log " << log_file() << ")\n";
    return;
  }
  fs::remove_all(root_dir_, ec);
}

fs::path TestCluster::log_file() const {
  return root_dir_ / "postgresql.log";
}

std::string TestCluster::LogTail(int lines) const {
  return Tail(ReadFile(log_file()), lines);
}

Status TestCluster::WriteSettings() {
  std::string conf = "# Written by the db_relocate test harness; rewritten by Restart()\n";
  for (const auto& [k, v] : settings_) conf += k + " = " + ConfValue(v) + "\n";
  auto it = settings_.find("port");
  if (it != settings_.end()) port_ = std::stoi(it->second);
  return WriteServerFile(data_dir_ / "dbr.conf", conf);
}

Status TestCluster::RunPgCtl(const std::vector<std::string>& args, const std::string& what) {
  std::vector<std::string> argv = {(bin_dir_ / "pg_ctl").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessSpec spec{AsServerUser(argv)};
  auto out = RunProcess(spec);
  if (!out.ok()) return out.status().Wrap(what);
  if (out->exit_code != 0) {
    return Status::Error(what + " (PostgreSQL " + std::to_string(major_) + ", port " +
                         std::to_string(port_) + ", data " + data_dir_.string() +
                         ") exited with code " + std::to_string(out->exit_code) + ": " +
                         OutputTail(*out, 10) + "\n--- last lines of " + log_file().string() +
                         ":\n" + LogTail());
  }
  return Status::Ok();
}

Status TestCluster::StartServer() {
  SetSlotState(slot_, kSlotStarting);
  Status st =
      RunPgCtl({"-w", "-t", "60", "-D", data_dir_.string(), "-l", log_file().string(), "start"},
               "pg_ctl start");
  if (!st.ok()) {
    // pg_ctl -w gave up (timeout) but the postmaster may still be coming up: take it down.
    (void)RunPgCtl({"-D", data_dir_.string(), "-m", "immediate", "-w", "stop"}, "pg_ctl stop");
    SetSlotState(slot_, kSlotIdle);
    return st;
  }
  running_ = true;
  pid_t pm = static_cast<pid_t>(std::atol(ReadFile(data_dir_ / "postmaster.pid").c_str()));
  SetSlotState(slot_, kSlotRunning, pm);
  return Status::Ok();
}

Status TestCluster::Stop(const std::string& mode) {
  if (!running_) return Status::Ok();
  DBR_RETURN_IF_ERROR(RunPgCtl({"-D", data_dir_.string(), "-m", mode, "-w", "-t", "60", "stop"},
                               "pg_ctl stop -m " + mode));
  running_ = false;
  SetSlotState(slot_, kSlotIdle);
  return Status::Ok();
}

Status TestCluster::StartAgain() {
  if (running_) return Status::Ok();
  return StartServer();
}

Status TestCluster::Restart(const std::map<std::string, std::string>& new_settings) {
  for (const auto& [k, v] : new_settings) settings_[k] = v;
  DBR_RETURN_IF_ERROR(WriteSettings().Wrap("restarting PostgreSQL " + std::to_string(major_)));
  DBR_RETURN_IF_ERROR(Stop("fast"));
  return StartServer();
}

pg::ConnParams TestCluster::Params(const std::string& dbname, const std::string& user,
                                   const std::string& password) const {
  pg::ConnParams p;
  p.label = "test-pg" + std::to_string(major_);
  p.host = host();
  p.port = port_;
  p.user = user;
  p.password = password;
  p.dbname = dbname;
  p.application_name = "dbr_test_harness";
  return p;
}

Result<pg::Connection> TestCluster::Connect(const std::string& dbname, const std::string& user,
                                            const std::string& password) const {
  return pg::Connection::Open(Params(dbname, user, password));
}

Status TestCluster::Exec(const std::string& sql, const std::string& dbname) {
  auto conn = Connect(dbname);
  if (!conn.ok()) return conn.status();
  return conn->Exec(sql);
}

Result<std::string> TestCluster::QueryValue(const std::string& sql, const std::string& dbname) {
  auto conn = Connect(dbname);
  if (!conn.ok()) return conn.status();
  return conn->QueryValue(sql);
}

Status TestCluster::CreateDatabase(const std::string& name) {
  return Exec("CREATE DATABASE " + pg::QuoteIdent(name));
}

// ---------------------------------------------------------------------------------------------
// db_relocate and temp dirs
// ---------------------------------------------------------------------------------------------

std::string DbRelocateBinary() {
  const char* chosen = std::getenv("DBR_BINARY");
  return chosen != nullptr && *chosen != '\0' ? chosen : DBR_BINARY;
}

namespace {

// RunDbRelocate, with stderr written to `stderr_file` when given (and read back into `err`).
CommandResult RunDbRelocateTo(const std::vector<std::string>& args,
                              const std::map<std::string, std::string>& env, const fs::path& cwd,
                              const fs::path& stderr_file) {
  ProcessSpec spec;
  if (!cwd.empty()) {
    // ProcessSpec has no working directory: a shell changes into it (exit 127 if it cannot, so
    // that is never mistaken for db_relocate's usage error 2), then execs the binary.
    spec.argv = {"/bin/sh", "-c", "cd -- \"$1\" || exit 127; shift; exec \"$@\"", "sh",
                 cwd.string()};
  }
  spec.argv.push_back(DbRelocateBinary());
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.env = SanitizerReportEnv();
  for (const auto& [name, value] : env) spec.env[name] = value;
  spec.stderr_file = stderr_file;
  auto out = RunProcess(spec);
  for (const auto& report : TakeSanitizerReports())
    ADD_FAILURE() << "sanitizer report from db_relocate " << (args.empty() ? "" : args.front())
                  << ": " << report;
  if (!out.ok()) return {-1, "", out.message()};
  CommandResult result{out->exit_code, std::move(out->out), std::move(out->err)};
  if (!stderr_file.empty()) {
    std::ifstream in(stderr_file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    result.err = text.str();
  }
  return result;
}

}  // namespace

CommandResult RunDbRelocate(const std::vector<std::string>& args,
                            const std::map<std::string, std::string>& env, const fs::path& cwd) {
  return RunDbRelocateTo(args, env, cwd, {});
}

BackgroundDbRelocate::BackgroundDbRelocate(std::vector<std::string> args, fs::path log_file,
                                           std::map<std::string, std::string> env)
    : log_file_(std::move(log_file)) {
  std::error_code ec;
  fs::remove(log_file_, ec);  // the file is appended to: start from nothing
  done_ = std::async(std::launch::async,
                     [args = std::move(args), env = std::move(env), file = log_file_] {
                       return RunDbRelocateTo(args, env, {}, file);
                     });
}

BackgroundDbRelocate::~BackgroundDbRelocate() {
  if (done_.valid()) done_.wait();
}

std::string BackgroundDbRelocate::Log() const {
  std::ifstream in(log_file_, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool BackgroundDbRelocate::WaitForLog(const std::string& text,
                                      std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    // Ended or not, the log is read once more after it is seen to have ended.
    const bool ended =
        !done_.valid() || done_.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
    if (Log().find(text) != std::string::npos) return true;
    if (ended || std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

CommandResult BackgroundDbRelocate::Wait() {
  return done_.get();
}

TempDir::TempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr)
    throw std::runtime_error("TempDir: mkdtemp " + tmpl + " failed: " + strerror(errno));
  path_ = tmpl;
}

TempDir::~TempDir() {
  if (KeepTemp()) {
    std::cerr << "[harness] DBR_KEEP_TEMP=1: keeping " << path_ << "\n";
    return;
  }
  std::error_code ec;
  fs::remove_all(path_, ec);
}

Result<int> PickFreePort() {
  return PickFreePortImpl();
}

Result<ClusterPair> StartPair(int first_major, int second_major) {
  auto a = std::async(std::launch::async, [=] { return TestCluster::Start(first_major); });
  auto b = std::async(std::launch::async, [=] { return TestCluster::Start(second_major); });
  auto first = a.get();
  auto second = b.get();
  if (!first.ok()) return first.status();
  if (!second.ok()) return second.status();
  return ClusterPair{std::move(first).value(), std::move(second).value()};
}

}  // namespace dbr::test
