// The Prometheus endpoint of a relocation (metrics.listen), alive while `run`, `cutover`,
// `rollback` or the heartbeat writer is.
//
// Those processes overlap (the heartbeat writer lives from run's step 2 until cleanup, and is
// stopped and restarted by every switch) and cannot all bind one port. Each of them holds a
// MetricsEndpoint: the first to bind serves; the others try again every 250 ms, so the port
// moves to a live process within a quarter of a second of the serving one exiting. Every process
// renders the same page from the state folder (state.json and the figures the others record there),
// so who serves does not change what a scrape sees.
#pragma once

#include <memory>

#include "config/config.h"
#include "metrics/http_server.h"

namespace dbr {

class MetricsEndpoint {
 public:
  explicit MetricsEndpoint(const Config& config);  // nothing when metrics.listen is unset
  ~MetricsEndpoint();

 private:
  std::unique_ptr<metrics::HttpServer> server_;
};

}  // namespace dbr
