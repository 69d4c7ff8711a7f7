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

}  // namespace dbr::log
