// The one way text from outside (pid files, proxy replies, server output) becomes a number:
// the whole text must be the number, optionally surrounded by whitespace; nothing throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace dbr {

// A decimal integer within [min, max], or nullopt.
std::optional<int64_t> ParseInt(std::string_view text, int64_t min = INT64_MIN,
                                int64_t max = INT64_MAX);

// A finite decimal number ("2", "-0.25", "1e3"), or nullopt: also for "inf", "nan" and numbers
// beyond the range of a double.
std::optional<double> ParseDouble(std::string_view text);

}  // namespace dbr
