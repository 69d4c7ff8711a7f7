#include "engine/replication_link.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

#include "model/servers.h"
#include "model/timings.h"
#include "pg/quote.h"
#include "util/log.h"

namespace dbr {
namespace {

constexpr std::string_view kReplicationUserMark = "db_relocate replication user ";

std::string CommentOf(const RelocationMark& mark) {
  nlohmann::json j = {{"source", mark.source},
                      {"source_database", mark.src_database},
                      {"destination_database", mark.dst_database}};
  return std::string(kReplicationUserMark) + j.dump();
}

std::optional<RelocationMark> MarkIn(const std::string& comment) {
  if (!comment.starts_with(kReplicationUserMark)) return std::nullopt;
  auto j = nlohmann::json::parse(comment.substr(kReplicationUserMark.size()), nullptr, false);
  RelocationMark mark;
  for (auto [key, field] :
       {std::pair{"source", &mark.source}, std::pair{"source_database", &mark.src_database},
        std::pair{"destination_database", &mark.dst_database}}) {
    if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return std::nullopt;
    *field = j[key].get<std::string>();
  }
  return mark;
}

// What of the relocation of `owner` is on the server `conn` is on: its slots and subscriptions
// (of its first lane, which every relocation has), each looked for in the database it belongs to.
Result<std::string> EvidenceOf(pg::Connection& conn, const names::Links& owner) {
  auto found = conn.Query(
      R"sql(
    SELECT what FROM (
      SELECT 1 AS rank, 'subscription ' || s.subname || ' in database ' || d.datname AS what
        FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid
       WHERE (s.subname = $5 AND d.datname = $4) OR (s.subname = $6 AND d.datname = $3)
      UNION ALL
      SELECT 2, 'slot ' || slot_name FROM pg_replication_slots
       WHERE (slot_name = $1 AND database = $3) OR (slot_name = $2 AND database = $4)) e
     ORDER BY rank, what LIMIT 1)sql",
      {owner.forward.front().slot, owner.reverse.slot, owner.src_database, owner.dst_database,
       owner.forward.front().subscription, owner.reverse.subscription});
  if (!found.ok()) return found.status();
  return found->rows() == 0 ? std::string() : found->Get(0, 0);
}

Result<std::string> RoleComment(pg::Connection& conn, const std::string& user) {
  return conn.QueryValue(
      "SELECT COALESCE((SELECT shobj_description(oid, 'pg_authid') FROM pg_roles "
      "WHERE rolname = $1), '')",
      {user});
}

// The pid of the session holding claim slot `slot` ("" when none does; "0" for a claim slot no
// session holds: made by hand).
Result<std::string> ClaimHolder(pg::Connection& conn, const std::string& slot) {
  return conn.QueryValue(
      "SELECT COALESCE((SELECT COALESCE(active_pid, 0)::text FROM pg_replication_slots "
      "WHERE slot_name = $1), '')",
      {slot});
}

}  // namespace

Result<std::optional<pg::Connection>> ClaimReplicationUser(const pg::ConnParams& source,
                                                           const std::string& user, Clock& clock) {
  std::optional<pg::Connection> none;
  auto opened = pg::Connection::Open(source);
  if (!opened.ok()) return opened.status().Wrap("claiming upgrade.user " + user);
  pg::Connection conn = std::move(*opened);
  DBR_ASSIGN_OR_RETURN(int64_t free_slots,
                       conn.QueryInt("SELECT current_setting('max_replication_slots')::int - "
                                     "(SELECT count(*) FROM pg_replication_slots)"));
  if (free_slots < 2) {
    log::warn(
        "upgrade.user {} is not claimed on the {}: {} replication slot(s) free, the claim and "
        "the relocation's slot need two. Two relocations started at once with this user could "
        "both set it up",
        user, source.label, free_slots);
    return none;
  }
  // Named by the server: a role's name may hold characters a slot's may not.
  DBR_ASSIGN_OR_RETURN(std::string slot, conn.QueryValue("SELECT $1 || md5($2)",
                                                         {std::string(kClaimSlotPrefix), user}));
  const PolledWait& wait = Timings::Default().replication.user_claim;
  const Clock::TimePoint started = clock.Now();
  std::string logged_holder;
  for (;;) {
    DBR_ASSIGN_OR_RETURN(std::string holder, ClaimHolder(conn, slot));
    if (holder.empty()) {
      Status created =
          conn.Exec("SELECT pg_create_physical_replication_slot($1, false, true)", {slot});
      if (created.ok()) {
        log::info("upgrade.user {} claimed on the {} (temporary replication slot {})", user,
                  source.label, slot);
        return std::optional<pg::Connection>(std::move(conn));
      }
      DBR_ASSIGN_OR_RETURN(holder, ClaimHolder(conn, slot));
      if (holder.empty()) {  // not taken by another run: the server will not make it
        log::warn(
            "upgrade.user {} is not claimed on the {} ({}): two relocations started at once with "
            "this user could both set it up",
            user, source.label, created.message());
        return none;
      }
    }
    if (holder != logged_holder) {
      log::info(
          "upgrade.user {} is being claimed on the {} by another relocation (session pid {}): "
          "waiting until its replication slot exists or it ends",
          user, source.label, holder);
      logged_holder = holder;
    }
    if (clock.Now() - started >= wait.limit)
      return Status::Error(fmt::format(
          "upgrade.user {} has been claimed on the {} by the session with pid {} for more than "
          "{} s (another relocation setting up the same replication user). If no relocation is "
          "starting with it, end that session (SELECT pg_terminate_backend({})), or drop "
          "replication slot {} when no session holds it; or give this relocation a replication "
          "user of its own (upgrade.user)",
          pg::QuoteIdent(user), source.label, holder, wait.LimitSeconds(), holder, slot));
    clock.SleepFor(wait.poll);
  }
}

RelocationMark MarkOf(const Config& config, const RunState& state) {
  return {RelocationSource(config, state), config.src.name, config.dst.name};
}

std::string ReplicationUserOwner::Message(const std::string& user) const {
  return fmt::format(
      "upgrade.user {} is the replication user of the relocation of database {} of {} into "
      "database {}, under way on this server ({}): a new password would lock that relocation "
      "out. Give this relocation a replication user of its own (upgrade.user)",
      pg::QuoteIdent(user), pg::QuoteIdent(relocation.src_database), relocation.source,
      pg::QuoteIdent(relocation.dst_database), evidence);
}

Result<std::optional<ReplicationUserOwner>> ReplicationUserInUse(pg::Connection& conn,
                                                                 const std::string& user,
                                                                 const RelocationMark& mine) {
  auto comment = RoleComment(conn, user);
  if (!comment.ok()) return comment.status();
  std::optional<ReplicationUserOwner> none;
  std::optional<RelocationMark> owner = MarkIn(*comment);
  if (!owner || *owner == mine) return none;  // unmarked (or not by this version), or ours
  DBR_ASSIGN_OR_RETURN(std::string evidence,
                       EvidenceOf(conn, names::Links(owner->src_database, owner->dst_database)));
  if (evidence.empty()) return none;
  return std::optional<ReplicationUserOwner>(ReplicationUserOwner{*owner, evidence});
}

Status RecordReplicationUserBefore(pg::Connection& conn, const std::string& user,
                                   const RelocationMark& mine, Side side, RunState& state) {
  auto recorded = state.replication_user_before.find(side);
  if (recorded != state.replication_user_before.end() && recorded->second.role == user)
    return Status::Ok();
  DBR_ASSIGN_OR_RETURN(std::string exists,
                       conn.QueryValue("SELECT count(*) FROM pg_roles WHERE rolname = $1", {user}));
  DBR_ASSIGN_OR_RETURN(std::string comment, RoleComment(conn, user));
  if (MarkIn(comment) == mine) return Status::Ok();  // set up already, unrecorded
  state.replication_user_before[side] = {
      .role = user, .existed = exists != "0", .comment = comment};
  return Status::Ok();
}

Result<names::Links> LinksOnServers(const Config& config, pg::Connection& src,
                                    pg::Connection* dst) {
  DBR_ASSIGN_OR_RETURN(
      pg::QueryResult on_src,
      src.Query("SELECT pubname::text FROM pg_publication "
                "UNION ALL SELECT slot_name::text FROM pg_replication_slots WHERE database = "
                "current_database()"));
  std::set<std::string> found;
  for (int i = 0; i < on_src.rows(); ++i) found.insert(on_src.Get(i, 0));
  if (dst != nullptr) {
    DBR_ASSIGN_OR_RETURN(
        pg::QueryResult on_dst,
        dst->Query(std::string("SELECT subname::text FROM pg_subscription WHERE ") +
                   names::kSubscriptionInThisDatabase));
    for (int i = 0; i < on_dst.rows(); ++i) found.insert(on_dst.Get(i, 0));
  }
  int lanes = config.apply_workers;
  for (const names::Link& lane :
       names::Links(config.src.name, config.dst.name, Config::kMaxApplyWorkers).forward)
    if (found.contains(lane.publication) || found.contains(lane.slot) ||
        found.contains(lane.subscription))
      lanes = std::max(lanes, lane.lane);
  return names::Links(config.src.name, config.dst.name, lanes);
}

Result<bool> ReplicationUserMarkedFor(pg::Connection& conn, const std::string& user,
                                      const RelocationMark& mine) {
  DBR_ASSIGN_OR_RETURN(std::string comment, RoleComment(conn, user));
  return MarkIn(comment) == mine;
}

Result<OwnedObjects> ObjectsOwnedBy(pg::Connection& conn, const std::string& user) {
  DBR_ASSIGN_OR_RETURN(pg::QueryResult r, conn.Query(R"sql(
    SELECT count(*), min(pg_describe_object(d.classid, d.objid, d.objsubid))
      FROM pg_shdepend d JOIN pg_roles r ON r.oid = d.refobjid
     WHERE r.rolname = $1 AND d.deptype = 'o'
       AND d.dbid IN (0, (SELECT oid FROM pg_database WHERE datname = current_database())))sql",
                                                     {user}));
  return OwnedObjects{r.GetInt(0, 0), r.Get(0, 1)};
}

Status RestoreReplicationUserComment(pg::Connection& conn, const std::string& user,
                                     const RoleBefore& before, const RelocationMark& mine) {
  DBR_ASSIGN_OR_RETURN(bool marked, ReplicationUserMarkedFor(conn, user, mine));
  if (!marked) return Status::Ok();
  return conn.Exec(
      fmt::format("COMMENT ON ROLE {} IS {}", pg::QuoteIdent(user),
                  before.comment.empty() ? std::string("NULL") : pg::QuoteLiteral(before.comment)));
}

Status EnsureReplicationUser(pg::Connection& conn, const std::string& user,
                             const std::string& password, const std::vector<std::string>& schemas,
                             const RelocationMark& mine) {
  // Hash on the client: the clear password never reaches the server's logs.
  char* verifier = PQencryptPasswordConn(conn.raw(), password.c_str(), user.c_str(), nullptr);
  if (verifier == nullptr)
    return Status::Error("cannot hash the replication user's password: " +
                         std::string(PQerrorMessage(conn.raw())));
  std::string hashed = verifier;
  PQfreemem(verifier);

  auto info = conn.Query(R"sql(
    SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
           EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_replication'),
           EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1))sql",
                         {user});
  if (!info.ok()) return info.status();
  bool superuser = info->GetBool(0, 0), rds = info->GetBool(0, 1), exists = info->GetBool(0, 2);
  bool use_rds_role = rds && !superuser;
  if (exists) {
    auto owner = ReplicationUserInUse(conn, user, mine);
    if (!owner.ok()) return owner.status();
    if (*owner) return Status::Error((*owner)->Message(user));
  }
  std::string attrs = use_rds_role ? "LOGIN" : "LOGIN REPLICATION";
  std::string verb = exists ? "ALTER" : "CREATE";
  DBR_RETURN_IF_ERROR(
      conn.ExecSensitive(fmt::format("{} ROLE {} WITH {} PASSWORD {}", verb, pg::QuoteIdent(user),
                                     attrs, pg::QuoteLiteral(hashed)))
          .Wrap("creating the replication user " + user));
  if (use_rds_role)
    DBR_RETURN_IF_ERROR(conn.Exec("GRANT rds_replication TO " + pg::QuoteIdent(user)));
  DBR_RETURN_IF_ERROR(
      conn.Exec(fmt::format("COMMENT ON ROLE {} IS {}", pg::QuoteIdent(user),
                            pg::QuoteLiteral(CommentOf(mine))))
          .Wrap("recording which relocation the replication user " + user + " serves"));
  for (const auto& schema : schemas) {
    auto has = conn.QueryValue("SELECT count(*) FROM pg_namespace WHERE nspname = $1", {schema});
    if (!has.ok() || *has == "0") continue;
    DBR_RETURN_IF_ERROR(conn.Exec("GRANT USAGE ON SCHEMA " + pg::QuoteIdent(schema) + " TO " +
                                  pg::QuoteIdent(user)));
    DBR_RETURN_IF_ERROR(conn.Exec("GRANT SELECT ON ALL TABLES IN SCHEMA " + pg::QuoteIdent(schema) +
                                  " TO " + pg::QuoteIdent(user)));
  }
  log::info("replication user {} ready on the {}", user, conn.params().label);
  return Status::Ok();
}

Status EnsurePublication(pg::Connection& conn, const std::string& name,
                         const std::vector<TableInfo>& tables) {
  std::string list;
  for (const auto& t : tables) list += (list.empty() ? "" : ", ") + t.Qualified();
  auto exists = conn.QueryValue("SELECT count(*) FROM pg_publication WHERE pubname = $1", {name});
  if (!exists.ok()) return exists.status();
  const std::string pub = pg::QuoteIdent(name);
  if (*exists != "0" && !list.empty())
    return conn.Exec("ALTER PUBLICATION " + pub + " SET TABLE " + list);
  if (*exists != "0") {  // SET TABLE takes no empty list: a lane left with no table
    auto held = conn.Query(
        "SELECT format('%I.%I', schemaname, tablename) FROM pg_publication_tables "
        "WHERE pubname = $1",
        {name});
    if (!held.ok()) return held.status();
    for (int i = 0; i < held->rows(); ++i)
      DBR_RETURN_IF_ERROR(conn.Exec("ALTER PUBLICATION " + pub + " DROP TABLE " + held->Get(i, 0)));
    return Status::Ok();
  }
  DBR_RETURN_IF_ERROR(
      conn.Exec("CREATE PUBLICATION " + pub + (list.empty() ? "" : " FOR TABLE " + list)));
  log::info("publication {} created on the {} for {} tables", name, conn.params().label,
            tables.size());
  return Status::Ok();
}

std::string SubscriptionConnInfo(const ServerConfig& publisher, const std::string& user,
                                 const std::string& password, const std::string& application_name) {
  // sslrootcert names a file on the subscriber's machine: the subscription connects from there.
  return fmt::format(
      "host={} port={} dbname={} user={} password={} application_name={} sslmode={}{}",
      pg::QuoteConninfoValue(publisher.host), publisher.port,
      pg::QuoteConninfoValue(publisher.name), pg::QuoteConninfoValue(user),
      pg::QuoteConninfoValue(password), pg::QuoteConninfoValue(application_name),
      pg::QuoteConninfoValue(publisher.sslmode),
      publisher.sslrootcert.empty()
          ? ""
          : " sslrootcert=" + pg::QuoteConninfoValue(publisher.sslrootcert));
}

Result<pg::Lsn> RecreateSlot(pg::Connection& conn, const std::string& slot) {
  DBR_RETURN_IF_ERROR(DropSlot(conn, slot));
  auto lsn =
      conn.QueryValue("SELECT lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')", {slot});
  if (!lsn.ok()) return lsn.status().Wrap("creating replication slot " + slot);
  auto parsed = pg::Lsn::Parse(*lsn);
  if (!parsed) return Status::Error("unexpected LSN from the new slot: " + *lsn);
  log::info("replication slot {} created on the {} at {}", slot, conn.params().label, *lsn);
  return *parsed;
}

std::string SubscriptionOptions(int subscriber_major, const std::string& slot, bool enabled) {
  std::string with =
      "create_slot = false, slot_name = " + pg::QuoteLiteral(slot) + ", copy_data = false";
  if (!enabled) with += ", enabled = false";
  if (subscriber_major >= 16)
    with += ", origin = none, streaming = parallel";
  else if (subscriber_major >= 14)
    with += ", streaming = on";
  return with;
}

Status CreateSubscriptionOnSlot(pg::Connection& conn, const names::Link& link,
                                const std::string& conninfo) {
  // One that exists on this slot may have applied changes already: its replication origin
  // knows how far. Dropping it would lose that and apply them again.
  auto existing =
      conn.Query(std::string("SELECT subslotname FROM pg_subscription WHERE subname = $1 AND ") +
                     names::kSubscriptionInThisDatabase,
                 {link.subscription});
  if (!existing.ok()) return existing.status();
  if (existing->rows() > 0 && existing->Get(0, 0) == link.slot) {
    log::info("subscription {} on the {} exists on slot {}: enabling it", link.subscription,
              conn.params().label, link.slot);
    return conn.Exec("ALTER SUBSCRIPTION " + pg::QuoteIdent(link.subscription) + " ENABLE");
  }
  DBR_RETURN_IF_ERROR(DropSubscriptionKeepingSlot(conn, link.subscription));
  DBR_RETURN_IF_ERROR(
      conn.ExecSensitive(
              fmt::format("CREATE SUBSCRIPTION {} CONNECTION {} PUBLICATION {} WITH ({})",
                          pg::QuoteIdent(link.subscription), pg::QuoteLiteral(conninfo),
                          pg::QuoteIdent(link.publication),
                          SubscriptionOptions(conn.server_major(), link.slot, true)))
          .Wrap("creating subscription " + link.subscription));
  log::info("subscription {} created on the {}, bound to slot {}", link.subscription,
            conn.params().label, link.slot);
  return Status::Ok();
}

Result<bool> SlotHasChanges(pg::Connection& conn, const names::Link& link) {
  // Decoding stops at the WAL flushed so far: a commit made with synchronous_commit off may not
  // be there yet.
  DBR_RETURN_IF_ERROR(conn.FlushCommitted());
  // Rows inserted, updated, deleted or truncated ('I', 'U', 'D', 'T'): before PostgreSQL 15,
  // pgoutput also sends a BEGIN and a COMMIT for a transaction that changed no published table
  // (an ANALYZE, a DDL, the flush above).
  auto n = conn.QueryValue(
      "SELECT count(*) FROM pg_logical_slot_peek_binary_changes($1, NULL, NULL, "
      "'proto_version', '1', 'publication_names', $2) WHERE get_byte(data, 0) IN (73, 85, 68, 84)",
      {link.slot, link.publication});
  if (!n.ok()) return n.status();
  return *n != "0";
}

Result<bool> InPublication(pg::Connection& conn, const std::string& publication,
                           const std::string& schema, const std::string& table) {
  auto n = conn.QueryValue(
      "SELECT count(*) FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND "
      "tablename = $3",
      {publication, schema, table});
  if (!n.ok()) return n.status();
  return *n != "0";
}

Result<bool> SlotExists(pg::Connection& conn, const std::string& slot) {
  auto n =
      conn.QueryValue("SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", {slot});
  if (!n.ok()) return n.status();
  return *n != "0";
}

Status WaitForWorkerToStop(pg::Connection& conn, const std::string& subscription) {
  // An idle worker only notices DISABLE when it next wakes (up to a second): end it. It applies
  // each transaction atomically with its origin's progress, so nothing is lost or doubled, and
  // a disabled subscription's worker is not started again.
  const std::string workers = fmt::format(
      "FROM pg_stat_subscription WHERE pid IS NOT NULL AND subid = (SELECT oid FROM "
      "pg_subscription WHERE subname = $1 AND {})",
      names::kSubscriptionInThisDatabase);
  DBR_RETURN_IF_ERROR(conn.Exec("SELECT pg_terminate_backend(pid) " + workers, {subscription}));
  const PolledWait& wait = Timings::Default().replication.worker_stop;
  for (int i = 0; i < wait.Checks(); ++i) {
    auto n = conn.QueryValue("SELECT count(*) " + workers, {subscription});
    if (!n.ok()) return n.status();
    if (*n == "0") return Status::Ok();
    RealClock().SleepFor(wait.poll);
  }
  return Status::Error(
      fmt::format("the apply worker of subscription {} on the {} did not stop "
                  "within {} s of DISABLE",
                  subscription, conn.params().label, wait.LimitSeconds()));
}

Status DetachSubscription(pg::Connection& conn, const std::string& subscription) {
  const std::string sub = pg::QuoteIdent(subscription);
  DBR_RETURN_IF_ERROR(conn.Exec("ALTER SUBSCRIPTION " + sub + " DISABLE"));
  return conn.Exec("ALTER SUBSCRIPTION " + sub + " SET (slot_name = NONE)");
}

Result<bool> SubscriptionExists(pg::Connection& conn, const std::string& subscription) {
  DBR_ASSIGN_OR_RETURN(
      const int64_t n,
      conn.QueryInt(std::string("SELECT count(*) FROM pg_subscription WHERE subname = $1 AND ") +
                        names::kSubscriptionInThisDatabase,
                    {subscription}));
  return n > 0;
}

Status DropSubscriptionKeepingSlot(pg::Connection& conn, const std::string& subscription) {
  DBR_ASSIGN_OR_RETURN(const bool exists, SubscriptionExists(conn, subscription));
  if (!exists) return Status::Ok();
  DBR_RETURN_IF_ERROR(DetachSubscription(conn, subscription));
  DBR_RETURN_IF_ERROR(conn.Exec("DROP SUBSCRIPTION " + pg::QuoteIdent(subscription)));
  log::info("subscription {} dropped on the {}", subscription, conn.params().label);
  return Status::Ok();
}

Status DropSlot(pg::Connection& conn, const std::string& slot) {
  // A sender whose subscription was just disabled needs a moment to let go of the slot.
  const Timings::Replication& t = Timings::Default().replication;
  const int64_t terminate_at = t.slot_holder_terminated_after / t.slot_release.poll;
  for (int attempt = 0;; ++attempt) {
    auto r = conn.Query("SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1", {slot});
    if (!r.ok()) return r.status();
    if (r->rows() == 0) return Status::Ok();
    if (!r->IsNull(0, 0)) {
      if (attempt >= t.slot_release.Checks())
        return Status::Error(
            fmt::format("replication slot {} on the {} is still in use by pid {} after {} s", slot,
                        conn.params().label, r->Get(0, 0), t.slot_release.LimitSeconds()));
      if (attempt == terminate_at)
        (void)conn.Exec("SELECT pg_terminate_backend($1::int)", {r->Get(0, 0)});
      RealClock().SleepFor(t.slot_release.poll);
      continue;
    }
    Status st = conn.Exec("SELECT pg_drop_replication_slot($1)", {slot});
    if (st.ok()) {
      log::info("replication slot {} dropped on the {}", slot, conn.params().label);
      return st;
    }
    if (attempt >= t.slot_release.Checks()) return st;
  }
}

}  // namespace dbr
