// The one way text from outside (pid files, proxy replies, server output, cloud APIs) becomes a
// number or a time: the whole text must be the value, numbers optionally surrounded by
// whitespace; nothing throws.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/status.h"

namespace dbr {

// A decimal integer within [min, max], or nullopt.
std::optional<int64_t> ParseInt(std::string_view text, int64_t min = INT64_MIN,
                                int64_t max = INT64_MAX);

// A finite decimal number ("2", "-0.25", "1e3"), or nullopt: also for "inf", "nan" and numbers
// beyond the range of a double.
std::optional<double> ParseDouble(std::string_view text);

// "2015-08-30T12:36:00Z", with optional fractional seconds and a Z or ±hh:mm offset (the times
// of AWS's and Google's APIs, and of the run state).
Result<std::chrono::system_clock::time_point> ParseIso8601(const std::string& text);

}  // namespace dbr
