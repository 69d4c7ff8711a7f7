#include "util/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <utility>

extern char** environ;

namespace dbr {
namespace {

std::vector<std::string> MergedEnvironment(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) merged[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) merged[k] = v;
  std::vector<std::string> out;
  out.reserve(merged.size());
  for (const auto& [k, v] : merged) out.push_back(k + "=" + v);
  return out;
}

// Holds the exec arguments alive while the child is spawned.
struct ExecArgs {
  std::vector<std::string> argv_storage, env_storage;
  std::vector<char*> argv, envp;
  explicit ExecArgs(const ProcessSpec& spec)
      : argv_storage(spec.argv), env_storage(MergedEnvironment(spec.env)) {
    for (auto& a : argv_storage) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env_storage) envp.push_back(e.data());
    envp.push_back(nullptr);
  }
};

// A descriptor of ours, closed on every path.
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&&) = delete;
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// `file` opened to append to (made, private to us, if missing); when empty, /dev/null if
// `or_null`, else -1 (the output is captured).
Result<UniqueFd> OpenOutput(const std::filesystem::path& file, bool or_null) {
  if (file.empty() && !or_null) return UniqueFd();
  const int fd = file.empty() ? open("/dev/null", O_WRONLY | O_CLOEXEC)
                              : open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0)
    return Status::Error("cannot open " + (file.empty() ? "/dev/null" : file.string()) +
                         " for a program's output: " + strerror(errno));
  return UniqueFd(fd);
}

struct Pipe {
  UniqueFd read, write;
};

Result<Pipe> OpenPipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return Status::Error(std::string("cannot create pipe: ") + strerror(errno));
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// posix_spawn's file actions and attributes, released on every path.
class SpawnSetup {
 public:
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions_);
    posix_spawnattr_init(&attr_);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions_);
    posix_spawnattr_destroy(&attr_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
  posix_spawn_file_actions_t* actions() { return &actions_; }
  posix_spawnattr_t* attr() { return &attr_; }

 private:
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attr_;
};

// Starts `args` with its input from /dev/null and its output and errors on `out_fd` and
// `err_fd`; 0, or the errno of why it could not be run. posix_spawn, not fork: the child shares
// our memory until it executes (no copy of a sanitized process's page tables, no fault on every
// page we write next), and it runs none of our code, which after a fork of a process with
// threads may only call async-signal-safe functions.
int Spawn(ExecArgs& args, int out_fd, int err_fd, short flags, pid_t* pid) {
  SpawnSetup setup;
  for (int error :
       {posix_spawn_file_actions_addopen(setup.actions(), STDIN_FILENO, "/dev/null", O_RDONLY, 0),
        posix_spawn_file_actions_adddup2(setup.actions(), out_fd, STDOUT_FILENO),
        posix_spawn_file_actions_adddup2(setup.actions(), err_fd, STDERR_FILENO),
        posix_spawnattr_setflags(setup.attr(), flags)})
    if (error != 0) return error;
  return posix_spawnp(pid, args.argv[0], setup.actions(), setup.attr(), args.argv.data(),
                      args.envp.data());
}

std::string CannotExecute(const ExecArgs& args, int error) {
  return std::string("cannot execute ") + args.argv[0] + ": " + strerror(error);
}

}  // namespace

Result<ProcessOutput> RunProcess(const ProcessSpec& spec) {
  if (spec.argv.empty()) return Status::Error("internal: empty command");
  ExecArgs args(spec);
  DBR_ASSIGN_OR_RETURN(Pipe out_pipe, OpenPipe());
  DBR_ASSIGN_OR_RETURN(Pipe err_pipe, OpenPipe());
  DBR_ASSIGN_OR_RETURN(UniqueFd out_file, OpenOutput(spec.stdout_file, false));
  DBR_ASSIGN_OR_RETURN(UniqueFd err_file, OpenOutput(spec.stderr_file, false));

  pid_t pid = -1;
  const int spawned = Spawn(args, out_file.get() >= 0 ? out_file.get() : out_pipe.write.get(),
                            err_file.get() >= 0 ? err_file.get() : err_pipe.write.get(), 0, &pid);
  out_file.Reset();
  err_file.Reset();
  if (spawned == EAGAIN || spawned == ENOMEM) return Status::Error(CannotExecute(args, spawned));
  // A program that is not there or not runnable: as a shell reports it.
  if (spawned != 0)
    return ProcessOutput{.exit_code = 127, .err = CannotExecute(args, spawned) + "\n"};
  out_pipe.write.Reset();
  err_pipe.write.Reset();

  ProcessOutput result;
  pollfd fds[2] = {{out_pipe.read.get(), POLLIN, 0}, {err_pipe.read.get(), POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_count = 2;
  char buf[65536];
  while (open_count > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open_count;
      }
    }
  }
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  return result;
}

Result<pid_t> SpawnDetached(const ProcessSpec& spec) {
  if (spec.argv.empty()) return Status::Error("internal: empty command");
  ExecArgs args(spec);
  DBR_ASSIGN_OR_RETURN(UniqueFd out_fd, OpenOutput(spec.stdout_file, true));
  DBR_ASSIGN_OR_RETURN(UniqueFd err_fd, OpenOutput(spec.stderr_file, true));
  // In a session of its own: no signal sent to our terminal or process group reaches it. It is
  // our child until we exit (a zombie if it ends first, which ProcessAlive counts as gone).
  pid_t pid = -1;
  const int spawned = Spawn(args, out_fd.get(), err_fd.get(), POSIX_SPAWN_SETSID, &pid);
  if (spawned != 0) return Status::Error(CannotExecute(args, spawned));
  return pid;
}

bool ProcessAlive(pid_t pid) {
  if (pid <= 0 || kill(pid, 0) != 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_field, comm, state;
  if (stat >> pid_field >> comm >> state) return state != "Z";
  return true;
}

std::string DescribeFailure(const ProcessSpec& spec, const ProcessOutput& out) {
  std::string program = std::filesystem::path(spec.argv.empty() ? "?" : spec.argv[0]).filename();
  std::string detail = out.err.empty() ? out.out : out.err;
  if (detail.size() > 2000) detail = detail.substr(0, 2000) + "...";
  while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
  return program + " exited with code " + std::to_string(out.exit_code) +
         (detail.empty() ? "" : ": " + detail);
}

}  // namespace dbr
