// `cutover`, `rollback` and `proxy`.
#include "core/switch.h"

#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "core/proxy_commands.h"
#include "metrics/endpoint.h"
#include "model/samples.h"
#include "report/report.h"
#include "util/log.h"

namespace dbr::cli {
namespace {

int Report(const Status& st) {
  if (st.ok()) return kExitOk;
  log::failure("{}", st.message());
  return st.is_bad_config() ? kExitUsage : kExitFailed;
}

// Counts a failure among the relocation's errors and writes the report, then reports. Without
// a state folder nothing ran (a config refused first): neither is written, none made.
int Finish(const Config& config, const char* process, const Status& st) {
  std::error_code ec;
  if (!std::filesystem::is_directory(config.state_dir, ec)) return Report(st);
  if (!st.ok()) (void)SampleRecorder(config.state_dir, process).CountError(st.message());
  WriteReportQuietly(config);
  return Report(st);
}

}  // namespace

int Cutover(const Config& config, const CommandOptions&) {
  MetricsEndpoint metrics(config);
  return Finish(config, "cutover", RunSwitch(config, Side::kDestination));
}

int Rollback(const Config& config, const CommandOptions&) {
  MetricsEndpoint metrics(config);
  return Finish(config, "rollback", RunSwitch(config, Side::kSource));
}

int Proxy(const Config& config, const CommandOptions& options) {
  if (options.stop) return Report(StopManagedProxy(config));
  if (int rc = Report(ProvisionProxyOutsideSwitches(config)); rc != kExitOk) return rc;
  auto text = DescribeProxy(config);
  if (!text.ok()) return Report(text.status());
  std::cout << *text;
  return kExitOk;
}

}  // namespace dbr::cli
