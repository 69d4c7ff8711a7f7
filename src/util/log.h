// Logging goes to stderr through spdlog. Never pass a password to these functions: connection
// parameters are handed to libpq as separate values and SQL that carries a secret is not logged.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace dbr::log {

// Accepts debug, info, warn, error, fatal. Returns false for an unknown level.
bool SetLevel(const std::string& level);
bool IsValidLevel(const std::string& level);

using spdlog::debug;
using spdlog::error;
using spdlog::info;
using spdlog::warn;

// The error that ends a command: shown at every level, `fatal` included (where it is all that is
// shown, as `critical`).
template <typename... Args>
void failure(spdlog::format_string_t<Args...> format, Args&&... args) {
  const bool errors_shown = spdlog::default_logger_raw()->should_log(spdlog::level::err);
  spdlog::log(errors_shown ? spdlog::level::err : spdlog::level::critical, format,
              std::forward<Args>(args)...);
}

}  // namespace dbr::log
