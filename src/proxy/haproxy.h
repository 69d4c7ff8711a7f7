// HAProxy as the proxy (issue #4): the application connects to HAProxy's `listen` address;
// the backend `cutover.backend` holds two servers, `src` and `dst`, exactly one of them ready.
// Cut-over puts the active one in maintenance and ends its sessions (Pause), then makes the
// other ready (PointTo + Resume), all through the runtime API socket `cutover.admin`.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "config/config.h"
#include "proxy/proxy.h"

namespace dbr {

std::unique_ptr<Proxy> MakeHAProxy(const Config& config);

// What the managed haproxy.cfg is made of (paths already resolved).
struct HAProxyLayout {
  std::string listen;  // host:port the application connects to
  std::filesystem::path admin_socket;
  std::filesystem::path pid_file;
  std::string backend = "postgres";
  std::string user;   // set (with group) only when HAProxy is started by root: it drops to them
  std::string group;  // after binding its sockets
};

// The text of the managed haproxy.cfg sending traffic to `active` (server `active.side`), with
// `standby` configured but `disabled`. Pure: no file or process is touched.
std::string RenderHAProxyConfig(const HAProxyLayout& layout, const Backend& active,
                                const std::optional<Backend>& standby);

}  // namespace dbr
