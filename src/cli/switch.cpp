// `cutover`, `rollback` and `proxy`.
#include <iostream>

#include "cli/commands.h"
#include "core/switchover.h"
#include "util/log.h"

namespace dbr::cli {
namespace {

int Report(const Status& st) {
  if (st.ok()) return kExitOk;
  log::error("{}", st.message());
  return st.is_bad_config() ? kExitUsage : kExitFailed;
}

}  // namespace

int Cutover(const Config& config, const CommandOptions&) {
  return Report(SwitchTraffic(config, "dst"));
}

int Rollback(const Config& config, const CommandOptions&) {
  return Report(SwitchTraffic(config, "src"));
}

int Proxy(const Config& config, const CommandOptions& options) {
  if (options.stop) return Report(StopManagedProxy(config));
  if (int rc = Report(ProvisionProxy(config)); rc != kExitOk) return rc;
  auto text = DescribeProxy(config);
  if (!text.ok()) return Report(text.status());
  std::cout << *text;
  return kExitOk;
}

}  // namespace dbr::cli
