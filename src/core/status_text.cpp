// `status` for a human: one labelled line per fact, labels padded to one column.
#include <fmt/format.h>

#include "core/status_view.h"
#include "util/progress.h"

namespace dbr {
namespace {

std::string Field(const std::string& label, const std::string& value) {
  return fmt::format("{:<17}{}\n", label + ":", value);
}

std::string YesNo(bool b) {
  return b ? "yes" : "no";
}

std::string OrDash(const std::string& text) {
  return text.empty() ? "-" : text;
}

std::string RunLines(const StatusView& view) {
  std::string out;
  if (!view.started)
    out += "no relocation has run with this config yet (state: " + view.state_dir + ")\n";
  out += Field("step", OrDash(view.current_step));
  if (!view.started_at.empty()) out += Field("started", view.started_at);
  if (!view.snapshot_lsn.empty()) out += Field("snapshot LSN", view.snapshot_lsn);
  return out;
}

std::string RdsLines(const RdsState& rds) {
  if (rds.phase == RdsPhase::kNone) return "";
  std::string out = Field(
      "RDS", fmt::format("{} (snapshot {}{})", rds.phase, rds.snapshot,
                         rds.encrypted_snapshot.empty() ? "" : ", " + rds.encrypted_snapshot));
  if (!rds.instance.empty())
    out += Field(
        "RDS destination",
        fmt::format(
            "{} at {}:{}{}", rds.instance, rds.dst_host, rds.dst_port,
            rds.replicas.empty() ? "" : fmt::format(", {} read replica(s)", rds.replicas.size())));
  if (!rds.hops.empty()) {
    std::string hops;
    for (const auto& version : rds.hops) {
      std::string done;
      for (const auto& h : rds.instance_hops)
        if (h.version == version)
          done = h.seconds > 0 ? " done in " + HumanDuration(h.seconds) : " under way";
      hops += (hops.empty() ? "" : ", ") + version + done;
    }
    out += Field("RDS upgrade", fmt::format("method {}: {}", rds.method, hops));
  }
  return out;
}

// The count of tables in each state, then every table not copied yet.
std::string TableLines(const std::map<std::string, TableProgress>& tables) {
  std::map<std::string, int> by_state;  // by name, so the counts are in alphabetical order
  for (const auto& [name, t] : tables) by_state[std::string(NameOf(t.state))]++;
  std::string counts;
  for (const auto& [state, n] : by_state)
    counts += (counts.empty() ? "" : ", ") + fmt::format("{} {}", n, state);
  std::string out = Field("tables", OrDash(counts));
  for (const auto& [name, t] : tables)
    if (t.state != TableState::kCopied) out += fmt::format("  {:<40} {}\n", name, t.state);
  return out;
}

std::string SwitchLines(const StatusView& view) {
  const std::string primary = SideName(view.primary);
  std::string out = Field("primary", fmt::format("{} (replication {} -> {})", primary, primary,
                                                 SideName(Other(view.primary))));
  for (const auto& r : view.switches) {
    out += fmt::format("  {} at {}: write pause {:.0f} ms", SwitchName(r.to), r.finished_at,
                       r.pause_ms);
    const LargeObjectSync& lo = r.large_objects;
    if (!lo.None())
      out += fmt::format(" ({:.0f} ms of it comparing {} large objects, {} copied again)", lo.ms,
                         lo.compared, lo.copied + lo.removed + lo.fixed);
    out += "\n";
  }
  if (const auto& s = view.unfinished_switch)
    out += Field("WARNING", fmt::format("a {} was interrupted (stage {}): run it again",
                                        SwitchCommand(s->to), s->stage));
  else if (!view.switches.empty() && view.switches.back().follow_up_pending)
    out += Field(
        "WARNING",
        fmt::format("what follows the last {} (materialized views refreshed, scheduled "
                    "events moved) is not done: run `db_relocate {}` again",
                    SwitchName(view.switches.back().to), SwitchCommand(view.switches.back().to)));
  return out;
}

std::string ReachLines(const StatusView& view) {
  std::string out;
  if (!view.source_error.empty()) out += Field("source", "unreachable: " + view.source_error);
  if (!view.destination_error.empty())
    out += Field("destination", "unreachable: " + view.destination_error);
  return out;
}

// With several lanes the health is the worst of them, and a missing part is named.
std::string Absent(const ReplicationHealth& h, const std::string& name) {
  return h.lanes > 1 ? "absent: " + name : "absent";
}

std::string SlotLine(const ReplicationHealth& h) {
  if (!h.slot_exists) return Field("slot", Absent(h, h.slot_name));
  return Field("slot",
               fmt::format("present, active {}, wal_status {}, retains {}", YesNo(h.slot_active),
                           h.slot_wal_status, HumanBytes(static_cast<double>(h.retained_bytes))));
}

std::string SubscriptionLine(const ReplicationHealth& h) {
  if (!h.subscription_exists) return Field("subscription", Absent(h, h.subscription_name));
  return Field("subscription",
               fmt::format("present, enabled {}, apply worker {}, {} tables syncing",
                           YesNo(h.subscription_enabled),
                           h.apply_worker_running ? "running" : "NOT running", h.tables_not_ready));
}

// engine mysql's replication into the side that follows the primary.
std::string BinlogReplicationLines(const BinlogReplicationView& b) {
  std::string out =
      b.exists ? Field("replication",
                       fmt::format("{} present, receiving {}, applying {}, applied up to {} ({})",
                                   b.name, YesNo(b.receiving), YesNo(b.applying), b.applied,
                                   b.by_gtid ? "positioned by GTID" : "by file and offset"))
               : Field("replication", b.name + " absent");
  if (!b.error.empty()) out += Field("WARNING", "replication error: " + b.error);
  out += Field("lag", fmt::format("{} bytes, {} s", b.lag_bytes,
                                  b.seconds_behind < 0 ? std::string("?")
                                                       : std::to_string(b.seconds_behind)));
  return out;
}

std::string ReplicationLines(const StatusView& view) {
  if (view.binlog) return BinlogReplicationLines(*view.binlog);
  const ReplicationHealth& h = view.replication;
  std::string out = h.lanes > 1 ? Field("lanes", fmt::format("{} (apply_workers): each line below "
                                                             "is the worst of them",
                                                             h.lanes))
                                : "";
  out += SlotLine(h) + SubscriptionLine(h);
  if (h.apply_errors >= 0) out += Field("apply errors", std::to_string(h.apply_errors));
  if (std::string w = h.SlotWarning(); !w.empty()) out += Field("WARNING", w);
  if (const auto& p = view.pending_ddl)
    out += Field(p->error.empty() ? "DDL" : "WARNING",
                 fmt::format("#{} from the {} not applied yet{}: {}", p->id, SideName(view.primary),
                             p->error.empty() ? "" : " and it fails there (" + p->error + ")",
                             p->statement));
  for (const auto& d : view.schema_drift)
    out += Field("WARNING", "schema changed on the " + std::string(SideName(view.primary)) + ": " +
                                d.ToString());
  out += Field("lag", fmt::format("{} bytes, {} s", h.lag_bytes,
                                  h.lag_seconds < 0 ? std::string("?")
                                                    : fmt::format("{:.1f}", h.lag_seconds)));
  return out;
}

std::string HeartbeatLine(const StatusView& view) {
  // The health was read with the primary as the sending side: its `src_` fields are the primary's.
  const ReplicationHealth& h = view.replication;
  const auto& pid = view.heartbeat_writer_pid;
  return Field(
      "heartbeat",
      fmt::format("{} #{} ({}), {} #{} ({}), writer {}", SideName(view.primary),
                  h.src_heartbeat_seq, OrDash(h.src_heartbeat_at), SideName(Other(view.primary)),
                  h.dst_heartbeat_seq, OrDash(h.dst_heartbeat_at),
                  pid ? fmt::format("running (pid {})", *pid) : "not running"));
}

}  // namespace

std::string StatusText(const StatusView& view) {
  std::string out = RunLines(view) + RdsLines(view.rds) + TableLines(view.tables) +
                    SwitchLines(view) + ReachLines(view) + ReplicationLines(view) +
                    HeartbeatLine(view);
  for (const auto& note : view.notes) out += "note: " + note + "\n";
  return out;
}

}  // namespace dbr
