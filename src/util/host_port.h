// The one reader of "host:port" addresses (the proxies' listen and admin addresses, the metrics
// endpoint): an IPv6 address goes in brackets, "[::1]:6432", since it has colons of its own.
#pragma once

#include <string>
#include <string_view>

#include "util/status.h"

namespace dbr {

struct HostPort {
  std::string host;  // without the brackets of an IPv6 address
  int port = 0;
};

// `value` as host:port, with a host and a port from 1 to 65535; an error saying what is wrong
// that the caller prefixes with the field it came from.
Result<HostPort> ParseHostPort(std::string_view value);

}  // namespace dbr
