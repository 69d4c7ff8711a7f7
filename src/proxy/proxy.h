// The proxy the application connects through, which a switch (cut-over or rollback, issue #4)
// moves from one side to the other: PgBouncer (PAUSE, repoint, RESUME) or HAProxy (runtime API).
// The switch in core/ talks only to this interface.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "model/side.h"
#include "util/status.h"

namespace dbr {

// One of the two databases, as the proxy sees it.
struct Backend {
  Side side = Side::kSource;  // its name ("src", "dst") is also the HAProxy server's
  std::string host;
  int port = 0;
  std::string dbname;
};

struct ProxyState {
  bool running = false;
  bool paused = false;         // new transactions (PgBouncer) or connections (HAProxy) are held
  std::optional<Side> active;  // unset when it points at neither
  std::string detail;          // the proxy's own view, a few lines for `db_relocate proxy`
};

class Proxy {
 public:
  virtual ~Proxy() = default;
  virtual const char* name() const = 0;

  // `cutover.manage`: writes the proxy's config sending traffic to `active` and starts the proxy,
  // or reloads it when it already runs. Idempotent.
  virtual Status Provision(const Backend& active, const std::optional<Backend>& standby) = 0;
  virtual Result<ProxyState> Inspect() = 0;

  // Holds new work: in-flight transactions finish (PgBouncer) or existing connections to the
  // active server are ended (HAProxy). When that does not happen within `timeout`, the proxy is
  // resumed and an error returned: nothing changed.
  virtual Status Pause(std::chrono::milliseconds timeout) = 0;
  // Sends new work to `backend`; called while paused, takes effect on Resume().
  virtual Status PointTo(const Backend& backend) = 0;
  virtual Status Resume() = 0;
  // What an operator does by hand to send new work to `backend` and resume: for the way on that
  // db_relocate will not take by itself (the side the proxy sends to is lost for good).
  virtual std::string HowToPointTo(const Backend& backend) const = 0;
  // Cleanup: the proxy keeps only `active` (the side the application writes to). A managed
  // HAProxy loses its other server; PgBouncer's single entry already names `active`.
  virtual Status RetireStandby(const Backend& active) = 0;
  // Stops a managed proxy (`db_relocate proxy --stop`); an unmanaged one is left alone.
  virtual Status StopManaged() = 0;
};

// `side` as the proxy sees it, from the config.
Backend BackendOf(const Config& config, Side side);

// The proxy named by `config.cutover.type`; an error when the block is missing.
Result<std::unique_ptr<Proxy>> MakeProxy(const Config& config);
// A bad-config error unless the config has a cutover block (which MakeProxy needs): the
// commands that switch or run the proxy ask first, before they make or lock anything.
Status HasCutoverBlock(const Config& config);

}  // namespace dbr
