#include "util/parse.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace dbr {
namespace {

std::string_view WithoutSurroundingSpace(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  const size_t first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

// The number that is the whole of `text`, or nullopt.
template <typename Number>
std::optional<Number> FromWholeText(std::string_view text) {
  text = WithoutSurroundingSpace(text);
  if (text.empty()) return std::nullopt;
  Number n{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return n;
}

}  // namespace

std::optional<int64_t> ParseInt(std::string_view text, int64_t min, int64_t max) {
  std::optional<int64_t> n = FromWholeText<int64_t>(text);
  if (!n || *n < min || *n > max) return std::nullopt;
  return n;
}

std::optional<double> ParseDouble(std::string_view text) {
  std::optional<double> d = FromWholeText<double>(text);
  if (!d || !std::isfinite(*d)) return std::nullopt;
  return d;
}

Result<std::chrono::system_clock::time_point> ParseIso8601(const std::string& text) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6)
    return Status::Error("not an ISO 8601 time: '" + text + "'");
  // system_clock counts nanoseconds in 64 bits (the years 1678 to 2262): an expiration outside
  // 1970-2200 is not a real one.
  if (tm.tm_year < 1970 || tm.tm_year > 2200 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
      tm.tm_mday > 31 || tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 ||
      tm.tm_sec < 0 || tm.tm_sec > 60)
    return Status::Error("not an ISO 8601 time between the years 1970 and 2200: '" + text + "'");
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::string rest = text.substr(consumed);
  if (!rest.empty() && rest[0] == '.') rest.erase(0, rest.find_first_not_of("0123456789", 1));
  int offset_seconds = 0;
  if (!rest.empty() && (rest[0] == '+' || rest[0] == '-')) {
    int hours = 0, minutes = 0;
    if (std::sscanf(rest.c_str() + 1, "%2d:%2d", &hours, &minutes) != 2)
      return Status::Error("not an ISO 8601 time: '" + text + "'");
    offset_seconds = (rest[0] == '+' ? 1 : -1) * (hours * 3600 + minutes * 60);
  } else if (rest != "Z" && !rest.empty()) {
    return Status::Error("not an ISO 8601 time: '" + text + "'");
  }
  return std::chrono::system_clock::from_time_t(timegm(&tm) - offset_seconds);
}

}  // namespace dbr
