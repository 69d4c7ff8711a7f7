#include "core/switch_ready.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "engine/fence.h"
#include "engine/heartbeat.h"
#include "engine/replication_health.h"
#include "engine/schema_drift.h"
#include "pg/quote.h"
#include "util/log.h"
#include "util/poll.h"

namespace dbr {
namespace {

// `h` reads every lane and names the first in trouble.
Status CheckLink(const SwitchSides& s, const ReplicationHealth& h) {
  const std::string what = fmt::format("replication {} -> {}", s.from, s.to);
  if (!h.source_read || !h.destination_read)
    return Status::Error(what + ": cannot read its state on both servers");
  if (!h.slot_exists || h.slot_wal_status == "lost")
    return Status::Error(fmt::format("{}: slot {} on the {} is {}", what, h.slot_name,
                                     SideName(s.from), h.slot_exists ? "lost" : "missing"));
  if (!h.subscription_exists || !h.subscription_enabled || !h.apply_worker_running)
    return Status::Error(fmt::format("{}: subscription {} on the {} is {}", what,
                                     h.subscription_name, SideName(s.to),
                                     !h.subscription_exists    ? "missing"
                                     : !h.subscription_enabled ? "disabled"
                                                               : "not running (apply errors?)"));
  if (h.tables_not_ready > 0)
    return Status::Error(
        fmt::format("{}: {} tables are still being synchronised", what, h.tables_not_ready));
  if (h.lag_bytes > s.config.cutover.max_lag_bytes)
    return Status::Error(fmt::format("{}: lag is {} bytes, above cutover.max_lag_bytes ({})", what,
                                     h.lag_bytes, s.config.cutover.max_lag_bytes));
  return Status::Ok();
}

// The newest heartbeat applied on the new side is recent: replication into it really flows.
Status HeartbeatIsFresh(const SwitchSides& s, Clock& clock, const Timings& timings) {
  const double fresh =
      std::max(std::chrono::duration<double>(timings.switching.heartbeat_fresh_floor).count(),
               timings.switching.heartbeat_fresh_intervals * s.config.heartbeat_interval);
  double newest_age = -1;
  auto flowing = PollUntil(clock, Seconds(fresh) + timings.switching.heartbeat_grace,
                           timings.switching.heartbeat_poll, [&]() -> Result<bool> {
                             auto beat = LatestHeartbeat(s.new_side, s.old_side);
                             if (!beat.ok()) return beat.status();
                             newest_age = beat->has_value() ? (*beat)->age_seconds : -1.0;
                             return newest_age >= 0 && newest_age <= fresh;
                           });
  if (!flowing.ok()) return flowing.status();
  if (!*flowing)
    return Status::Error(
        fmt::format("the heartbeat is not flowing into the {}: newest one {} s old (limit {} s)",
                    SideName(s.to), newest_age, fresh));
  return Status::Ok();
}

}  // namespace

Status ProxyIsReady(Proxy& proxy, Side from) {
  auto proxy_state = proxy.Inspect();
  if (!proxy_state.ok()) return proxy_state.status();
  if (!proxy_state->running)
    return Status::Error(
        fmt::format("the proxy ({}) does not answer: {}", proxy.name(), proxy_state->detail));
  if (proxy_state->active != from)
    return Status::Error(
        fmt::format("the proxy does not send traffic to the {} as expected ({}); nothing was "
                    "changed",
                    SideName(from), proxy_state->detail));
  if (proxy_state->paused)
    return Status::Error("the proxy is paused already (" + proxy_state->detail +
                         "): is another cut-over running? Resume it first");
  return Status::Ok();
}

Status NewSideCanReplicateBack(const SwitchSides& s) {
  auto wal_level = s.new_side.QueryValue("SHOW wal_level");
  if (!wal_level.ok()) return wal_level.status();
  if (*wal_level != "logical")
    return Status::Error(fmt::format(
        "the {} has wal_level = {}: the return replication (for a rollback) needs logical; set "
        "it and restart that server",
        SideName(s.to), *wal_level));
  return Status::Ok();
}

Status NoPreparedTransactions(pg::Connection& old_side, Side from) {
  auto n = old_side.QueryValue(
      "SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()");
  if (!n.ok()) return n.status();
  if (*n != "0")
    return Status::Error(fmt::format(
        "{} prepared transactions are pending on the {} (pg_prepared_xacts): COMMIT PREPARED or "
        "ROLLBACK PREPARED them first",
        *n, SideName(from)));
  return Status::Ok();
}

Status NoSchemaDriftBlocks(const SwitchSides& s) {
  auto drift = ReadSchemaDrift(s.old_side, s.new_side, s.link_in, s.config);
  if (!drift.ok()) return drift.status();
  return NoBlockingDrift(*drift,
                         fmt::format("the schema was changed on the {} during the relocation and "
                                     "the {} does not have it, so those rows cannot reach it; "
                                     "nothing was changed. Fix it first:",
                                     SideName(s.from), SideName(s.to)));
}

Status ReplicationIntoNewSideFlows(const SwitchSides& s, Clock& clock, const Timings& timings) {
  ReplicationHealth first;
  Status healthy;
  auto settled = PollUntil(clock, timings.switching.settle, timings.switching.settle_poll,
                           [&]() -> Result<bool> {
                             first = ReadReplicationHealth(&s.old_side, &s.new_side, s.link_in);
                             healthy = CheckLink(s, first);
                             return healthy.ok();
                           });
  if (!*settled) return healthy;
  DBR_RETURN_IF_ERROR(HeartbeatIsFresh(s, clock, timings));
  ReplicationHealth second = ReadReplicationHealth(&s.old_side, &s.new_side, s.link_in);
  DBR_RETURN_IF_ERROR(CheckLink(s, second));
  if (second.apply_errors > first.apply_errors)
    return Status::Error(fmt::format(
        "subscription {} on the {} keeps failing to apply changes ({} errors so far); see that "
        "server's log",
        fmt::join(names::SubscriptionsOf(s.link_in), ", "), SideName(s.to), second.apply_errors));
  log::info("ready: replication into the {} runs, lag {} bytes, heartbeat fresh", SideName(s.to),
            second.lag_bytes);
  return Status::Ok();
}

Status ReturnReplicationStreams(pg::Connection& old_side, const std::vector<names::Link>& link_out,
                                Side from, Side to, Clock& clock, const Timings& timings) {
  const std::string streaming = fmt::format(R"sql(
    SELECT count(*) FROM pg_stat_subscription w JOIN pg_subscription s ON s.oid = w.subid
     WHERE s.subname = $1 AND s.{} AND w.relid IS NULL AND w.pid IS NOT NULL
       AND w.received_lsn IS NOT NULL)sql",
                                            names::kSubscriptionInThisDatabase);
  const PolledWait& wait = timings.switching.return_streams;
  for (const names::Link& lane : link_out) {
    auto streams = PollUntil(clock, wait.limit, wait.poll, [&]() -> Result<bool> {
      // Not DBR_ASSIGN_OR_RETURN: GCC 12 at -O3 warns (falsely) that its string may be read
      // uninitialized here, and warnings are errors in our builds.
      auto n = old_side.QueryValue(streaming, {lane.subscription});
      if (!n.ok()) return n.status();
      return *n != "0";
    });
    if (!streams.ok()) return streams.status();
    if (!*streams)
      return Status::Error(fmt::format(
          "the return subscription {} on the {} has no worker streaming from the {} after {} s: "
          "the {} does not follow the application's writes yet, and going back would lose them. "
          "The {}'s server log says why (often: it cannot reach the {} or log in there as "
          "upgrade.user)",
          lane.subscription, SideName(from), SideName(to), wait.LimitSeconds(), SideName(from),
          SideName(from), SideName(to)));
  }
  log::info("return replication {} -> {} streams (subscription {})", SideName(to), SideName(from),
            fmt::join(names::SubscriptionsOf(link_out), ", "));
  return Status::Ok();
}

Status SyncLogins(const SwitchSides& s) {
  auto roles = RolesToFence(s.config, s.old_side);
  if (!roles.ok()) return roles.status();
  auto secrets = s.old_side.Query(
      "SELECT rolname, rolpassword FROM pg_authid WHERE rolname = ANY($1::text[]) AND "
      "rolpassword IS NOT NULL",
      {pg::TextArrayLiteral(*roles)});
  if (!secrets.ok()) {
    log::warn(
        "cannot read the application roles' passwords on the {} ({}): make sure they "
        "can log in to the {} with the same passwords",
        SideName(s.from), secrets.message(), SideName(s.to));
    return Status::Ok();
  }
  // A managed server's administrator cannot read pg_authid: there each password is set again,
  // but for the superusers, which it cannot change (they are the provider's, or not its).
  auto readable =
      s.new_side.QueryValue("SELECT has_table_privilege('pg_catalog.pg_authid', 'SELECT')");
  if (!readable.ok()) return readable.status();
  const char* same_secret =
      *readable == "t"
          ? "SELECT rolpassword IS NOT DISTINCT FROM $2 FROM pg_authid WHERE rolname = $1"
          : "SELECT $2::text IS NULL OR rolsuper FROM pg_roles WHERE rolname = $1";
  int synced = 0;
  for (int i = 0; i < secrets->rows(); ++i) {
    const std::string role = secrets->Get(i, 0), secret = secrets->Get(i, 1);
    auto there = s.new_side.Query(same_secret, {role, secret});
    if (!there.ok()) return there.status();
    if (there->rows() == 0)
      return Status::Error(fmt::format(
          "role {} logs in to the {} but does not exist on the {}: create it there first", role,
          SideName(s.from), SideName(s.to)));
    if (there->GetBool(0, 0)) continue;
    DBR_RETURN_IF_ERROR(s.new_side
                            .ExecSensitive("ALTER ROLE " + pg::QuoteIdent(role) + " PASSWORD " +
                                           pg::QuoteLiteral(secret))
                            .Wrap("copying the password of role " + role));
    ++synced;
  }
  if (synced > 0)
    log::info("{} application roles given their {} password on the {}", synced, SideName(s.from),
              SideName(s.to));
  return Status::Ok();
}

}  // namespace dbr
