#include "proxy/proxy.h"

#include "model/servers.h"
#include "proxy/haproxy.h"
#include "proxy/pgbouncer.h"

namespace dbr {

Backend BackendOf(const Config& config, Side side) {
  const ServerConfig& s = ServerOf(config, side);
  return {side, s.host, s.port, s.name};
}

Status HasCutoverBlock(const Config& config) {
  if (config.cutover.configured) return Status::Ok();
  return Status::BadConfig(
      "the config has no cutover block: name the proxy the application connects through "
      "(cutover.type pgbouncer or haproxy, cutover.listen, ...)");
}

Result<std::unique_ptr<Proxy>> MakeProxy(const Config& config) {
  DBR_RETURN_IF_ERROR(HasCutoverBlock(config));
  if (config.cutover.type == ProxyType::kPgBouncer) return MakePgBouncer(config);
  return MakeHAProxy(config);
}

}  // namespace dbr
