#include "core/pipeline.h"

#include <fmt/format.h>

#include <cstdio>
#include <iostream>

#include "cloud/cloud.h"
#include "core/engine.h"
#include "core/preflight.h"
#include "core/proxy_commands.h"
#include "engine/replication_health.h"
#include "engine/replication_link.h"
#include "engine/server_identity.h"
#include "model/names.h"
#include "model/servers.h"
#include "model/steps.h"
#include "snapshot/snapshot_source.h"
#include "util/fault.h"
#include "util/files.h"
#include "util/log.h"
#include "util/progress.h"

namespace dbr {
namespace {

// The engine's and the cloud's checks; stops on FAIL unless `force`, saying what stays
// (`changed`: what the run has changed so far).
Status RunChecks(RunContext& ctx, std::string_view changed) {
  // Claimed before the checks find upgrade.user free, held until the slot proves it taken: two
  // relocations started at once with one user cannot both find it free.
  auto claim = [&ctx] { return ctx.engine->ClaimReplicationUser(ctx); };
  DBR_RETURN_IF_ERROR(claim());
  PreflightOptions options;
  options.cloud = ctx.cloud.get();
  PreflightReport report = RunPreflight(ctx.config, options);
  if (ctx.cloud && ctx.cloud->CanEnableLogicalReplication(ctx.config, report)) {
    DBR_RETURN_IF_ERROR(ctx.cloud->EnableLogicalReplication(ctx.config));
    ctx.src.reset();
    DBR_RETURN_IF_ERROR(ctx.engine->Connect(ctx));
    DBR_RETURN_IF_ERROR(claim());  // the restart ended the claim's session
    report = RunPreflight(ctx.config, options);
  }
  std::cerr << report.ToText();
  if (report.HasBadConfig())
    return Status::BadConfig(fmt::format(
        "the configuration does not fit these servers (see the FAIL lines above); {}", changed));
  if (report.Blocks(ctx.config.force))
    return Status::Error(
        fmt::format("pre-flight checks failed (see the FAIL lines above); {}", changed));
  return Status::Ok();
}

// Step 1.
Status CheckBeforeStarting(RunContext& ctx) {
  return RunChecks(ctx, "nothing was changed");
}

// Step 2: the cloud's new instance, when the logical copy is to fill one; checked by the
// destination's pre-flight checks once it is there (pre-flight could not reach it before).
Status MakeDestination(RunContext& ctx) {
  const bool existed = ctx.DestinationExists();
  DBR_RETURN_IF_ERROR(ctx.cloud->MakeDestination(ctx));
  if (existed || !ctx.DestinationExists()) return Status::Ok();
  DBR_RETURN_IF_ERROR(ctx.engine->Connect(ctx));
  return RunChecks(ctx,
                   "the new instance stays, and `run` goes on with it once the cause is fixed");
}

Status TakeSnapshot(RunContext& ctx) {
  log::info("snapshot source: {}", ctx.snapshot_source->name());
  return ctx.snapshot_source->Take(ctx);
}

Status StartProxy(RunContext& ctx) {
  return ProvisionProxy(ctx.config);
}

Status CompareBothSides(RunContext& ctx) {
  auto report = ctx.engine->Verify(ctx);
  if (!report.ok()) return report.status();
  std::cout << report->ToText();
  if (!report->ok())
    return Status::Error(
        "the destination differs from the source (listed above; `db_relocate verify` compares "
        "again)");
  return Status::Ok();
}

// Why a step has nothing to do under a config (the summary shows it in place of a time), or
// nullptr.
const char* NoInstanceToMake(const Config& c) {
  return c.provider == Provider::kPostgres ? "dst is a server: no instance to make" : nullptr;
}
const char* NoCutoverBlock(const Config& c) {
  return c.cutover.configured ? nullptr : "no cutover block";
}
const char* VerifyOff(const Config& c) {
  return c.verify ? nullptr : "verify: false";
}

template <Status (Engine::*method)(RunContext&)>
Status ByEngine(RunContext& ctx) {
  return (ctx.engine.get()->*method)(ctx);
}

// A step's title in the log and the summary: PostgreSQL's words, and MySQL's where they differ.
struct Title {
  const char* postgres;
  const char* mysql = nullptr;
};

struct Step {
  const char* name;
  Title title;
  Status (*run)(RunContext&);
  // Done once and never again (the others are re-run every time: they check, or are cheap).
  bool once;
  // Must run again while this later step is not done (it holds the exported snapshot).
  const char* until_done = nullptr;
  // Why the config leaves it nothing to do (it is then recorded done at once), or nullptr.
  const char* (*nothing_to_do)(const Config&) = nullptr;
};

// The run, in order. Each step is one call: to the engine (core/engine.h), to the snapshot
// source (the cloud's snapshot or the engine's logical copy), or to core itself.
constexpr Step kSteps[] = {
    {"preflight", {"pre-flight checks"}, CheckBeforeStarting, false},
    {"destination",
     {"destination instance made"},
     MakeDestination,
     true,
     nullptr,
     NoInstanceToMake},
    {"heartbeat", {"heartbeat writer"}, ByEngine<&Engine::StartHeartbeat>, false},
    {"publication",
     {"publication and replication slot", "replication user on the source"},
     ByEngine<&Engine::OpenChangeStream>,
     true,
     "snapshot"},
    {"snapshot",
     {"snapshot of the source restored on the destination",
      "source copied at one binary log position"},
     TakeSnapshot,
     true},
    {"subscription",
     {"subscription at the snapshot's LSN", "replication from the snapshot's binary log position"},
     ByEngine<&Engine::Subscribe>,
     true},
    {"catchup", {"catch-up"}, ByEngine<&Engine::CatchUp>, false},
    {"heartbeat_verify", {"heartbeat verification"}, ByEngine<&Engine::VerifyHeartbeats>, false},
    {"sequences",
     {"sequences set ahead", "AUTO_INCREMENT counters set ahead"},
     ByEngine<&Engine::SetSequencesAhead>,
     false},
    {"proxy", {"proxy in front of the primary"}, StartProxy, false, nullptr, NoCutoverBlock},
    {"verify", {"every table compared on both sides"}, CompareBothSides, false, nullptr, VerifyOff},
};

constexpr bool SameStepsAsModel() {
  if (std::size(kSteps) != std::size(kStepNames)) return false;
  for (size_t i = 0; i < std::size(kSteps); ++i)
    if (kStepNames[i] != kSteps[i].name) return false;
  return true;
}
static_assert(SameStepsAsModel(), "kSteps and model/steps.h must name the same steps in order");

const char* TitleOf(const Step& step, EngineKind engine) {
  return engine == EngineKind::kMysql && step.title.mysql ? step.title.mysql : step.title.postgres;
}

const char* NothingToDo(const Step& step, const Config& config) {
  return step.nothing_to_do != nullptr ? step.nothing_to_do(config) : nullptr;
}

void PrintSummary(RunContext& ctx, double total_seconds) {
  std::string out = "\nRelocation summary\n";
  for (const auto& s : kSteps) {
    auto it = ctx.state.steps.find(s.name);
    double secs = it == ctx.state.steps.end() ? 0 : it->second.seconds;
    const char* why = NothingToDo(s, ctx.config);
    out += fmt::format("  {:<52} {:>10}{}\n", TitleOf(s, ctx.config.engine),
                       why ? "skipped" : HumanDuration(secs), why ? fmt::format(" ({})", why) : "");
  }
  int64_t rows = 0, bytes = 0, copied = 0, resync = 0;
  for (const auto& [name, t] : ctx.state.tables) {
    rows += t.rows;
    bytes += t.bytes;
    copied += t.state == TableState::kCopied;
    resync += t.state == TableState::kResync;
  }
  out += fmt::format("  total{:>57}\n", HumanDuration(total_seconds));
  out += fmt::format("tables: {} copied ({} rows, {}){}\n", copied, rows,
                     HumanBytes(static_cast<double>(bytes)),
                     resync ? fmt::format(", {} synchronised by the subscription", resync) : "");
  if (ctx.copy_seconds > 0)
    out += fmt::format("copy throughput this run: {}/s, {:.0f} rows/s\n",
                       HumanBytes(ctx.bytes_copied / ctx.copy_seconds),
                       ctx.rows_copied / ctx.copy_seconds);
  out += ctx.engine->ReplicationSummary(ctx) + "\n";
  for (const auto& n : ctx.state.notes) out += "note: " + n + "\n";
  std::cout << out;
}

// Runs the steps not done yet, in order, recording each one in the state as it ends.
Status RunSteps(RunContext& ctx) {
  for (const Step& step : kSteps) {
    bool skip = step.once && ctx.state.StepDone(step.name);
    if (step.until_done != nullptr) skip = ctx.state.StepDone(step.until_done);
    if (skip) {
      log::info("step {}: already done", step.name);
      continue;
    }
    if (const char* why = NothingToDo(step, ctx.config)) {
      log::info("step {}: nothing to do ({})", step.name, why);
      ctx.state.steps[step.name] = {true, 0, NowUtc()};
      DBR_RETURN_IF_ERROR(ctx.SaveState());
      continue;
    }
    log::info("step {}: {}", step.name, TitleOf(step, ctx.config.engine));
    ctx.state.current_step = step.name;
    DBR_RETURN_IF_ERROR(ctx.SaveState());
    const Clock::TimePoint started = ctx.clock.Now();
    CrashPoint((std::string("before:") + step.name).c_str());
    DBR_RETURN_IF_ERROR(ctx.engine->Connect(ctx));        // a server restarted since the last step
    DBR_RETURN_IF_ERROR(ctx.engine->BindToServers(ctx));  // ... or was replaced
    Status st = step.run(ctx);
    CrashPoint((std::string("after:") + step.name).c_str());
    const double secs = ctx.clock.SecondsSince(started);
    if (!st.ok()) {
      (void)ctx.SaveState();  // refused when the destination is lost (its work may be too)
      return st.Wrap("step " + std::string(step.name) + " failed after " + HumanDuration(secs));
    }
    ctx.state.steps[step.name] = {true, secs, NowUtc()};
    if (ctx.state.StepDone("publication")) ctx.user_claim.reset();  // the slot claims it now
    DBR_RETURN_IF_ERROR(ctx.SaveState());
    log::info("step {} done in {}", step.name, HumanDuration(secs));
  }
  return Status::Ok();
}

}  // namespace

Status RunRelocation(const Config& config) {
  RunContext ctx(config, config.state_dir);
  ctx.engine = MakeEngine(config);
  ctx.cloud = MakeCloud(config);
  ctx.snapshot_source =
      ctx.cloud ? ctx.cloud->MakeSnapshotSource(config) : ctx.engine->MakeLogicalCopy();
  DBR_RETURN_IF_ERROR(EnsureDirectory(ctx.store.dir()));
  auto lock = ctx.store.Lock();
  if (!lock.ok()) return lock.status();
  auto state = ctx.store.Load();
  if (!state.ok()) return state.status();
  ctx.state = std::move(*state);
  DBR_RETURN_IF_ERROR(StateBelongsToConfig(ctx.config, ctx.state));
  // After a cut-over the destination is the primary and replication runs the other way: the
  // forward steps must not rebuild what the cut-over took down.
  if (ctx.state.primary == Side::kDestination || ctx.state.switching)
    return Status::Error(
        ctx.state.switching
            ? "a cut-over or rollback was interrupted: run that command again first"
            : "the application was moved to the destination by `cutover`; `run` has nothing left "
              "to do (`status` shows the replication back to the source; `rollback` returns)");
  if (ctx.state.started_at.empty())
    ctx.state.started_at = NowUtc();
  else
    log::info("resuming the relocation started at {}", ctx.state.started_at);
  if (ctx.state.source.empty()) RecordRelocation(ctx.config, ctx.state);

  DBR_RETURN_IF_ERROR(ctx.engine->Connect(ctx));
  DBR_RETURN_IF_ERROR(ctx.engine->BindToServers(ctx));
  DBR_RETURN_IF_ERROR(ctx.engine->Prepare(ctx));
  const Clock::TimePoint run_started = ctx.clock.Now();
  // A server lost in the middle of a step (restarted, out of reach) is waited for and the run
  // resumes as a new `run` would; a lasting outage or a flapping one ends the run.
  constexpr int kResumes = 5;
  for (int resumed = 0;; ++resumed) {
    Status st = RunSteps(ctx);
    if (st.ok()) break;
    const bool lost = ctx.engine->LostAServer(ctx);
    if (resumed == kResumes || !(st.is_unavailable() || lost)) return st;
    log::warn("{}", st.message());
    log::warn("a server was lost during the step: resuming once it is back ({} of {})", resumed + 1,
              kResumes);
    ctx.clock.SleepFor(BackoffDelay(ctx.OutagePolicy(), resumed + 1));
    DBR_RETURN_IF_ERROR(ctx.engine->Connect(ctx));
    DBR_RETURN_IF_ERROR(ctx.ReloadState());
  }
  DBR_RETURN_IF_ERROR(ctx.snapshot_source->Finish(ctx));
  ctx.state.current_step = "replicating";
  DBR_RETURN_IF_ERROR(ctx.SaveState());
  PrintSummary(ctx, ctx.clock.SecondsSince(run_started));
  return Status::Ok();
}

}  // namespace dbr
