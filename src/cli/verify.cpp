#include "verify/verify.h"

#include <iostream>

#include "cli/commands.h"
#include "core/engine.h"
#include "model/run_context.h"

namespace dbr::cli {

int Verify(const Config& config, const CommandOptions& options) {
  RunContext ctx(config, config.state_dir);
  auto state = ctx.store.Load();
  if (!state.ok()) return Failed(options, state.message());
  ctx.state = std::move(*state);
  // Each engine's Verify opens the sessions it reads with.
  ctx.engine = MakeEngine(config);
  auto report = ctx.engine->Verify(ctx);
  if (!report.ok()) return Failed(options, "verify: " + report.message());
  if (options.output == "json")
    std::cout << report->ToJsonText() << "\n";
  else
    std::cout << report->ToText();
  return report->ok() ? kExitOk : kExitFailed;
}

}  // namespace dbr::cli
