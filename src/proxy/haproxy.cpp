#include "proxy/haproxy.h"

#include <arpa/inet.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "model/timings.h"
#include "proxy/haproxy_runtime.h"
#include "util/files.h"
#include "util/host_port.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/process.h"
#include "util/retry.h"

namespace fs = std::filesystem;

namespace dbr {
namespace {

// HAProxy's server for a side: src or dst.
std::string ServerName(Side side) {
  return std::string(NameOf(side));
}

std::string Address(const std::string& host, int port) {
  return host + ":" + std::to_string(port);
}

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// Characters that would break (or inject into) a haproxy.cfg line or a runtime API command.
bool SafeToken(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '#' || c == ';' || c == '"' ||
        c == '\'' || c == '\\')
      return false;
  return true;
}

// cutover.listen as host and port, the host fit for haproxy.cfg.
Result<HostPort> ListenAddress(const std::string& listen) {
  auto address = ParseHostPort(listen);
  if (!address.ok()) return address.status().Wrap("cutover.listen");
  if (!SafeToken(address->host))
    return Status::Error("cutover.listen: \"" + listen + "\" cannot go into haproxy.cfg");
  return address;
}

// `haproxy` from PATH, else Debian's /usr/sbin/haproxy (not on a normal user's PATH).
std::string HAProxyBinary() {
  if (const char* path = std::getenv("PATH")) {
    std::istringstream dirs(path);
    for (std::string dir; std::getline(dirs, dir, ':');)
      if (!dir.empty() && access((fs::path(dir) / "haproxy").c_str(), X_OK) == 0)
        return (fs::path(dir) / "haproxy").string();
  }
  if (access("/usr/sbin/haproxy", X_OK) == 0) return "/usr/sbin/haproxy";
  return "haproxy";
}

Status RunHAProxy(const std::vector<std::string>& args, const std::string& what) {
  ProcessSpec spec;
  spec.argv.push_back(HAProxyBinary());
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  DBR_ASSIGN_OR_RETURN(ProcessOutput out, RunProcess(spec));
  if (out.exit_code == 0) return Status::Ok();
  // HAProxy prints NOTICE lines (version, path) before the ALERTs that say what is wrong: keep
  // only the latter, without their "[ALERT]    (pid) : " prefix.
  std::string alerts;
  std::istringstream lines(out.err);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("[ALERT]") == std::string::npos) continue;
    const size_t colon = line.find(") : ");
    alerts +=
        (alerts.empty() ? "" : "; ") + (colon == std::string::npos ? line : line.substr(colon + 4));
  }
  std::string message = what + ": " + (alerts.empty() ? DescribeFailure(spec, out) : alerts);
  if (out.exit_code == 127) message += "; is HAProxy installed (Debian: apt-get install haproxy)?";
  return Status::Error(message);
}

// The pid in the pid file when that process is alive and is a haproxy; 0 otherwise.
pid_t RunningPid(const fs::path& pid_file) {
  std::ifstream in(pid_file);
  pid_t pid = 0;
  if (!(in >> pid) || pid <= 0 || !ProcessAlive(pid)) return 0;
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  if (comm >> name && name != "haproxy") return 0;  // the pid was reused by something else
  return pid;
}

class HAProxy : public Proxy {
 public:
  // The config fills in every path (config/config.cpp); the pid file sits beside the config.
  explicit HAProxy(const Config& config) : cutover_(config.cutover) {
    socket_ = cutover_.admin;
    config_file_ = cutover_.config_file;
    pid_file_ = fs::path(config_file_).parent_path() / "haproxy.pid";
  }

  const char* name() const override { return "HAProxy"; }

  Status Provision(const Backend& active, const std::optional<Backend>& standby) override;
  Status RetireStandby(const Backend& active) override;
  Result<ProxyState> Inspect() override;
  Status Pause(std::chrono::milliseconds timeout) override;
  Status PointTo(const Backend& backend) override;
  Status Resume() override;
  std::string HowToPointTo(const Backend& backend) const override {
    const std::string name = Server(ServerName(backend.side));
    return fmt::format(
        "on HAProxy's runtime API ({}): `set server {} addr {} port {}`, `set server {} state "
        "maint`, `set server {} state ready`",
        socket_.string(), name, backend.host, backend.port, Server(ServerName(Other(backend.side))),
        name);
  }
  Status StopManaged() override;

 private:
  std::string Where() const { return "HAProxy (runtime API " + socket_.string() + ")"; }
  std::string Server(const std::string& name) const { return cutover_.backend + "/" + name; }

  Result<std::string> Command(const std::string& command) {
    auto reply = HAProxyCommand(socket_, command);
    if (reply.ok()) log::debug("haproxy {}: {} -> {}", socket_.string(), command, *reply);
    return reply;
  }
  // A state-changing command whose success is an empty reply.
  Status Act(const std::string& command) {
    DBR_ASSIGN_OR_RETURN(std::string reply, Command(command));
    return CheckEmptyReply(socket_, command, reply);
  }
  Status SetState(const std::string& side, const std::string& state) {
    return Act("set server " + Server(side) + " state " + state);
  }

  // src and dst as the running HAProxy sees them; an error when the backend or a server is
  // missing (not the HAProxy db_relocate expects).
  Result<std::vector<HAProxyServerState>> Servers();
  Result<int> Sessions(const std::string& side);  // current sessions on the server
  Status WaitForSocket(const std::string& what);
  Status ConvergeRuntime(const Backend& active, const std::optional<Backend>& standby);
  Status UpdateAddress(const HAProxyServerState& current, const Backend& wanted);

  CutoverConfig cutover_;
  fs::path socket_, config_file_, pid_file_;
  std::string paused_from_;  // the server Pause() put into maintenance
  std::string target_;       // the server PointTo() chose
};

Result<std::vector<HAProxyServerState>> HAProxy::Servers() {
  const std::string command = "show servers state " + cutover_.backend;
  DBR_ASSIGN_OR_RETURN(std::string reply, Command(command));
  if (reply.find("Can't find backend") != std::string::npos)
    return Status::Error(Where() + " has no backend \"" + cutover_.backend +
                         "\"; set cutover.backend to the backend holding servers src and dst");
  DBR_ASSIGN_OR_RETURN(auto all, ParseServersState(reply));
  // Both normally; one once cleanup has retired the other.
  std::vector<HAProxyServerState> servers;
  for (const auto& s : all)
    if (s.backend == cutover_.backend && (s.name == "src" || s.name == "dst")) servers.push_back(s);
  if (servers.empty())
    return Status::Error(Where() + ": backend " + cutover_.backend +
                         " has no server named src or dst; db_relocate needs servers named src "
                         "and dst in it");
  return servers;
}

Result<int> HAProxy::Sessions(const std::string& side) {
  DBR_ASSIGN_OR_RETURN(std::string reply, Command("show stat " + cutover_.backend + " 4 -1"));
  DBR_ASSIGN_OR_RETURN(auto rows, ParseStatCsv(reply));
  for (auto& row : rows)
    if (row["pxname"] == cutover_.backend && row["svname"] == side) {
      if (auto n = ParseInt(row["scur"], 0, INT32_MAX)) return static_cast<int>(*n);
      break;
    }
  return Status::Error(Where() + ": `show stat` has no session count for server " + Server(side));
}

Status HAProxy::WaitForSocket(const std::string& what) {
  return Retry(Timings::Default().proxies.haproxy_socket, what, [&]() -> Status {
    auto servers = Servers();
    return servers.status();
  });
}

Status HAProxy::UpdateAddress(const HAProxyServerState& current, const Backend& wanted) {
  if (wanted.host.empty() || wanted.port == 0) return Status::Ok();
  if (!IsIpLiteral(wanted.host)) {
    // The runtime API takes an IP address; a host name is resolved when the config is loaded
    // (Provision writes it), so there is nothing to compare here.
    if (current.port != wanted.port)
      return Status::Error(Where() + ": server " + Server(ServerName(wanted.side)) + " uses port " +
                           std::to_string(current.port) + ", not " + std::to_string(wanted.port) +
                           " of " + wanted.host +
                           "; fix the server line in HAProxy's config and reload it");
    return Status::Ok();
  }
  if (current.addr == wanted.host && current.port == wanted.port) return Status::Ok();
  const std::string command = "set server " + Server(ServerName(wanted.side)) + " addr " +
                              wanted.host + " port " + std::to_string(wanted.port);
  DBR_ASSIGN_OR_RETURN(std::string reply, Command(command));
  // Success is a sentence too: "IP changed from ..." or "no need to change the addr, port
  // changed from ...".
  if (reply.find("changed from") == std::string::npos &&
      reply.find("no need to change") == std::string::npos)
    return CheckEmptyReply(socket_, command, reply);
  log::info("HAProxy server {} now points at {}", Server(ServerName(wanted.side)),
            Address(wanted.host, wanted.port));
  return Status::Ok();
}

// When the config on disk is already the right one, the running HAProxy may still differ from it
// (a cut-over happened since it was loaded): make the runtime state match it.
Status HAProxy::ConvergeRuntime(const Backend& active, const std::optional<Backend>& standby) {
  DBR_ASSIGN_OR_RETURN(auto servers, Servers());
  for (const auto& s : servers) {
    const bool is_active = s.name == ServerName(active.side);
    if (!is_active && !standby) continue;
    DBR_RETURN_IF_ERROR(UpdateAddress(s, is_active ? active : *standby));
    if (!is_active && !s.maint()) DBR_RETURN_IF_ERROR(SetState(s.name, "maint"));
  }
  for (const auto& s : servers)
    if (s.name == ServerName(active.side) && !s.ready())
      DBR_RETURN_IF_ERROR(SetState(s.name, "ready"));
  return Status::Ok();
}

Status HAProxy::RetireStandby(const Backend& active) {
  if (!cutover_.manage) {
    log::info(
        "HAProxy is not managed by db_relocate: remove its server {} from backend {} by "
        "hand (it stays in maintenance)",
        ServerName(Other(active.side)), cutover_.backend);
    return Status::Ok();
  }
  return Provision(active, std::nullopt);
}

// Without a standby the backend holds the active server only.
Status HAProxy::Provision(const Backend& active, const std::optional<Backend>& standby) {
  if (standby && active.side == standby->side)
    return Status::Error("HAProxy: the active and the standby server are both " +
                         ServerName(active.side));
  DBR_RETURN_IF_ERROR(ListenAddress(cutover_.listen).status());
  for (const Backend* b : {&active, standby ? &*standby : nullptr})
    if (b != nullptr && (!SafeToken(b->host) || b->port <= 0 || b->port > 65535))
      return Status::Error("HAProxy server " + Server(ServerName(b->side)) +
                           ": invalid address \"" + Address(b->host, b->port) + "\"");
  for (const std::string& token : {cutover_.backend, socket_.string(), pid_file_.string()})
    if (!SafeToken(token))
      return Status::Error("HAProxy: \"" + token +
                           "\" cannot go into haproxy.cfg (empty, or has a space, quote, # or "
                           "backslash); check cutover.backend, cutover.admin and state_dir");

  HAProxyLayout layout;
  layout.listen = cutover_.listen;
  layout.admin_socket = socket_;
  layout.pid_file = pid_file_;
  layout.backend = cutover_.backend;
  if (geteuid() == 0 && !cutover_.run_as.empty()) {
    // Started by root, HAProxy binds its sockets and writes its pid file as root, then drops to
    // run_as for the traffic: a proxy facing the application does not need root.
    const passwd* pw = getpwnam(cutover_.run_as.c_str());
    if (pw == nullptr)
      return Status::Error("cutover.run_as: there is no user \"" + cutover_.run_as +
                           "\" on this host for HAProxy to run as; create it or set another");
    layout.user = cutover_.run_as;
    const group* gr = getgrgid(pw->pw_gid);
    layout.group = gr != nullptr ? gr->gr_name : std::to_string(pw->pw_gid);
  }
  const std::string text = RenderHAProxyConfig(layout, active, standby);

  for (const fs::path& dir :
       {fs::path(config_file_).parent_path(), socket_.parent_path(), pid_file_.parent_path()})
    if (!dir.empty()) DBR_RETURN_IF_ERROR(EnsureDirectory(dir));

  // Check the new text before it replaces the file the running HAProxy was started from.
  const fs::path candidate = config_file_.string() + ".check";
  DBR_RETURN_IF_ERROR(WriteFileAtomic(candidate, text));
  Status checked =
      RunHAProxy({"-c", "-f", candidate.string()},
                 "HAProxy rejects the config db_relocate wrote (" + config_file_.string() + ")");
  std::error_code ignored;
  fs::remove(candidate, ignored);
  DBR_RETURN_IF_ERROR(checked);

  auto old_text = ReadFile(config_file_);
  const bool unchanged = old_text.ok() && *old_text == text;
  const pid_t pid = RunningPid(pid_file_);
  if (pid != 0 && unchanged && Servers().ok()) {
    log::info("HAProxy (pid {}) already runs with {}; checking its servers", pid,
              config_file_.string());
    return ConvergeRuntime(active, standby).Wrap("HAProxy pid " + std::to_string(pid));
  }
  DBR_RETURN_IF_ERROR(WriteFileAtomic(config_file_, text));

  if (pid == 0) {
    fs::remove(socket_, ignored);  // a stale socket of a HAProxy that died
    log::info("starting HAProxy on {} ({}, runtime API {})", cutover_.listen, config_file_.string(),
              socket_.string());
    DBR_RETURN_IF_ERROR(RunHAProxy({"-D", "-f", config_file_.string()},
                                   "cannot start HAProxy with " + config_file_.string()));
  } else {
    // Graceful reload: the new process takes the listening sockets from the old one over the
    // runtime API (-x, needs `expose-fd listeners`), so no connection is refused meanwhile; the
    // old one (-sf) stops accepting and exits when its last session ends.
    log::info("reloading HAProxy (pid {}) with {}", pid, config_file_.string());
    std::vector<std::string> args = {"-D", "-f", config_file_.string()};
    if (fs::exists(socket_)) args.insert(args.end(), {"-x", socket_.string()});
    args.insert(args.end(), {"-sf", std::to_string(pid)});
    DBR_RETURN_IF_ERROR(RunHAProxy(args, "cannot reload HAProxy (pid " + std::to_string(pid) +
                                             ") with " + config_file_.string()));
  }
  DBR_RETURN_IF_ERROR(WaitForSocket("waiting for HAProxy's runtime API " + socket_.string()));
  paused_from_.clear();
  target_.clear();
  log::info("HAProxy on {} sends traffic to {} ({})", cutover_.listen, active.side,
            Address(active.host, active.port));
  return Status::Ok();
}

Result<ProxyState> HAProxy::Inspect() {
  ProxyState state;
  std::ostringstream detail;
  pid_t pid = RunningPid(pid_file_);
  if (cutover_.manage)
    detail << "managed HAProxy, config " << config_file_.string() << ", "
           << (pid != 0 ? "pid " + std::to_string(pid) : "not running") << "\n";
  auto servers = Servers();
  if (!servers.ok()) {
    detail << servers.message() << "\n";
    state.detail = detail.str();
    return state;
  }
  state.running = true;
  detail << "listening on " << cutover_.listen << ", runtime API " << socket_.string() << "\n";
  std::vector<std::string> ready;
  for (const auto& s : *servers) {
    auto sessions = Sessions(s.name);
    detail << "server " << Server(s.name) << " " << Address(s.addr, s.port) << ": " << s.Describe();
    if (sessions.ok()) detail << ", " << *sessions << " session(s)";
    detail << "\n";
    if (s.ready()) ready.push_back(s.name);
  }
  state.paused = ready.empty();
  if (ready.size() == 1) state.active = FromName<Side>(ready.front());
  if (ready.size() > 1)
    detail << "both servers are ready: HAProxy splits new connections between src and dst\n";
  state.detail = detail.str();
  return state;
}

Status HAProxy::Pause(std::chrono::milliseconds timeout) {
  DBR_ASSIGN_OR_RETURN(auto servers, Servers());
  std::vector<std::string> ready;
  for (const auto& s : servers)
    if (s.ready()) ready.push_back(s.name);
  if (ready.size() > 1)
    return Status::Error(Where() + ": both " + Server("src") + " and " + Server("dst") +
                         " are ready, so traffic already goes to both; put the one the "
                         "application should not use in maintenance (`set server " +
                         Server("dst") + " state maint`) and retry");
  if (ready.empty()) {
    log::warn("{}: neither {} nor {} is ready: new connections are already refused", Where(),
              Server("src"), Server("dst"));
    return Status::Ok();
  }
  const std::string active = ready.front();
  log::info("pausing HAProxy: {} to maintenance, ending its sessions", Server(active));
  DBR_RETURN_IF_ERROR(SetState(active, "maint"));
  auto undo = [&](const Status& failure) {
    Status back = SetState(active, "ready");
    if (!back.ok())
      return failure.Wrap("pausing HAProxy failed and " + Server(active) +
                          " could not be made ready again (" + back.message() +
                          "): run `set server " + Server(active) + " state ready` on " +
                          socket_.string());
    return failure.Wrap("pausing HAProxy failed; " + Server(active) + " takes traffic again");
  };
  Status shut = Act("shutdown sessions server " + Server(active));
  if (!shut.ok()) return undo(shut);

  // Sessions are killed asynchronously: wait until the server has none left.
  Clock& clock = RealClock();
  const Clock::TimePoint deadline = clock.Now() + timeout;
  while (true) {
    auto sessions = Sessions(active);
    if (!sessions.ok()) return undo(sessions.status());
    if (*sessions == 0) break;
    if (clock.Now() >= deadline)
      return undo(Status::Error(Where() + ": " + Server(active) + " still has " +
                                std::to_string(*sessions) + " session(s) after " +
                                std::to_string(timeout.count()) +
                                " ms; raise cutover.pause_timeout or look for stuck clients"));
    clock.SleepFor(Timings::Default().proxies.haproxy_drain_poll);
  }
  paused_from_ = active;
  return Status::Ok();
}

Status HAProxy::PointTo(const Backend& backend) {
  DBR_ASSIGN_OR_RETURN(auto servers, Servers());
  const std::string name = ServerName(backend.side), other = ServerName(Other(backend.side));
  bool found = false;
  for (const auto& s : servers) found = found || s.name == name;
  if (!found)
    return Status::Error(Where() + ": backend " + cutover_.backend + " has no server named " +
                         name +
                         " (cleanup removes the old database from a managed "
                         "HAProxy; `db_relocate proxy` puts it back)");
  for (const auto& s : servers) {
    if (s.name == name) DBR_RETURN_IF_ERROR(UpdateAddress(s, backend));
    if (s.name == other && !s.maint()) DBR_RETURN_IF_ERROR(SetState(other, "maint"));
  }
  target_ = name;
  log::info("HAProxy will send new connections to {} ({}) on resume", Server(name),
            Address(backend.host, backend.port));
  return Status::Ok();
}

Status HAProxy::Resume() {
  const std::string target = !target_.empty() ? target_ : paused_from_;
  if (target.empty())
    return Status::Error(Where() +
                         ": nothing to resume: this run neither paused nor pointed "
                         "HAProxy anywhere; to send traffic by hand run `set server " +
                         Server("src|dst") + " state ready` on " + socket_.string());
  DBR_RETURN_IF_ERROR(SetState(target, "ready"));
  log::info("HAProxy resumed: new connections go to {}", Server(target));
  paused_from_.clear();
  return Status::Ok();
}

Status HAProxy::StopManaged() {
  if (!cutover_.manage) return Status::Ok();
  std::error_code ignored;
  const pid_t pid = RunningPid(pid_file_);
  if (pid != 0) {
    log::info("stopping the managed HAProxy (pid {})", pid);
    if (kill(pid, SIGTERM) != 0 && errno != ESRCH)
      return Status::Error("cannot stop HAProxy pid " + std::to_string(pid) + " (from " +
                           pid_file_.string() + "): " + strerror(errno));
    const Timings::Proxies& t = Timings::Default().proxies;
    if (!t.haproxy_stop.Until([&] { return !ProcessAlive(pid); })) {
      log::warn("HAProxy pid {} ignored SIGTERM for {} s; killing it", pid,
                t.haproxy_stop.LimitSeconds());
      kill(pid, SIGKILL);
      if (!t.haproxy_kill.Until([&] { return !ProcessAlive(pid); }))
        return Status::Error("HAProxy pid " + std::to_string(pid) +
                             " survived SIGKILL; stop it by hand");
    }
  }
  fs::remove(socket_, ignored);
  fs::remove(pid_file_, ignored);
  return Status::Ok();
}

}  // namespace

std::string RenderHAProxyConfig(const HAProxyLayout& layout, const Backend& active,
                                const std::optional<Backend>& standby) {
  auto listen = ListenAddress(layout.listen);
  // Without the brackets of an IPv6 address: HAProxy's syntax.
  const std::string listen_host = listen.ok() ? Address(listen->host, listen->port) : layout.listen;
  std::ostringstream out;
  out << "# Written by db_relocate (cutover.manage: true); it is rewritten on every provision.\n"
         "global\n"
         "  # Runtime API: db_relocate pauses and switches servers through it; expose-fd lets a\n"
         "  # reload (-x) take over the listening sockets without refusing connections.\n"
      << "  stats socket " << layout.admin_socket.string()
      << " mode 600 level admin expose-fd listeners\n"
      << "  pidfile " << layout.pid_file.string() << "\n";
  if (!layout.user.empty()) out << "  user " << layout.user << "\n";
  if (!layout.group.empty()) out << "  group " << layout.group << "\n";
  out << "\n"
         "defaults\n"
         "  mode tcp\n"
         "  timeout connect 2s\n"
         "  # Database sessions idle for long stretches (pools): only drop them after 30 min.\n"
         "  timeout client 30m\n"
         "  timeout server 30m\n"
         "  timeout queue 5s\n"
         "  option tcpka\n"
         "\n"
      << "frontend " << layout.backend << "_in\n"
      << "  bind " << listen_host << "\n"
      << "  default_backend " << layout.backend << "\n"
      << "\n"
      << "backend " << layout.backend << "\n"
      << "  # Exactly one server is ready; the other is in maintenance (`disabled`). There are\n"
         "  # no health checks, so no on-marked-down: HAProxy never moves traffic by itself, and\n"
         "  # db_relocate ends the old server's sessions explicitly when it pauses.\n";
  for (const Side side : {Side::kSource, Side::kDestination}) {
    if (side != active.side && !standby) continue;  // retired by cleanup
    const Backend& b = side == active.side ? active : *standby;
    out << "  server " << ServerName(side) << " " << Address(b.host, b.port)
        << (side == active.side ? "" : " disabled") << "\n";
  }
  return out.str();
}

std::unique_ptr<Proxy> MakeHAProxy(const Config& config) {
  return std::make_unique<HAProxy>(config);
}

}  // namespace dbr
