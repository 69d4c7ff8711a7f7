#include "util/parse.h"

#include <charconv>
#include <cmath>

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

}  // namespace dbr
