#include "model/run_context.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <thread>

#include "model/scope.h"
#include "model/servers.h"
#include "model/timings.h"
#include "pg/quote.h"
#include "util/files.h"
#include "util/log.h"
#include "util/retry.h"

namespace dbr {

Status RunContext::SaveState() {
  // What the state records as done on the destination must survive a crash of the destination
  // (its commits may be asynchronous), so its WAL is flushed first; with the connection lost it
  // cannot be, and the state stays as last saved.
  if (dst && dst->IsBroken())
    return Status::Unavailable(
        "the state is not saved while the destination is out of reach: what was done there "
        "since the last save may not have reached its disk");
  if (dst) DBR_RETURN_IF_ERROR(dst->FlushCommitted());
  std::lock_guard<std::mutex> lock(state_mutex);
  return store.Save(state);
}

Status RunContext::ReloadState() {
  const std::string held_lsn = state.snapshot_lsn;  // the exported snapshot's, if one is held
  DBR_ASSIGN_OR_RETURN(state, store.Load());
  for (const auto& t : tables) state.tables.try_emplace(t.Qualified());
  if (exported_snapshot.empty() || state.snapshot_lsn == held_lsn) return Status::Ok();
  // The slot was made but never recorded (the state has none, or an earlier one): the state
  // does not know the snapshot's point, so the snapshot cannot be used, and the slot is made
  // again (the publication step drops an unused one).
  log::warn("letting exported snapshot {} go: the state does not record the slot it came with",
            exported_snapshot);
  slot_connection.reset();
  exported_snapshot.clear();
  return Status::Ok();
}

std::string RunContext::ReplicationPassword() {
  if (!config.upgrade.password.empty()) return config.upgrade.password;
  if (state.replication_password.empty()) state.replication_password = RandomPassword(32);
  return state.replication_password;
}

Status RunContext::Reconnect() {
  auto open = [&](const pg::ConnParams& p, std::optional<pg::Connection>* out) {
    if (out->has_value() && !(*out)->IsBroken()) return Status::Ok();
    // A server never reached yet is probably misconfigured: say so soon. One that was there is
    // waited for (a restart, a network outage), for reconnect_timeout in all, however many
    // steps and calls the outage spans.
    RetryPolicy policy = Timings::Default().reconnect.first_contact;
    if (out->has_value()) {
      const Clock::TimePoint now = clock.Now();
      if (!outage_since) outage_since = now;
      policy = OutagePolicy();
      policy.give_up_after -= std::chrono::duration_cast<std::chrono::seconds>(now - *outage_since);
      policy.give_up_after = std::max<std::chrono::seconds>(
          policy.give_up_after, Timings::Default().reconnect.least_budget);
    }
    return RetryIf(
        policy, "connecting to the " + p.label,
        [&] {
          auto c = pg::Connection::Open(p);
          if (!c.ok()) return c.status();
          out->emplace(std::move(*c));
          return Status::Ok();
        },
        [](const Status& st) { return st.is_unavailable(); }, clock);
  };
  DBR_RETURN_IF_ERROR(open(SourceParams(config), &src));
  if (DestinationExists())
    DBR_RETURN_IF_ERROR(open(DestinationParams(config), &dst));
  else
    dst.reset();  // not there (yet), or being replaced (a cloud's upgrade in place)
  outage_since.reset();
  return Status::Ok();
}

RetryPolicy RunContext::OutagePolicy() const {
  const Timings::Reconnect& t = Timings::Default().reconnect;
  return RetryPolicy{.attempts = 1 << 30,
                     .first_delay = t.outage_first_delay,
                     .max_delay = t.outage_max_delay,
                     .give_up_after = std::chrono::seconds(config.reconnect_timeout)};
}

bool RunContext::LostAServer() {
  // A statement on each control connection (the slot's replication connection must not run
  // one: it would release the exported snapshot).
  bool lost = false;
  for (auto* c : {&src, &dst})
    if (c->has_value() && !(*c)->Exec("SELECT 1").ok()) lost = true;
  if (slot_connection && !slot_connection->Alive()) {
    slot_connection.reset();
    if (!exported_snapshot.empty())
      log::warn("the connection holding exported snapshot {} is gone, and the snapshot with it",
                exported_snapshot);
    exported_snapshot.clear();
    lost = true;
  }
  return lost;
}

bool RunContext::DestinationExists() const {
  return DestinationReachable(config, state);
}

Status RunContext::LoadTables() {
  auto listed = TablesInScope(*src, config);
  if (!listed.ok()) return listed.status();
  DBR_ASSIGN_OR_RETURN(const std::set<std::string> since, CreatedSinceTheSchema(*listed));
  if (!since.empty())
    log::warn(
        "{} table(s) created on the source since the destination got its schema are left "
        "out: {}",
        since.size(), fmt::join(since, ", "));
  tables.clear();
  for (auto& t : *listed) {
    if (!t.Replicable() || since.count(t.Qualified())) continue;
    state.tables.try_emplace(t.Qualified());
    tables.push_back(std::move(t));
  }
  return Status::Ok();
}

Result<std::set<std::string>> RunContext::CreatedSinceTheSchema(
    const std::vector<TableInfo>& in_scope) {
  std::set<std::string> since;
  if (!dst || state.snapshot_phase <= SnapshotPhase::kSchema || config.ddl == DdlMode::kReplicate)
    return since;
  std::vector<std::string> names;
  for (const auto& t : in_scope) names.push_back(t.Qualified());
  DBR_ASSIGN_OR_RETURN(pg::QueryResult absent,
                       dst->Query("SELECT t FROM unnest($1::text[]) t WHERE to_regclass(t) IS NULL",
                                  {pg::TextArrayLiteral(names)}));
  for (int i = 0; i < absent.rows(); ++i) since.insert(absent.Get(i, 0));
  return since;
}

int JobsOf(const Config& config) {
  if (config.jobs > 0) return config.jobs;
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

int RunContext::Jobs() const {
  return JobsOf(config);
}

const TableInfo* RunContext::FindTable(const std::string& qualified) const {
  for (const auto& t : tables)
    if (t.Qualified() == qualified) return &t;
  return nullptr;
}

}  // namespace dbr
