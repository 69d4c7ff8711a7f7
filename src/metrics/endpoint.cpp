#include "metrics/endpoint.h"

#include "metrics/relocation_metrics.h"
#include "model/samples.h"
#include "util/log.h"

namespace dbr {

MetricsEndpoint::MetricsEndpoint(const Config& config) {
  if (config.metrics.listen.empty()) return;
  std::filesystem::path dir = config.state_dir;
  auto server = metrics::HttpServer::Start(
      config.metrics.listen, [dir] { return metrics::RenderRelocationMetrics(dir, UnixNow()); });
  if (server.ok())
    server_ = std::move(*server);
  else
    log::warn("{}", server.message());
}

MetricsEndpoint::~MetricsEndpoint() = default;

}  // namespace dbr
