// Shared by the AWS unit tests: a temp directory and the local AWS double
// (tests/aws_double/metadata_double.py) started on a free loopback port and stopped with the
// object.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "aws/credentials.h"
#include "util/process.h"

namespace dbr::aws::testing {

namespace fs = std::filesystem;

// __FILE__ is relative to the build directory under Ninja; the build directory's CMakeCache.txt
// (found above the test binary) names the source tree.
inline fs::path AwsDoubleDir() {
  fs::path here(__FILE__);
  if (here.is_absolute()) return here.parent_path().parent_path() / "aws_double";
  std::error_code ec;
  for (fs::path dir = fs::read_symlink("/proc/self/exe", ec).parent_path();
       !dir.empty() && dir != dir.root_path(); dir = dir.parent_path()) {
    std::ifstream cache(dir / "CMakeCache.txt");
    const std::string key = "CMAKE_HOME_DIRECTORY:INTERNAL=";
    for (std::string line; std::getline(cache, line);)
      if (line.rfind(key, 0) == 0) return fs::path(line.substr(key.size())) / "tests/aws_double";
  }
  return fs::current_path() / "tests/aws_double";
}

inline constexpr const char* kPython = "/usr/bin/python3";

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("dbr_aws_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
             std::to_string(std::random_device{}()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path Write(const std::string& name, const std::string& text, bool executable = false) const {
    fs::path file = path_ / name;
    std::ofstream(file) << text;
    if (executable) fs::permissions(file, fs::perms::owner_all, fs::perm_options::add);
    return file;
  }

 private:
  fs::path path_;
};

inline std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The double runs for the lifetime of this object; construction fails the test (ASSERT in
// the caller via ok()) when it does not come up within five seconds.
class AwsDouble {
 public:
  explicit AwsDouble(std::vector<std::string> extra_args = {}) {
    fs::path port_file = dir_.path() / "port";
    std::vector<std::string> argv = {kPython, (AwsDoubleDir() / "metadata_double.py").string(),
                                     "--port-file", port_file.string()};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    Result<pid_t> pid = SpawnDetached(ProcessSpec{argv, {}, {}, dir_.path() / "stderr"});
    if (!pid.ok()) {
      error_ = pid.message();
      return;
    }
    pid_ = *pid;
    for (int i = 0; i < 100 && !fs::exists(port_file); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!fs::exists(port_file)) {
      error_ = "the AWS double did not start: " + ReadFile(dir_.path() / "stderr");
      return;
    }
    url_ = "http://127.0.0.1:" + ReadFile(port_file);
  }
  ~AwsDouble() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100 && ProcessAlive(pid_); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  AwsDouble(const AwsDouble&) = delete;
  AwsDouble& operator=(const AwsDouble&) = delete;

  bool ok() const { return !url_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& url() const { return url_; }  // "http://127.0.0.1:PORT"

 private:
  TempDir dir_;
  pid_t pid_ = -1;
  std::string url_;
  std::string error_;
};

// An EnvLookup over a fixed map: tests never read or change the process environment.
inline EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace dbr::aws::testing
