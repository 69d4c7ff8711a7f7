#include "cli/commands.h"
#include "core/heartbeat_writer.h"
#include "core/pipeline.h"
#include "metrics/endpoint.h"
#include "model/samples.h"
#include "report/report.h"
#include "util/log.h"

namespace dbr::cli {

int Run(const Config& config, const CommandOptions&) {
  MetricsEndpoint metrics(config);
  Status st = RunRelocation(config);
  if (!st.ok()) (void)SampleRecorder(config.state_dir, "run").CountError(st.message());
  WriteReportQuietly(config);
  if (!st.ok()) {
    log::failure("{}", st.message());
    if (st.is_bad_config()) return kExitUsage;
    log::failure("the run can be resumed: fix the cause and run `db_relocate run` again");
    return kExitFailed;
  }
  return kExitOk;
}

int Heartbeat(const Config& config, const CommandOptions&) {
  return RunHeartbeatWriter(config);
}

}  // namespace dbr::cli
