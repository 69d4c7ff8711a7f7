#include "engine/heartbeat.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <set>

#include "engine/ddl_replication.h"
#include "engine/replication_link.h"
#include "engine/steps.h"
#include "model/names.h"
#include "model/samples.h"
#include "model/servers.h"
#include "model/timings.h"
#include "pg/quote.h"
#include "util/files.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/process.h"
#include "util/retry.h"

namespace dbr {
namespace {

std::string SelfExecutable() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "db_relocate";
  buf[n] = '\0';
  return buf;
}

Result<std::vector<int64_t>> SequenceNumbersUpTo(pg::Connection& conn, int64_t marker) {
  auto r = conn.Query("SELECT seq FROM " + HeartbeatTable() + " WHERE seq <= $1 ORDER BY seq",
                      {std::to_string(marker)});
  if (!r.ok()) return r.status();
  std::vector<int64_t> out;
  out.reserve(r->rows());
  for (int i = 0; i < r->rows(); ++i) out.push_back(r->GetInt(i, 0));
  return out;
}

std::string FirstFew(const std::vector<int64_t>& v) {
  std::string out;
  for (size_t i = 0; i < v.size() && i < 10; ++i) out += (i ? ", " : "") + std::to_string(v[i]);
  if (v.size() > 10) out += fmt::format(" ... ({} in all)", v.size());
  return out;
}

}  // namespace

std::string HeartbeatTable() {
  return pg::QualifiedName(names::kSchema, names::kHeartbeatTable);
}

Status EnsureHeartbeatTable(pg::Connection& src) {
  DBR_RETURN_IF_ERROR(src.Exec("CREATE SCHEMA IF NOT EXISTS " + pg::QuoteIdent(names::kSchema)));
  DBR_RETURN_IF_ERROR(src.Exec("CREATE TABLE IF NOT EXISTS " + HeartbeatTable() +
                               " (seq bigserial PRIMARY KEY,"
                               "  src_time timestamptz NOT NULL DEFAULT clock_timestamp(),"
                               "  kind text NOT NULL DEFAULT 'beat')"));
  return EnsureVerifyMarkerTable(src);
}

Status EnsureVerifyMarkerTable(pg::Connection& conn, int lane) {
  return conn.Exec("CREATE TABLE IF NOT EXISTS " +
                   pg::QualifiedName(names::kSchema, names::VerifyMarkerTable(lane)) +
                   " (id bigserial PRIMARY KEY, token text NOT NULL,"
                   "  at timestamptz NOT NULL DEFAULT clock_timestamp())");
}

std::string LaneMarkerTable(int lane) {
  return pg::QualifiedName(names::kSchema, names::VerifyMarkerTable(lane));
}

Status EnsureLaneMarkerReplicated(pg::Connection& sender, pg::Connection& receiver,
                                  const names::Link& lane) {
  DBR_RETURN_IF_ERROR(EnsureVerifyMarkerTable(sender, lane.lane));
  DBR_RETURN_IF_ERROR(EnsureVerifyMarkerTable(receiver, lane.lane));
  const std::string table = LaneMarkerTable(lane.lane);
  DBR_ASSIGN_OR_RETURN(const bool published, InPublication(sender, lane.publication, names::kSchema,
                                                           names::VerifyMarkerTable(lane.lane)));
  if (!published) {
    log::info("adding {} to publication {}", table, lane.publication);
    DBR_RETURN_IF_ERROR(sender.Exec("ALTER PUBLICATION " + pg::QuoteIdent(lane.publication) +
                                    " ADD TABLE " + table));
  }
  // Known to the subscription too: its apply worker skips a table it was not told of (a refresh
  // lost after the table was published is made again here).
  DBR_ASSIGN_OR_RETURN(
      const int64_t known,
      receiver.QueryInt(std::string("SELECT count(*) FROM pg_subscription_rel r JOIN "
                                    "pg_subscription s ON s.oid = r.srsubid WHERE s.subname = $1 "
                                    "AND s.") +
                            names::kSubscriptionInThisDatabase + " AND r.srrelid = $2::regclass",
                        {lane.subscription, table}));
  if (known > 0) return Status::Ok();
  return receiver.Exec("ALTER SUBSCRIPTION " + pg::QuoteIdent(lane.subscription) +
                       " REFRESH PUBLICATION WITH (copy_data = false)");
}

std::optional<int> HeartbeatWriterPid(const StateStore& store) {
  auto text = ReadFile(store.file("heartbeat.pid"));
  if (!text.ok()) return std::nullopt;
  auto pid = ParseInt(*text, 1, INT32_MAX);
  if (!pid || !ProcessAlive(static_cast<pid_t>(*pid))) return std::nullopt;
  // The writer holds its lock before it writes the file and until it has removed it: a file
  // whose lock is free was left by a writer that died, its pid now another process's.
  if (FileLock::Acquire(store.file("heartbeat.lock"), "the heartbeat").ok()) return std::nullopt;
  return static_cast<int>(*pid);
}

Status StopHeartbeatWriter(const StateStore& store) {
  auto pid = HeartbeatWriterPid(store);
  if (!pid) return Status::Ok();
  std::ofstream(store.file("heartbeat.stop")).put('\n');
  const PolledWait& wait = Timings::Default().heartbeat.writer_stop;
  if (!wait.Until([&] { return !HeartbeatWriterPid(store); }))
    return Status::Error(fmt::format("the heartbeat writer (pid {}) did not stop within {} s", *pid,
                                     wait.LimitSeconds()));
  return Status::Ok();
}

Status EnsureHeartbeatWriter(const Config& config, const StateStore& store) {
  if (auto pid = HeartbeatWriterPid(store)) {
    log::debug("heartbeat writer already running (pid {})", *pid);
    return Status::Ok();
  }
  std::error_code ec;
  std::filesystem::remove(store.file("heartbeat.stop"), ec);
  ProcessSpec spec{.argv = {SelfExecutable(), "heartbeat", "--config", config.config_file.string(),
                            "--log-level", config.log_level},
                   .stdout_file = store.file("heartbeat.log"),
                   .stderr_file = store.file("heartbeat.log")};
  auto pid = SpawnDetached(spec);
  if (!pid.ok()) return pid.status().Wrap("starting the heartbeat writer");
  // Wait until it has recorded itself, so a second `run` does not start another one.
  if (!Timings::Default().heartbeat.writer_start.Until(
          [&] { return HeartbeatWriterPid(store).has_value(); }))
    return Status::Error("the heartbeat writer did not start; see " +
                         store.file("heartbeat.log").string());
  log::info("heartbeat writer started (pid {}), one row every {} s", *pid,
            config.heartbeat_interval);
  return Status::Ok();
}

Result<std::optional<HeartbeatSample>> LatestHeartbeat(pg::Connection& conn, pg::Connection& src) {
  auto r =
      conn.Query("SELECT seq, src_time FROM " + HeartbeatTable() + " ORDER BY seq DESC LIMIT 1");
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<HeartbeatSample>();
  HeartbeatSample s;
  s.seq = r->GetInt(0, 0);
  s.written_at = r->Get(0, 1);
  auto age = src.QueryValue("SELECT extract(epoch FROM clock_timestamp() - $1::timestamptz)",
                            {r->Get(0, 1)});
  if (age.ok()) {
    auto seconds = ParseDouble(*age);
    if (!seconds)
      return Status::Error("the age of heartbeat " + std::to_string(s.seq) +
                           " is not a number: \"" + *age + "\"");
    s.age_seconds = *seconds;
  }
  return std::optional<HeartbeatSample>(s);
}

Status VerifyHeartbeats(RunContext& ctx) {
  auto inserted = ctx.src->QueryInt("INSERT INTO " + HeartbeatTable() +
                                    " (kind) VALUES ('marker') RETURNING seq");
  if (!inserted.ok()) return inserted.status();
  const int64_t marker = *inserted;
  log::info("heartbeat marker {} written on the source; waiting for it on the destination", marker);
  const Clock::TimePoint deadline =
      ctx.clock.Now() + std::chrono::seconds(ctx.config.catchup_timeout);
  const auto& timings = Timings::Default().heartbeat;
  for (auto delay = timings.marker_first_poll;;
       delay = std::min(2 * delay, timings.marker_max_poll)) {
    auto seen = ctx.dst->QueryValue("SELECT count(*) FROM " + HeartbeatTable() + " WHERE seq = $1",
                                    {std::to_string(marker)});
    if (!seen.ok()) return seen.status();
    if (*seen != "0") break;
    if (ctx.clock.Now() > deadline)
      return Status::Error(fmt::format(
          "heartbeat marker {} did not reach the destination within {} s: replication is stalled "
          "(see `db_relocate status` and the destination's server log)",
          marker, ctx.config.catchup_timeout));
    ctx.clock.SleepFor(delay);
  }
  auto src_seqs = SequenceNumbersUpTo(*ctx.src, marker);
  if (!src_seqs.ok()) return src_seqs.status();
  auto dst_seqs = SequenceNumbersUpTo(*ctx.dst, marker);
  if (!dst_seqs.ok()) return dst_seqs.status();
  std::multiset<int64_t> on_dst(dst_seqs->begin(), dst_seqs->end());
  std::set<int64_t> on_src(src_seqs->begin(), src_seqs->end());
  std::vector<int64_t> missing, doubled, extra;
  for (int64_t s : on_src)
    if (!on_dst.count(s)) missing.push_back(s);
  for (int64_t s : on_dst) {
    if (on_dst.count(s) > 1 && (doubled.empty() || doubled.back() != s)) doubled.push_back(s);
    if (!on_src.count(s)) extra.push_back(s);
  }
  if (!missing.empty() || !doubled.empty() || !extra.empty()) {
    std::string msg = fmt::format("heartbeat verification failed up to marker {}:", marker);
    if (!missing.empty())
      msg += " missing on the destination (data lost: the start position was too late): " +
             FirstFew(missing) + ";";
    if (!doubled.empty())
      msg += " applied twice (the start position was too early): " + FirstFew(doubled) + ";";
    if (!extra.empty()) msg += " on the destination only: " + FirstFew(extra) + ";";
    return Status::Error(msg);
  }
  log::info("heartbeat verified: all {} heartbeats up to marker {} arrived exactly once",
            src_seqs->size(), marker);
  return Status::Ok();
}

namespace steps {

Status StartHeartbeat(RunContext& ctx) {
  DBR_RETURN_IF_ERROR(EnsureHeartbeatTable(*ctx.src));
  if (ctx.config.ddl == DdlMode::kReplicate)  // before the snapshot: every later DDL is recorded
    DBR_RETURN_IF_ERROR(
        EnsureDdlCapture(*ctx.src, ctx.config, ctx.links.forward.front().publication));
  DBR_RETURN_IF_ERROR(ctx.LoadTables());  // the heartbeat table is in scope from now on
  return EnsureHeartbeatWriter(ctx.config, ctx.store);
}

}  // namespace steps
}  // namespace dbr
