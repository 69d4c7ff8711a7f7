#include "engine/replication_health.h"

#include <algorithm>
#include <string_view>

#include "engine/heartbeat.h"
#include "model/names.h"

namespace dbr {

nlohmann::json ReplicationHealth::ToJson() const {
  return {{"lanes", lanes},
          {"slot",
           {{"name", slot_name},
            {"exists", slot_exists},
            {"active", slot_active},
            {"wal_status", slot_wal_status},
            {"lag_bytes", lag_bytes},
            {"retained_bytes", retained_bytes},
            {"safe_wal_bytes", safe_wal_bytes},
            {"warning", SlotWarning()}}},
          {"subscription",
           {{"name", subscription_name},
            {"exists", subscription_exists},
            {"enabled", subscription_enabled},
            {"apply_worker_running", apply_worker_running},
            {"tables_not_ready", tables_not_ready},
            {"apply_errors", apply_errors}}},
          {"heartbeat",
           {{"source_seq", src_heartbeat_seq},
            {"destination_seq", dst_heartbeat_seq},
            {"source_at", src_heartbeat_at},
            {"destination_at", dst_heartbeat_at},
            {"lag_seconds", lag_seconds}}}};
}

std::string ReplicationHealth::SlotWarning() const {
  if (!slot_exists) return "";
  if (slot_wal_status == "lost")
    return "the replication slot was invalidated (max_slot_wal_keep_size exceeded): the "
           "destination can no longer catch up; run `db_relocate cleanup` and start again";
  // Less headroom than the slot already retains: at this pace it is lost before catching up.
  if (slot_wal_status == "unreserved" ||
      (safe_wal_bytes >= 0 && retained_bytes > 0 && safe_wal_bytes < retained_bytes))
    return "the replication slot is close to invalidation: only " + std::to_string(safe_wal_bytes) +
           " bytes of WAL may still be written before max_slot_wal_keep_size drops it; raise "
           "max_slot_wal_keep_size on the source now";
  return "";
}

namespace {

// What `link` alone reports: its slot on `src`, its subscription on `dst`.
ReplicationHealth ReadLane(pg::Connection* src, pg::Connection* dst, const names::Link& link) {
  ReplicationHealth h;
  h.slot_name = link.slot;
  h.subscription_name = link.subscription;
  if (src != nullptr) {
    auto slot = src->Query(R"sql(
      SELECT active, COALESCE(wal_status, ''),
             pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::int8,
             pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::int8,
             COALESCE(safe_wal_size, -1)
        FROM pg_replication_slots WHERE slot_name = $1)sql",
                           {link.slot});
    h.source_read = slot.ok();
    if (slot.ok() && slot->rows() > 0) {
      h.slot_exists = true;
      h.slot_active = slot->GetBool(0, 0);
      h.slot_wal_status = slot->Get(0, 1);
      h.lag_bytes = slot->GetInt(0, 2);
      h.retained_bytes = slot->GetInt(0, 3);
      h.safe_wal_bytes = slot->GetInt(0, 4);
    }
  }
  if (dst != nullptr) {
    auto sub = dst->Query(R"sql(
      SELECT s.subenabled,
             EXISTS (SELECT 1 FROM pg_stat_subscription w
                      WHERE w.subid = s.oid AND w.relid IS NULL AND w.pid IS NOT NULL),
             (SELECT count(*) FROM pg_subscription_rel r
               WHERE r.srsubid = s.oid AND r.srsubstate <> 'r'),
             s.oid
        FROM pg_subscription s WHERE s.subname = $1 AND )sql" +
                              std::string(names::kSubscriptionInThisDatabase),
                          {link.subscription});
    h.destination_read = sub.ok();
    if (sub.ok() && sub->rows() > 0) {
      h.subscription_exists = true;
      h.subscription_enabled = sub->GetBool(0, 0);
      h.apply_worker_running = sub->GetBool(0, 1);
      h.tables_not_ready = sub->GetInt(0, 2);
      if (dst->server_major() >= 15) {
        auto errors = dst->QueryInt(
            "SELECT apply_error_count + sync_error_count FROM pg_stat_subscription_stats "
            "WHERE subid = $1::oid",
            {sub->Get(0, 3)});
        if (errors.ok()) h.apply_errors = *errors;
      }
    }
  }
  return h;
}

bool Troubled(const ReplicationHealth& h) {
  return !h.slot_exists || !h.subscription_exists || !h.subscription_enabled ||
         !h.apply_worker_running || !h.SlotWarning().empty();
}

// `lane` folded into `all`: the worst of each (the largest lag, the least WAL left, every part
// present and running), named after the first lane in trouble.
void Fold(ReplicationHealth& all, const ReplicationHealth& lane) {
  if (Troubled(lane) && !Troubled(all)) {
    all.slot_name = lane.slot_name;
    all.subscription_name = lane.subscription_name;
  }
  all.source_read = all.source_read && lane.source_read;
  all.destination_read = all.destination_read && lane.destination_read;
  all.slot_exists = all.slot_exists && lane.slot_exists;
  all.slot_active = all.slot_active && lane.slot_active;
  constexpr std::string_view kWorse[] = {"lost", "unreserved", "extended"};
  for (std::string_view status : kWorse) {
    if (all.slot_wal_status == status) break;
    if (lane.slot_wal_status == status) {
      all.slot_wal_status = lane.slot_wal_status;
      break;
    }
  }
  all.lag_bytes = std::max(all.lag_bytes, lane.lag_bytes);
  all.retained_bytes = std::max(all.retained_bytes, lane.retained_bytes);
  if (lane.safe_wal_bytes >= 0)
    all.safe_wal_bytes = all.safe_wal_bytes < 0 ? lane.safe_wal_bytes
                                                : std::min(all.safe_wal_bytes, lane.safe_wal_bytes);
  all.subscription_exists = all.subscription_exists && lane.subscription_exists;
  all.subscription_enabled = all.subscription_enabled && lane.subscription_enabled;
  all.apply_worker_running = all.apply_worker_running && lane.apply_worker_running;
  all.tables_not_ready += lane.tables_not_ready;
  if (lane.apply_errors >= 0)
    all.apply_errors = std::max<int64_t>(all.apply_errors, 0) + lane.apply_errors;
}

}  // namespace

ReplicationHealth ReadReplicationHealth(pg::Connection* src, pg::Connection* dst,
                                        const std::vector<names::Link>& lanes) {
  ReplicationHealth h = ReadLane(src, dst, lanes.front());
  for (size_t i = 1; i < lanes.size(); ++i) Fold(h, ReadLane(src, dst, lanes[i]));
  h.lanes = static_cast<int>(lanes.size());
  if (src != nullptr) {
    auto beat = LatestHeartbeat(*src, *src);
    if (beat.ok() && beat->has_value()) {
      h.src_heartbeat_seq = (*beat)->seq;
      h.src_heartbeat_at = (*beat)->written_at;
    }
  }
  if (dst != nullptr && src != nullptr) {
    auto beat = LatestHeartbeat(*dst, *src);
    if (beat.ok() && beat->has_value()) {
      h.dst_heartbeat_seq = (*beat)->seq;
      h.dst_heartbeat_at = (*beat)->written_at;
      h.lag_seconds = (*beat)->age_seconds;
    }
  }
  return h;
}

}  // namespace dbr
