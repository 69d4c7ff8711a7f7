#include "harness/double_process.h"

#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "util/process.h"

namespace fs = std::filesystem;

namespace dbr::test {
namespace {

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool WaitForExit(pid_t pid, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (ProcessAlive(pid)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<DoubleProcess>> DoubleProcess::Launch(const std::string& script,
                                                             const nlohmann::json& seed,
                                                             const std::string& name) {
  std::unique_ptr<DoubleProcess> d(new DoubleProcess());
  d->dir_ = std::make_unique<TempDir>("dbr-double");
  const fs::path& dir = d->dir_->path();
  chmod(dir.c_str(), 0755);  // the clusters' postgres user must reach the work directory
  fs::path seed_file = dir / "seed.json", ready = dir / "ready.json", out = dir / "double.out";
  std::ofstream(seed_file) << seed.dump(2);
  auto port = PickFreePort();
  if (!port.ok()) return port.status();

  ProcessSpec spec;
  spec.argv = {"/usr/bin/python3", std::string(DBR_SOURCE_DIR) + "/" + script,
               "--seed",           seed_file.string(),
               "--workdir",        (dir / "work").string(),
               "--port",           std::to_string(*port),
               "--ready-file",     ready.string()};
  spec.stdout_file = out;
  spec.stderr_file = out;
  auto pid = SpawnDetached(spec);
  if (!pid.ok()) return pid.status().Wrap("starting " + name);
  d->pid_ = *pid;

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!fs::exists(ready)) {
    if (!ProcessAlive(d->pid_))
      return Status::Error(name + " exited while starting: " + ReadAll(out));
    if (std::chrono::steady_clock::now() > deadline)
      return Status::Error(name + " did not listen within 30 s: " + ReadAll(out));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto ready_json = nlohmann::json::parse(ReadAll(ready), nullptr, false);
  if (ready_json.is_discarded() || !ready_json.contains("endpoint"))
    return Status::Error(name + " wrote an unreadable ready file " + ready.string());
  d->endpoint_ = ready_json["endpoint"].get<std::string>();
  return d;
}

DoubleProcess::~DoubleProcess() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  if (!WaitForExit(pid_, std::chrono::seconds(60))) {
    kill(pid_, SIGKILL);
    WaitForExit(pid_, std::chrono::seconds(5));
  }
}

}  // namespace dbr::test
