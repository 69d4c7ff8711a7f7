#include "util/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace dbr::log {
namespace {

bool ParseLevel(const std::string& level, spdlog::level::level_enum* out) {
  if (level == "debug")
    *out = spdlog::level::debug;
  else if (level == "info")
    *out = spdlog::level::info;
  else if (level == "warn")
    *out = spdlog::level::warn;
  else if (level == "error")
    *out = spdlog::level::err;
  else if (level == "fatal")
    *out = spdlog::level::critical;
  else
    return false;
  return true;
}

void EnsureStderrLogger() {
  static bool installed = [] {
    auto logger = spdlog::stderr_color_mt("db_relocate");
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
    spdlog::set_default_logger(logger);
    return true;
  }();
  (void)installed;
}

}  // namespace

bool IsValidLevel(const std::string& level) {
  spdlog::level::level_enum unused;
  return ParseLevel(level, &unused);
}

bool SetLevel(const std::string& level) {
  EnsureStderrLogger();
  spdlog::level::level_enum parsed;
  if (!ParseLevel(level, &parsed)) return false;
  spdlog::set_level(parsed);
  return true;
}

}  // namespace dbr::log
