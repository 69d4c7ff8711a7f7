#include "pg/lsn.h"

#include <charconv>
#include <cstdio>

namespace dbr::pg {

std::optional<Lsn> Lsn::Parse(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 >= text.size()) return {};
  if (slash > 8 || text.size() - slash - 1 > 8) return {};
  uint32_t hi = 0, lo = 0;
  const char* end_hi = text.data() + slash;
  auto r1 = std::from_chars(text.data(), end_hi, hi, 16);
  if (r1.ec != std::errc() || r1.ptr != end_hi) return {};
  const char* end = text.data() + text.size();
  auto r2 = std::from_chars(end_hi + 1, end, lo, 16);
  if (r2.ec != std::errc() || r2.ptr != end) return {};
  return Lsn((static_cast<uint64_t>(hi) << 32) | lo);
}

std::string Lsn::ToString() const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(value_ >> 32),
                static_cast<unsigned>(value_ & 0xffffffffu));
  return buf;
}

}  // namespace dbr::pg
