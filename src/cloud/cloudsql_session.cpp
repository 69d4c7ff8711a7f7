#include "cloud/cloudsql_session.h"

#include "model/timings.h"
#include "util/fault.h"

namespace dbr {

Result<std::unique_ptr<GoogleSession>> OpenGoogleSession(const Config& config) {
  DBR_ASSIGN_OR_RETURN(
      auto source, gcp::FindCredentials({config.gcp.credentials_file, config.gcp.endpoint_url}));
  return std::make_unique<GoogleSession>(std::move(source), config.gcp.endpoint_url);
}

Status WaitForOperation(const Config& config, gcp::SqlAdmin& admin, const std::string& operation,
                        Clock& clock) {
  auto done = admin.WaitForOperation(config.gcp.project, operation,
                                     std::chrono::seconds(config.upgrade.wait_timeout),
                                     Timings::Default().cloudsql.operation_poll, clock);
  return done.ok() ? Status::Ok() : done.status();
}

Status RecordAndWait(RunContext& ctx, gcp::SqlAdmin& admin, Result<gcp::SqlOperation> started) {
  if (!started.ok()) return started.status();
  ctx.state.cloudsql.operation = started->name;
  DBR_RETURN_IF_ERROR(ctx.SaveState());
  CrashPoint("cloudsql:operation-recorded");
  return WaitForRecorded(ctx, admin);
}

Status WaitForRecorded(RunContext& ctx, gcp::SqlAdmin& admin) {
  std::string& operation = ctx.state.cloudsql.operation;
  if (operation.empty()) return Status::Ok();
  DBR_RETURN_IF_ERROR(WaitForOperation(ctx.config, admin, operation, ctx.clock));
  operation.clear();
  return ctx.SaveState();
}

}  // namespace dbr
