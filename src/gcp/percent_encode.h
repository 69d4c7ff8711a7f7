// A value in a Google URL query or form body (application/x-www-form-urlencoded): every byte but
// the unreserved ones (RFC 3986: letters, digits, - _ . ~) as %XX.
#pragma once

#include <fmt/format.h>

#include <cctype>
#include <string>
#include <string_view>

namespace dbr::gcp {

inline std::string PercentEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

}  // namespace dbr::gcp
