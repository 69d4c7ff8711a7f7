#include "util/fault.h"

#include <signal.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "util/clock.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/poll.h"

namespace dbr {

void CrashPoint(const char* point) {
  static const char* target = std::getenv("DBR_CRASH_AT");
  if (target != nullptr && std::strcmp(target, point) == 0) raise(SIGKILL);
}

std::optional<std::chrono::milliseconds> PauseAt(std::string_view spec, std::string_view point) {
  const size_t colon = spec.rfind(':');
  if (colon == std::string_view::npos || spec.substr(0, colon) != point) return std::nullopt;
  std::optional<int64_t> ms = ParseInt(spec.substr(colon + 1), 0);
  if (!ms) return std::nullopt;
  return std::chrono::milliseconds(*ms);
}

void PausePoint(const char* point) {
  static const char* spec = std::getenv("DBR_PAUSE_AT");
  static const char* release = std::getenv("DBR_PAUSE_RELEASE");
  if (spec == nullptr) return;
  auto pause = PauseAt(spec, point);
  if (!pause) return;
  if (release == nullptr) return RealClock().SleepFor(*pause);
  auto released =
      PollUntil(RealClock(), *pause, std::chrono::milliseconds(20), []() -> Result<bool> {
        std::error_code ec;
        return std::filesystem::exists(release, ec);
      });
  if (released.ok() && !*released)
    log::warn("pause point {}: {} not made within {} ms; going on", point, release, pause->count());
}

}  // namespace dbr
