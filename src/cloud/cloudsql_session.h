// The Google APIs as the config's credentials reach them, and the Admin API's operations waited
// for as a resumable run needs: each recorded in the run state before the wait.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "gcp/credentials.h"
#include "gcp/logging.h"
#include "gcp/sqladmin.h"
#include "model/run_context.h"
#include "util/status.h"

namespace dbr {

struct GoogleSession {
  gcp::TokenCache tokens;
  gcp::SqlAdmin admin;
  gcp::CloudLogging logging;
  GoogleSession(std::unique_ptr<gcp::TokenSource> source, const std::string& endpoint_url)
      : tokens(std::move(source)), admin(endpoint_url, tokens), logging(endpoint_url, tokens) {}
};
Result<std::unique_ptr<GoogleSession>> OpenGoogleSession(const Config& config);

// Waits (upgrade.wait_timeout) for `operation` to be DONE; an error when it failed.
Status WaitForOperation(const Config& config, gcp::SqlAdmin& admin, const std::string& operation,
                        Clock& clock = RealClock());

// Records the operation a mutating call `started` in ctx.state.cloudsql.operation (crash point
// "cloudsql:operation-recorded"), waits for it to end, then clears it: a recorded operation is
// one still to be waited for.
Status RecordAndWait(RunContext& ctx, gcp::SqlAdmin& admin, Result<gcp::SqlOperation> started);
// Waits for the operation a killed run recorded, if any.
Status WaitForRecorded(RunContext& ctx, gcp::SqlAdmin& admin);

}  // namespace dbr
