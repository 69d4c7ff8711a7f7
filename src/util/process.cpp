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

int OpenForOutput(const std::filesystem::path& file) {
  if (file.empty()) return open("/dev/null", O_WRONLY | O_CLOEXEC);
  return open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

struct Pipe {
  int fds[2] = {-1, -1};
  ~Pipe() {
    for (int fd : fds)
      if (fd >= 0) close(fd);
  }
  bool Open() { return pipe2(fds, O_CLOEXEC) == 0; }
  void CloseWrite() {
    close(fds[1]);
    fds[1] = -1;
  }
};

// posix_spawn's file actions, released on every path.
class SpawnActions {
 public:
  SpawnActions() { posix_spawn_file_actions_init(&actions_); }
  ~SpawnActions() { posix_spawn_file_actions_destroy(&actions_); }
  SpawnActions(const SpawnActions&) = delete;
  SpawnActions& operator=(const SpawnActions&) = delete;
  posix_spawn_file_actions_t* get() { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_;
};

}  // namespace

Result<ProcessOutput> RunProcess(const ProcessSpec& spec) {
  if (spec.argv.empty()) return Status::Error("internal: empty command");
  ExecArgs args(spec);
  Pipe out_pipe, err_pipe;
  if (!out_pipe.Open() || !err_pipe.Open())
    return Status::Error(std::string("cannot create pipe: ") + strerror(errno));
  int out_file = spec.stdout_file.empty() ? -1 : OpenForOutput(spec.stdout_file);
  int err_file = spec.stderr_file.empty() ? -1 : OpenForOutput(spec.stderr_file);

  // posix_spawn, not fork: the child shares our memory until it executes (no copy of a sanitized
  // process's page tables), and it runs none of our code, which after a fork of a process with
  // threads may only call async-signal-safe functions.
  SpawnActions actions;
  posix_spawn_file_actions_addopen(actions.get(), STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(actions.get(), out_file >= 0 ? out_file : out_pipe.fds[1],
                                   STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(actions.get(), err_file >= 0 ? err_file : err_pipe.fds[1],
                                   STDERR_FILENO);
  pid_t pid = -1;
  const int spawned =
      posix_spawnp(&pid, args.argv[0], actions.get(), nullptr, args.argv.data(), args.envp.data());
  if (out_file >= 0) close(out_file);
  if (err_file >= 0) close(err_file);
  if (spawned != 0) {
    // As a shell reports a command it cannot run.
    return ProcessOutput{
        .exit_code = 127,
        .err = std::string("cannot execute ") + args.argv[0] + ": " + strerror(spawned) + "\n"};
  }
  out_pipe.CloseWrite();
  err_pipe.CloseWrite();

  ProcessOutput result;
  pollfd fds[2] = {{out_pipe.fds[0], POLLIN, 0}, {err_pipe.fds[0], POLLIN, 0}};
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
  const int out_fd = OpenForOutput(spec.stdout_file);
  const int err_fd = OpenForOutput(spec.stderr_file);
  SpawnActions actions;
  posix_spawn_file_actions_addopen(actions.get(), STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(actions.get(), out_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(actions.get(), err_fd, STDERR_FILENO);
  // In a session of its own: no signal sent to our terminal or process group reaches it. It is
  // our child until we exit (a zombie if it ends first, which ProcessAlive counts as gone).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  pid_t pid = -1;
  const int spawned =
      posix_spawnp(&pid, args.argv[0], actions.get(), &attr, args.argv.data(), args.envp.data());
  posix_spawnattr_destroy(&attr);
  close(out_fd);
  close(err_fd);
  if (spawned != 0)
    return Status::Error(std::string("cannot execute ") + args.argv[0] + ": " + strerror(spawned));
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
