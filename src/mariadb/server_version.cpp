#include "mariadb/server_version.h"

#include <fmt/format.h>

#include <charconv>

namespace dbr::mariadb {

std::string ServerVersion::Display() const {
  return fmt::format("{} {}.{}.{}", NameOf(flavor), major, minor, patch);
}

Result<ServerVersion> ParseServerVersion(std::string_view text) {
  ServerVersion v;
  v.text = std::string(text);
  // MariaDB 10 once reported itself as "5.5.5-10.x.y-MariaDB" to old clients.
  std::string_view rest = text;
  if (rest.starts_with("5.5.5-") && rest.find("MariaDB") != std::string_view::npos)
    rest.remove_prefix(6);
  int* parts[] = {&v.major, &v.minor, &v.patch};
  const char* p = rest.data();
  const char* end = rest.data() + rest.size();
  for (size_t i = 0; i < 3; ++i) {
    auto [next, ec] = std::from_chars(p, end, *parts[i]);
    if (ec != std::errc() || (i < 2 && (next == end || *next != '.')))
      return Status::Error(fmt::format("cannot read the server version \"{}\"", text));
    p = i < 2 ? next + 1 : next;
  }
  v.flavor = text.find("MariaDB") != std::string_view::npos ? Flavor::kMariaDb : Flavor::kMySql;
  return v;
}

}  // namespace dbr::mariadb
