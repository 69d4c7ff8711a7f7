#include "verify/verify.h"

#include <fmt/format.h>

#include <filesystem>

#include "model/names.h"
#include "model/scope.h"
#include "model/servers.h"
#include "pg/quote.h"
#include "util/files.h"
#include "util/log.h"
#include "util/progress.h"

namespace dbr::verify {
namespace {

constexpr int64_t kRangeBytes = 64LL * 1024 * 1024;
constexpr size_t kExampleLimit = 20;
constexpr int kAttempts = 4;  // points taken for tables changed in ways the window cannot show

Status CheckSubscriptions(pg::Connection& receiver, const std::vector<names::Link>& lanes) {
  for (const names::Link& lane : lanes) {
    auto n = receiver.QueryValue(
        std::string("SELECT count(*) FROM pg_subscription WHERE subname = $1 AND ") +
            names::kSubscriptionInThisDatabase,
        {lane.subscription});
    if (!n.ok()) return n.status();
    if (*n == "0")
      return Status::Error(fmt::format(
          "nothing to verify yet: subscription {} does not exist on the {} (`db_relocate run` "
          "sets it up)",
          lane.subscription, receiver.params().label));
  }
  return Status::Ok();
}

// Reported, but no sign of lost data: a sequence behind (sequences are not replicated; cut-over
// sets them ahead in its write pause) or an extension only the destination has (provider rds
// creates pg_prewarm there to warm it up).
bool Informational(const ObjectResult& o) {
  return o.status == Verdict::kBehind || (o.status == Verdict::kExtra && o.kind == "extension");
}

Status CompareLargeObjectsOfBoth(pg::Connection& sender, pg::Connection& receiver,
                                 VerifyReport& report) {
  auto ours = ListLargeObjects(sender, ReadContent::kYes);
  if (!ours.ok()) return ours.status();
  auto theirs = ListLargeObjects(receiver, ReadContent::kYes);
  if (!theirs.ok()) return theirs.status();
  report.large_objects = static_cast<int64_t>(ours->size());
  report.large_object_differences =
      CompareLargeObjects(*ours, *theirs, report.sender, report.receiver);
  return Status::Ok();
}

}  // namespace

bool VerifyReport::ok() const {
  for (const auto& t : tables)
    if (t.status != Verdict::kOk) return false;
  for (const auto& o : objects)
    if (o.status != Verdict::kOk && !Informational(o)) return false;
  return true;
}

std::string VerifyReport::ToJsonText() const {
  return ToJson().dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json VerifyReport::ToJson() const {
  nlohmann::json j;
  j["finished_at"] = finished_at;
  j["seconds"] = seconds;
  j["lsn"] = lsn;
  j["sender"] = sender;
  j["receiver"] = receiver;
  j["ok"] = ok();
  j["tables"] = nlohmann::json::array();
  for (const auto& t : tables) {
    nlohmann::json e{{"table", t.table},
                     {"status", t.status},
                     {"source_rows", sender == "source" ? t.source_rows : t.destination_rows},
                     {"destination_rows", sender == "source" ? t.destination_rows : t.source_rows},
                     {"ranges", t.ranges},
                     {"differing_ranges", t.differing_ranges},
                     {"differing_rows", t.differing_rows},
                     {"differing_rows_exact", t.differing_rows_exact},
                     {"detail", t.detail}};
    e["examples"] = nlohmann::json::array();
    for (const auto& x : t.examples) e["examples"].push_back({{"key", x.key}, {"what", x.what}});
    j["tables"].push_back(std::move(e));
  }
  j["objects"] = nlohmann::json::array();
  for (const auto& o : objects)
    j["objects"].push_back(
        {{"kind", o.kind}, {"name", o.name}, {"status", o.status}, {"detail", o.detail}});
  j["large_objects"] = {{"compared", large_objects}, {"differences", nlohmann::json::array()}};
  for (const auto& d : large_object_differences)
    j["large_objects"]["differences"].push_back({{"oid", d.oid}, {"what", d.what}});
  return j;
}

std::string VerifyReport::ToText() const {
  std::string out = fmt::format("\nVerify: {} vs {} at {} ({} tables, {})\n", sender, receiver, lsn,
                                tables.size(), HumanDuration(seconds));
  out += fmt::format("  {:<40} {:<9} {:>12} {:>12} {:>7}  {}\n", "table", "status",
                     sender + " rows", receiver + " rows", "ranges", "detail");
  int differing = 0;
  for (const auto& t : tables) {
    differing += t.status != Verdict::kOk;
    out += fmt::format("  {:<40} {:<9} {:>12} {:>12} {:>7}  {}\n", t.table, t.status, t.source_rows,
                       t.destination_rows, t.ranges, t.detail);
    for (const auto& x : t.examples) out += fmt::format("      {}  {}\n", x.key, x.what);
    if (t.examples.size() < static_cast<size_t>(t.differing_rows))
      out += fmt::format("      ... {} more\n",
                         t.differing_rows - static_cast<int64_t>(t.examples.size()));
  }
  out += differing == 0 ? "every table is equal on both sides\n"
                        : fmt::format("{} of {} tables are not equal\n", differing, tables.size());
  int objects_differing = 0, behind = 0, listed = 0;
  for (const auto& o : objects) {
    if (o.status == Verdict::kOk) continue;
    behind += o.status == Verdict::kBehind;
    objects_differing += !Informational(o);
    if (listed++ == 0)
      out += fmt::format("  {:<12} {:<48} {:<9} {}\n", "object", "name", "status", "detail");
    out += fmt::format("  {:<12} {:<48} {:<9} {}\n", o.kind, o.name, o.status, o.detail);
  }
  out += objects_differing == 0
             ? fmt::format("every schema object is the same on both sides ({} compared)\n",
                           objects.size())
             : fmt::format("{} of {} schema objects differ\n", objects_differing, objects.size());
  if (behind > 0)
    out += fmt::format(
        "{} sequences are behind the side taking the writes: sequences are not replicated; "
        "`cutover` sets them ahead again inside its write pause (`run` does it now). This "
        "alone does not fail verify\n",
        behind);
  if (large_objects > 0 || !large_object_differences.empty()) {
    if (large_object_differences.empty())
      out += fmt::format("every large object is the same on both sides ({} compared)\n",
                         large_objects);
    else
      out += fmt::format(
          "{} large objects differ ({} compared): large objects are not replicated; the next "
          "cut-over or rollback copies them inside its write pause. This alone does not fail "
          "verify\n",
          large_object_differences.size(), large_objects);
    size_t shown = 0;
    for (const auto& d : large_object_differences) {
      if (shown++ == kExampleLimit) {
        out += fmt::format("      ... {} more\n", large_object_differences.size() - kExampleLimit);
        break;
      }
      out += fmt::format("      large object {}  {}\n", d.oid, d.what);
    }
  }
  return out;
}

Result<VerifyReport> Verify(RunContext& ctx) {
  const Clock::TimePoint started = ctx.clock.Now();
  if (ctx.state.switching)
    return Status::Error("a cut-over or rollback was interrupted: run that command again first");
  if (!std::filesystem::is_directory(ctx.store.dir()))
    return Status::Error("nothing to verify yet: no relocation state in " +
                         ctx.store.dir().string() + " (`db_relocate run` creates it)");
  // One verify at a time: markers of two would stop each other's apply worker.
  auto lock = FileLock::Acquire(ctx.store.file("verify.lock"), "a verify of this relocation");
  if (!lock.ok()) return lock.status();
  const Side primary = ctx.state.primary;
  Sides sides{ParamsOf(ctx.config, primary), ParamsOf(ctx.config, Other(primary)),
              LinksOf(ctx.config).Into(Other(primary))};
  VerifyReport report;
  report.sender = SideName(primary);
  report.receiver = SideName(Other(primary));

  DBR_ASSIGN_OR_RETURN(pg::Connection sender, OpenVerifySession(sides.sender));
  DBR_ASSIGN_OR_RETURN(pg::Connection receiver, OpenVerifySession(sides.receiver));
  DBR_RETURN_IF_ERROR(CheckSubscriptions(receiver, sides.lanes));
  // The sides read the same catalog (the relocation made the destination's), which the source's
  // names: what the filters leave out exists there alone, before and after a cut-over.
  pg::Connection& source = primary == Side::kSource ? sender : receiver;
  DBR_ASSIGN_OR_RETURN(ScopeListing scope, ListScope(source, ctx.config));
  std::vector<TablePlan> plans;
  for (const auto& t : scope.tables) {
    if (!t.Replicable() || names::VerifyMarkerLane(t.schema, t.name) > 0) continue;
    if (primary != Side::kSource) {
      // A table dropped on the new primary since the cut-over: the schemas' comparison names
      // it MISSING there; it has no rows to read.
      DBR_ASSIGN_OR_RETURN(
          const std::string there,
          sender.QueryValue("SELECT to_regclass($1) IS NOT NULL", {t.Qualified()}));
      if (there != "t") continue;
    }
    DBR_ASSIGN_OR_RETURN(TableShape shape, LoadShape(sender, receiver, t));
    DBR_ASSIGN_OR_RETURN(TablePlan plan, PlanTable(sender, std::move(shape), kRangeBytes));
    plans.push_back(std::move(plan));
  }

  std::map<std::string, TableResult> results;
  std::vector<TablePlan> pending = plans;
  for (int attempt = 1; attempt <= kAttempts && !pending.empty(); ++attempt) {
    DBR_ASSIGN_OR_RETURN(ConsistentPoint point,
                         TakeConsistentPoint(sides, ctx.Jobs(), ctx.config.catchup_timeout));
    if (report.lsn.empty()) report.lsn = point.lsn.ToString();
    std::vector<TablePlan> again;
    for (auto& r : CompareTables(point, pending, kExampleLimit, report.sender, report.receiver)) {
      if (r.status == Verdict::kUnsettled && attempt < kAttempts) {
        log::info(
            "verify: {} changed in the window in a way that cannot be accounted for ({}): "
            "compared again at a new point",
            r.table, r.detail);
        for (const auto& p : pending)
          if (pg::QualifiedName(p.shape.schema, p.shape.name) == r.qualified) again.push_back(p);
      }
      results[r.qualified] = std::move(r);
    }
    pending = std::move(again);
  }
  for (auto& [name, r] : results) report.tables.push_back(std::move(r));
  // The source's schema names the objects; after a cut-over the sides swap roles.
  pg::Connection& destination = primary == Side::kSource ? receiver : sender;
  auto objects = CompareSchemas(source, destination, scope.schemas, scope.excluded);
  if (!objects.ok()) return objects.status().Wrap("comparing the schemas");
  report.objects = std::move(*objects);
  DBR_RETURN_IF_ERROR(CompareLargeObjectsOfBoth(sender, receiver, report));
  report.finished_at = NowUtc();
  report.seconds = ctx.clock.SecondsSince(started);
  DBR_RETURN_IF_ERROR(WriteFileAtomic(ctx.store.file("verify.json"), report.ToJsonText()));
  return report;
}

}  // namespace dbr::verify
