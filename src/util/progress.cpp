#include "util/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace dbr {

std::string HumanBytes(double bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, units[u]);
}

std::string HumanDuration(double s) {
  if (s < 60) return fmt::format("{:.1f}s", s);
  auto total = static_cast<int64_t>(s);
  if (total < 3600) return fmt::format("{}m{:02}s", total / 60, total % 60);
  return fmt::format("{}h{:02}m", total / 3600, (total % 3600) / 60);
}

ProgressReporter::ProgressReporter(std::function<std::string()> line)
    : line_(std::move(line)), tty_(isatty(STDERR_FILENO) != 0) {
  task_ = std::make_unique<PeriodicTask>(
      tty_ ? std::chrono::milliseconds(1000) : std::chrono::milliseconds(5000),
      [this] { Print(false); }, /*call_when_stopped=*/false);
}

ProgressReporter::~ProgressReporter() {
  task_.reset();
  Print(true);
}

void ProgressReporter::Print(bool final_line) {
  std::string text = line_();
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s%s", text.c_str(), final_line ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", text.c_str());
  }
  std::fflush(stderr);
}

}  // namespace dbr
