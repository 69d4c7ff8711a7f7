// A WAL position, parsed from and printed as PostgreSQL's "X/Y" text form.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dbr::pg {

class Lsn {
 public:
  constexpr Lsn() = default;
  constexpr explicit Lsn(uint64_t value) : value_(value) {}
  static std::optional<Lsn> Parse(std::string_view text);

  uint64_t value() const { return value_; }
  std::string ToString() const;
  auto operator<=>(const Lsn&) const = default;

 private:
  uint64_t value_ = 0;
};

}  // namespace dbr::pg
