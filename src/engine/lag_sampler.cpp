#include "engine/lag_sampler.h"

#include <fmt/format.h>

#include "model/run_state.h"
#include "model/servers.h"
#include "util/log.h"

namespace dbr {
namespace {

// The sampler's connections to both sides, opened again when broken or when the sides have
// swapped roles (a cut-over makes the destination primary).
class ServerReader {
 public:
  explicit ServerReader(const Config& config) : config_(config), links_(LinksOf(config)) {}

  std::optional<LagReading> Read() {
    StateStore store(config_.state_dir);
    auto state = store.Load();
    if (!state.ok() || !store.Exists()) return std::nullopt;
    // With provider rds the destination appears during the run; after a cut-over it is primary.
    UseRecordedDestination(config_, *state);
    if (state->primary != primary_side_) {
      primary_.reset();
      replica_.reset();
      primary_side_ = state->primary;
    }
    Open(primary_, ParamsOf(config_, *primary_side_));
    if (!primary_) return std::nullopt;
    if (DestinationReachable(config_, *state))
      Open(replica_, ParamsOf(config_, Other(*primary_side_)));
    LagReading r;
    r.health = ReadReplicationHealth(&*primary_, replica_ ? &*replica_ : nullptr,
                                     links_.Into(Other(*primary_side_)));
    auto beat = LatestHeartbeat(*primary_, *primary_);
    if (beat.ok()) r.heartbeat = *beat;
    return r;
  }

 private:
  void Open(std::optional<pg::Connection>& conn, pg::ConnParams params) {
    if (conn && !conn->IsBroken()) return;
    conn.reset();
    params.connect_timeout_s = static_cast<int>(timings_.connect_timeout.count());
    auto c = pg::Connection::Open(params);
    if (c.ok()) {
      conn.emplace(std::move(*c));
      (void)conn->Exec(
          fmt::format("SET statement_timeout = '{}ms'", timings_.statement_timeout.count()));
    } else {
      log::debug("lag sampler: {}", c.message());
    }
  }

  const Timings::LagSampling& timings_ = Timings::Default().lag_sampling;
  Config config_;
  names::Links links_;
  std::optional<Side> primary_side_;  // unset until the first sample
  std::optional<pg::Connection> primary_, replica_;
};

}  // namespace

Status RecordLag(SampleRecorder& recorder, const ReplicationHealth& h,
                 std::chrono::milliseconds min_gap) {
  if (h.lag_bytes < 0 && h.lag_seconds < 0) return Status::Ok();
  nlohmann::json lag = nlohmann::json::object();
  if (h.lag_bytes >= 0) lag["bytes"] = h.lag_bytes;
  if (h.lag_seconds >= 0) lag["seconds"] = h.lag_seconds;
  return recorder.Record("lag", lag, min_gap);
}

LagSampler::LagSampler(const Config& config, Clock& clock)
    : LagSampler(
          config, [reader = std::make_shared<ServerReader>(config)] { return reader->Read(); },
          clock) {}

LagSampler::LagSampler(const Config& config, Read read, Clock& clock)
    : clock_(clock),
      read_(std::move(read)),
      recorder_(config.state_dir, "heartbeat", kDefaultSamplesMaxBytes, clock) {
  task_ = std::make_unique<PeriodicTask>(
      timings_.period, [this] { SampleOnce(); },
      /*call_when_stopped=*/false, clock_);
}

LagSampler::~LagSampler() {
  task_.reset();
}

void LagSampler::SampleOnce() {
  std::optional<LagReading> r = read_();
  if (!r) return;
  if (Status st = RecordLag(recorder_, r->health); !st.ok()) log::debug("{}", st.message());
  WarnAboutSlot(r->health);
  if (r->heartbeat && r->heartbeat->age_seconds >= 0) {
    Status st = recorder_.Record(
        "heartbeat", {{"seq", r->heartbeat->seq}, {"age_seconds", r->heartbeat->age_seconds}});
    if (!st.ok()) log::debug("{}", st.message());
  }
}

void LagSampler::WarnAboutSlot(const ReplicationHealth& h) {
  if (!h.source_read) return;  // unknown is not better: keep what was last seen
  std::string warning = h.SlotWarning();
  // The warning's text carries figures that move with every write: a repeat is the same trouble
  // (near or lost) of the same slot (h names the lane in trouble).
  std::string trouble =
      warning.empty() ? "" : h.slot_name + (h.slot_wal_status == "lost" ? " lost" : " near");
  if (trouble.empty()) {
    if (!slot_trouble_.empty() && h.slot_exists)
      log::info("replication slot {}: back within max_slot_wal_keep_size",
                slot_trouble_.substr(0, slot_trouble_.find(' ')));
    slot_trouble_.clear();
    return;
  }
  const Clock::TimePoint now = clock_.Now();
  if (trouble == slot_trouble_ && now - slot_trouble_logged_at_ < timings_.slot_warning_repeat)
    return;
  log::warn("replication slot {}: {}", h.slot_name, warning);
  slot_trouble_ = std::move(trouble);
  slot_trouble_logged_at_ = now;
}

}  // namespace dbr
