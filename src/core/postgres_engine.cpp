// The PostgreSQL engine: logical replication (publication, slot, subscription), pg_dump's schema
// with COPY for the rows, and verify's range checksums.
#include "core/engine.h"
#include "engine/heartbeat.h"
#include "engine/steps.h"

namespace dbr {
namespace {

class PostgresEngine : public Engine {
 public:
  const char* name() const override { return "PostgreSQL"; }
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

std::unique_ptr<Engine> MakeEngine(const Config&) {
  return std::make_unique<PostgresEngine>();
}

}  // namespace dbr
