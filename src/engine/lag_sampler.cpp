#include "engine/lag_sampler.h"

#include "engine/heartbeat.h"
#include "engine/replication_health.h"
#include "model/names.h"
#include "model/run_state.h"
#include "model/servers.h"
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
  Open(primary_, ParamsOf(config_, *primary_side_));
  if (!primary_) return;
  // With provider rds there is no destination to read until the snapshot is restored.
  if (config_.provider != "rds" || !state->rds.dst_host.empty())
    Open(replica_, ParamsOf(config_, Other(*primary_side_)));
  const names::Link& link = links_.Into(Other(*primary_side_));
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
  if (!h.source_read) return;  // unknown is not better: keep what was last seen
  std::string warning = h.SlotWarning();
  // The warning's text carries figures that move with every write: a repeat is the same trouble
  // (near or lost) of the same slot.
  std::string trouble =
      warning.empty() ? "" : link.slot + (h.slot_wal_status == "lost" ? " lost" : " near");
  if (trouble.empty()) {
    if (slot_trouble_.starts_with(link.slot + " ") && h.slot_exists)
      log::info("replication slot {}: back within max_slot_wal_keep_size", link.slot);
    slot_trouble_.clear();
    return;
  }
  auto now = std::chrono::steady_clock::now();
  if (trouble == slot_trouble_ && now - slot_trouble_logged_at_ < kSlotWarningRepeat) return;
  log::warn("replication slot {}: {}", link.slot, warning);
  slot_trouble_ = std::move(trouble);
  slot_trouble_logged_at_ = now;
}

}  // namespace dbr
