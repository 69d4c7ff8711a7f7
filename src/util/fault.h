// Crash points for the resume tests: when the environment variable DBR_CRASH_AT names a point,
// the process kills itself with SIGKILL there, exactly as `kill -9` would. Unset in production,
// where each call is one string comparison.
#pragma once

namespace dbr {

void CrashPoint(const char* point);

}  // namespace dbr
