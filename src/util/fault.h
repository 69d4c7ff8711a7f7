// Crash points for the resume tests: when the environment variable DBR_CRASH_AT names a point,
// the process kills itself with SIGKILL there, exactly as `kill -9` would. Unset in production,
// where each call is one string comparison.
//
// Pause points for the race tests: when DBR_PAUSE_AT is `point:milliseconds` (e.g.
// `publication:user-ready:3000`), the process sleeps that long at that point, so that a second
// process can be made to act inside the window the first is in. With DBR_PAUSE_RELEASE naming a
// file as well, the pause ends as soon as that file exists: a test that acts in the window
// releases it when done, however slow the machine, with the milliseconds as a cap. Unset in
// production.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace dbr {

void CrashPoint(const char* point);

void PausePoint(const char* point);
// How long DBR_PAUSE_AT's value `spec` pauses at `point`: nullopt when it names another point or
// is not `point:milliseconds` with a whole number of milliseconds.
std::optional<std::chrono::milliseconds> PauseAt(std::string_view spec, std::string_view point);

}  // namespace dbr
