#include "core/lag_sampler.h"

#include "core/heartbeat.h"
#include "core/names.h"
#include "core/replication_health.h"
#include "core/run_state.h"
#include "core/servers.h"
#include "util/log.h"

namespace dbr {
namespace {

// Short: the writer waits for this thread when it is told to stop.
constexpr int kConnectTimeoutSeconds = 3;

void Open(std::optional<pg::Connection>& conn, pg::ConnParams params) {
  if (conn && !conn->IsBroken()) return;
  conn.reset();
  params.connect_timeout_s = kConnectTimeoutSeconds;
  auto c = pg::Connection::Open(params);
  if (c.ok()) {
    conn.emplace(std::move(*c));
    (void)conn->Exec("SET statement_timeout = '5s'");
  } else {
    log::debug("lag sampler: {}", c.message());
  }
}

}  // namespace

Status RecordLag(SampleRecorder& recorder, const ReplicationHealth& h,
                 std::chrono::milliseconds min_gap) {
  if (h.lag_bytes < 0 && h.lag_seconds < 0) return Status::Ok();
  nlohmann::json lag = nlohmann::json::object();
  if (h.lag_bytes >= 0) lag["bytes"] = h.lag_bytes;
  if (h.lag_seconds >= 0) lag["seconds"] = h.lag_seconds;
  return recorder.Record("lag", lag, min_gap);
}

LagSampler::LagSampler(const Config& config, std::chrono::milliseconds period)
    : config_(config), links_(LinksOf(config)), recorder_(config.state_dir, "heartbeat") {
  task_ = std::make_unique<PeriodicTask>(
      period, [this] { SampleOnce(); },
      /*call_when_stopped=*/false);
}

LagSampler::~LagSampler() {
  task_.reset();
}

void LagSampler::SampleOnce() {
  StateStore store(config_.state_dir);
  auto state = store.Load();
  if (!state.ok() || !store.Exists()) return;
  // With provider rds the destination appears during the run; after a cut-over it is primary.
  UseRecordedDestination(config_, *state);
  if (state->primary != primary_side_) {
    primary_.reset();
    replica_.reset();
    primary_side_ = state->primary;
  }
  Open(primary_, ParamsOf(config_, primary_side_));
  if (!primary_) return;
  // With provider rds there is no destination to read until the snapshot is restored.
  if (config_.provider != "rds" || !state->rds.dst_host.empty())
    Open(replica_, ParamsOf(config_, OtherSide(primary_side_)));
  const names::Link& link = links_.Into(OtherSide(primary_side_));
  ReplicationHealth h = ReadReplicationHealth(&*primary_, replica_ ? &*replica_ : nullptr, link);
  if (Status st = RecordLag(recorder_, h); !st.ok()) log::debug("{}", st.message());
  WarnAboutSlot(h, link);
  auto beat = LatestHeartbeat(*primary_, *primary_);
  if (beat.ok() && beat->has_value() && (*beat)->age_seconds >= 0) {
    Status st = recorder_.Record("heartbeat",
                                 {{"seq", (*beat)->seq}, {"age_seconds", (*beat)->age_seconds}});
    if (!st.ok()) log::debug("{}", st.message());
  }
}

void LagSampler::WarnAboutSlot(const ReplicationHealth& h, const names::Link& link) {
  std::string warning = h.SlotWarning();
  auto now = std::chrono::steady_clock::now();
  if (warning.empty()) {
    if (!last_slot_warning_.empty() && h.slot_exists)
      log::info("replication slot {}: back within max_slot_wal_keep_size", link.slot);
    last_slot_warning_.clear();
    return;
  }
  if (warning == last_slot_warning_ && now - last_slot_warning_at_ < kSlotWarningRepeat) return;
  log::warn("replication slot {}: {}", link.slot, warning);
  last_slot_warning_ = std::move(warning);
  last_slot_warning_at_ = now;
}

}  // namespace dbr
