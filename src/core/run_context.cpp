#include "core/run_context.h"

#include <thread>

#include "core/servers.h"
#include "util/files.h"
#include "util/retry.h"

namespace dbr {

Status RunContext::SaveState() {
  // What the state records as done on the destination must survive a crash of the destination
  // (its commits may be asynchronous), so flush it first.
  if (dst && !dst->IsBroken()) DBR_RETURN_IF_ERROR(dst->FlushCommitted());
  std::lock_guard<std::mutex> lock(state_mutex);
  return store.Save(state);
}

std::string RunContext::ReplicationPassword() {
  if (!config.upgrade.password.empty()) return config.upgrade.password;
  if (state.replication_password.empty()) state.replication_password = RandomPassword(32);
  return state.replication_password;
}

Status RunContext::Reconnect() {
  RetryPolicy policy{.attempts = 5};
  auto open = [&](const pg::ConnParams& p, std::optional<pg::Connection>* out) {
    if (out->has_value() && !(*out)->IsBroken()) return Status::Ok();
    return Retry(policy, "connecting to the " + p.label, [&] {
      auto c = pg::Connection::Open(p);
      if (!c.ok()) return c.status();
      out->emplace(std::move(*c));
      return Status::Ok();
    });
  };
  DBR_RETURN_IF_ERROR(open(SourceParams(config), &src));
  if (!DestinationExists()) return Status::Ok();
  return open(DestinationParams(config), &dst);
}

bool RunContext::DestinationExists() const {
  return config.provider != "rds" || !state.rds.dst_host.empty();
}

Status RunContext::LoadTables() {
  auto listed = ListTables(*src, SchemasInScope(config.src.schemas));
  if (!listed.ok()) return listed.status();
  tables.clear();
  for (auto& t : *listed) {
    if (!t.Replicable()) continue;
    state.tables.try_emplace(t.Qualified());
    tables.push_back(std::move(t));
  }
  return Status::Ok();
}

int RunContext::Jobs() const {
  if (config.jobs > 0) return config.jobs;
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

const TableInfo* RunContext::FindTable(const std::string& qualified) const {
  for (const auto& t : tables)
    if (t.Qualified() == qualified) return &t;
  return nullptr;
}

}  // namespace dbr
