// A MySQL-family server's version, read from VERSION(): "10.11.19-MariaDB-0+deb12u1-log",
// "8.0.36", "8.4.3-log". MariaDB and MySQL number their releases apart (MariaDB 10.x/11.x is
// not newer than MySQL 8), so versions compare only within one flavour.
#pragma once

#include <compare>
#include <string>
#include <string_view>

#include "util/enum_names.h"
#include "util/status.h"

namespace dbr::mariadb {

enum class Flavor { kMariaDb, kMySql };

struct ServerVersion {
  Flavor flavor = Flavor::kMySql;
  int major = 0, minor = 0, patch = 0;
  std::string text;  // as the server gave it

  // "MariaDB 10.11.19", "MySQL 8.0.36"
  std::string Display() const;
  // Ordered by number only: compare versions of one flavour.
  auto operator<=>(const ServerVersion& other) const {
    return std::tie(major, minor, patch) <=> std::tie(other.major, other.minor, other.patch);
  }
  bool operator==(const ServerVersion& other) const { return (*this <=> other) == 0; }
};

Result<ServerVersion> ParseServerVersion(std::string_view text);

}  // namespace dbr::mariadb

namespace dbr {
template <>
struct EnumNames<mariadb::Flavor> {
  static constexpr std::string_view kWhat = "server flavour";
  static constexpr std::pair<mariadb::Flavor, std::string_view> kTable[] = {
      {mariadb::Flavor::kMariaDb, "MariaDB"}, {mariadb::Flavor::kMySql, "MySQL"}};
};
}  // namespace dbr
