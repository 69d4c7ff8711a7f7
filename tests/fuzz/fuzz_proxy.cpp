// The proxy text db_relocate reads: a pgbouncer.ini it rewrites at cut-over, HAProxy's runtime
// API replies (`show servers state`, `show stat`) and host:port settings.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "proxy/haproxy.h"
#include "proxy/haproxy_runtime.h"
#include "proxy/pgbouncer_ini.h"
#include "util/host_port.h"

using namespace dbr;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(fuzz::AsText(data, size));
  for (const char* database : {"app", "postgres", "\"app\""}) {
    (void)DatabaseEntry(text, database);
    Backend backend;
    backend.host = "10.0.0.2";
    backend.port = 5433;
    backend.dbname = "app db";
    Result<std::string> rewritten = PointDatabaseAt(text, database, backend);
    if (rewritten.ok()) {
      Result<Backend> entry = DatabaseEntry(*rewritten, database);
      if (!entry.ok() || entry->host != backend.host || entry->port != backend.port ||
          entry->dbname != backend.dbname)
        __builtin_trap();  // the rewrite must read back as what was written
    }
  }
  Result<std::vector<HAProxyServerState>> servers = ParseServersState(text);
  if (servers.ok())
    for (const auto& s : *servers) (void)s.Describe();
  (void)ParseStatCsv(text);
  Result<HostPort> address = ParseHostPort(text);
  if (address.ok() && (address->host.empty() || address->port < 1 || address->port > 65535))
    __builtin_trap();  // what it accepts is a host and a port in range
  return 0;
}
