#include "util/host_port.h"

#include "util/parse.h"

namespace dbr {

Result<HostPort> ParseHostPort(std::string_view value) {
  auto bad = [&](std::string_view why) {
    return Status::Error("\"" + std::string(value) +
                         "\" is not host:port such as 127.0.0.1:6432 or [::1]:6432 (" +
                         std::string(why) + ")");
  };
  const size_t colon = value.rfind(':');
  if (colon == std::string_view::npos) return bad("no port");
  std::string_view host = value.substr(0, colon);
  const std::string_view port = value.substr(colon + 1);
  if (host.starts_with('[') != host.ends_with(']')) return bad("unbalanced brackets");
  if (host.starts_with('[')) {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return bad("an IPv6 address goes in brackets");
  }
  if (host.empty()) return bad("no host");
  if (port.empty() || port.find_first_not_of("0123456789") != std::string_view::npos)
    return bad("the port is not a number");
  const auto n = ParseInt(port, 1, 65535);
  if (!n) return bad("the port is not from 1 to 65535");
  return HostPort{std::string(host), static_cast<int>(*n)};
}

}  // namespace dbr
