// Enums written and read by name (the run state, JSON output, logs): each enum has one table of
// (value, name) pairs, so a name read back that is not in it is an error, never a silent default.
//
//   enum class Color { kRed, kBlue };
//   template <> struct EnumNames<Color> {
//     static constexpr std::string_view kWhat = "color";
//     static constexpr std::pair<Color, std::string_view> kTable[] = {{Color::kRed, "red"}, ...};
//   };
#pragma once

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace dbr {

template <typename E>
struct EnumNames;

template <typename E>
concept NamedEnum = requires {
  EnumNames<E>::kTable;
};

template <NamedEnum E>
constexpr std::string_view NameOf(E value) {
  for (const auto& [v, name] : EnumNames<E>::kTable)
    if (v == value) return name;
  return "?";
}

template <NamedEnum E>
constexpr std::optional<E> FromName(std::string_view name) {
  for (const auto& [v, n] : EnumNames<E>::kTable)
    if (n == name) return v;
  return std::nullopt;
}

template <NamedEnum E>
std::ostream& operator<<(std::ostream& out, E value) {
  return out << NameOf(value);
}

// nlohmann::json conversions, found by argument-dependent lookup for enums of namespace dbr. An
// unknown name throws std::invalid_argument naming the enum and the value.
template <NamedEnum E>
void to_json(nlohmann::json& j, E value) {
  j = std::string(NameOf(value));
}

template <NamedEnum E>
void from_json(const nlohmann::json& j, E& value) {
  const std::string name = j.is_string() ? j.get<std::string>() : j.dump();
  auto found = FromName<E>(name);
  if (!found)
    throw std::invalid_argument("unknown " + std::string(EnumNames<E>::kWhat) + " \"" + name +
                                "\"");
  value = *found;
}

}  // namespace dbr

// fmt prints a named enum by its name.
template <dbr::NamedEnum E>
struct fmt::formatter<E> : fmt::formatter<std::string_view> {
  template <typename FormatContext>
  auto format(E value, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(dbr::NameOf(value), ctx);
  }
};
