#include "harness/sanitizer_reports.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "harness/cluster.h"

namespace fs = std::filesystem;

namespace dbr::test {
namespace {

const fs::path& ReportDir() {
  static const TempDir dir("dbr-sanitizer");
  return dir.path();
}

std::string WithLogPath(const char* variable, const std::string& ours = "") {
  std::string options = "log_path=" + (ReportDir() / "report").string() + ours;
  if (const char* own = std::getenv(variable); own != nullptr && *own != '\0')
    options += std::string(":") + own;  // later settings win: the caller's own stay in force
  return options;
}

}  // namespace

std::map<std::string, std::string> SanitizerReportEnv() {
  return {{"ASAN_OPTIONS", WithLogPath("ASAN_OPTIONS")},
          {"UBSAN_OPTIONS", WithLogPath("UBSAN_OPTIONS", ":print_stacktrace=1")}};
}

std::vector<std::string> TakeSanitizerReports() {
  static std::mutex mutex;  // runs finishing on several threads of one test
  std::lock_guard<std::mutex> lock(mutex);
  std::vector<std::string> reports;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(ReportDir(), ec)) {
    std::ifstream in(entry.path());
    std::ostringstream text;
    text << in.rdbuf();
    reports.push_back(entry.path().filename().string() + ":\n" + text.str());
    fs::remove(entry.path(), ec);
  }
  return reports;
}

}  // namespace dbr::test
