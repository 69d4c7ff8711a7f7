// The PostgreSQL engine: logical replication (publication, slot, subscription), pg_dump's schema
// with COPY for the rows, and verify's range checksums.
#include <fmt/format.h>

#include "core/engine.h"
#include "engine/heartbeat.h"
#include "engine/replication_health.h"
#include "engine/replication_link.h"
#include "engine/server_identity.h"
#include "engine/steps.h"
#include "model/servers.h"

namespace dbr {
namespace {

class PostgresEngine : public Engine {
 public:
  const char* name() const override { return "PostgreSQL"; }
  Status Connect(RunContext& ctx) override { return ctx.Reconnect(); }
  bool LostAServer(RunContext& ctx) override { return ctx.LostAServer(); }
  // Their identity is recorded at the first contact: the first run's start, an RDS destination
  // once restored.
  Status BindToServers(RunContext& ctx) override {
    bool changed = false;
    DBR_RETURN_IF_ERROR(BindStateToServers(ctx.state, ctx.config.state_dir, ctx.links,
                                           ctx.src ? &*ctx.src : nullptr,
                                           ctx.dst ? &*ctx.dst : nullptr, changed));
    return changed ? ctx.SaveState() : Status::Ok();
  }
  Status Prepare(RunContext& ctx) override { return ctx.LoadTables(); }
  Status ClaimReplicationUser(RunContext& ctx) override {
    if (ctx.state.StepDone("publication") || (ctx.user_claim && ctx.user_claim->Alive()))
      return Status::Ok();
    DBR_ASSIGN_OR_RETURN(
        ctx.user_claim,
        dbr::ClaimReplicationUser(SourceParams(ctx.config), ctx.config.upgrade.user, ctx.clock));
    return Status::Ok();
  }
  std::string ReplicationSummary(RunContext& ctx) override {
    ReplicationHealth h = ReadReplicationHealth(&*ctx.src, &*ctx.dst, ctx.links.forward);
    return fmt::format("replication: running, lag {} bytes, heartbeat {:.1f} s behind", h.lag_bytes,
                       h.lag_seconds);
  }
  Status StartHeartbeat(RunContext& ctx) override { return steps::StartHeartbeat(ctx); }
  Status OpenChangeStream(RunContext& ctx) override {
    return steps::CreatePublication(ctx, ctx.snapshot_source->ExportsSnapshot());
  }
  std::unique_ptr<SnapshotSource> MakeLogicalCopy() override { return MakeLogicalCopySource(); }
  Status Subscribe(RunContext& ctx) override { return steps::Subscribe(ctx); }
  Status CatchUp(RunContext& ctx) override { return steps::CatchUp(ctx); }
  Status VerifyHeartbeats(RunContext& ctx) override { return dbr::VerifyHeartbeats(ctx); }
  Status SetSequencesAhead(RunContext& ctx) override { return steps::SetSequences(ctx); }
  Result<verify::VerifyReport> Verify(RunContext& ctx) override { return verify::Verify(ctx); }
};

}  // namespace

std::unique_ptr<Engine> MakePostgresEngine() {
  return std::make_unique<PostgresEngine>();
}

}  // namespace dbr
