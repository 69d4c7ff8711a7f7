#include "engine/large_objects.h"

#include <fmt/format.h>

#include <chrono>
#include <optional>

#include "pg/quote.h"
#include "util/progress.h"

namespace dbr {
namespace {

// Content is read and written in pieces of this size, so that no large object is held whole.
constexpr int64_t kChunk = 1024 * 1024;

// The privileges with their default written out, items sorted: GRANT order does not matter.
constexpr const char* kPrivileges =
    "(SELECT string_agg(a::text, ',' ORDER BY a::text) FROM "
    "unnest(coalesce(m.lomacl, acldefault('L', m.lomowner))) a)";

std::string ListingQuery(ReadContent content) {
  if (content == ReadContent::kNo)
    return fmt::format(
        "SELECT m.oid::bigint, pg_get_userbyid(m.lomowner), {}, m.lomacl IS NULL, NULL, NULL "
        "FROM pg_largeobject_metadata m ORDER BY m.oid",
        kPrivileges);
  // The digest hashes 8 MB pieces: lo_get of a whole object fails above 1 GB. Each object is
  // opened for its size; the descriptors close with the statement's transaction.
  return fmt::format(
      "SELECT m.oid::bigint, pg_get_userbyid(m.lomowner), {}, m.lomacl IS NULL, s.size, "
      "(SELECT md5(string_agg(md5(lo_get(m.oid, c * 8388608, 8388608)), '' ORDER BY c)) "
      "FROM generate_series(0::bigint, greatest(s.size - 1, 0) / 8388608) c) "
      "FROM pg_largeobject_metadata m "
      "CROSS JOIN LATERAL (SELECT lo_lseek64(lo_open(m.oid, x'40000'::int), 0, 2) AS size) s "
      "ORDER BY m.oid",
      kPrivileges);
}

struct Listed {
  LargeObject object;
  bool default_privileges = true;
};

std::vector<Listed> Parse(const pg::QueryResult& r) {
  std::vector<Listed> out;
  out.reserve(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i)
    out.push_back({{r.GetInt(i, 0), r.Get(i, 1), r.Get(i, 2), r.IsNull(i, 4) ? -1 : r.GetInt(i, 4),
                    r.Get(i, 5)},
                   r.GetBool(i, 3)});
  return out;
}

// Both sides listed at once: inside a write pause the two reads overlap.
Status ListBoth(pg::Connection& a, pg::Connection& b, ReadContent content, std::vector<Listed>* la,
                std::vector<Listed>* lb) {
  const std::string sql = ListingQuery(content);
  DBR_RETURN_IF_ERROR(a.Send(sql));
  Status sent = b.Send(sql);
  auto ra = a.Finish();
  if (!sent.ok()) return sent;
  auto rb = b.Finish();
  if (!ra.ok()) return ra.status();
  if (!rb.ok()) return rb.status();
  *la = Parse(*ra);
  *lb = Parse(*rb);
  return Status::Ok();
}

class Sync {
 public:
  Sync(pg::Connection& from, pg::Connection& to) : from_(from), to_(to) {}

  Status Create(const Listed& l) {
    const std::string oid = std::to_string(l.object.oid);
    DBR_RETURN_IF_ERROR(to_.Exec("SELECT lo_create($1::oid)", {oid}));
    DBR_RETURN_IF_ERROR(CopyContent(oid));
    DBR_RETURN_IF_ERROR(SetOwner(oid, l.object.owner));
    // A new object has its owner's default privileges.
    if (!l.default_privileges) DBR_RETURN_IF_ERROR(SetPrivileges(oid));
    ++done.copied;
    return Status::Ok();
  }

  Status Remove(int64_t oid) {
    ++done.removed;
    return Unlink(oid);
  }

  // Same oid on both sides.
  Status Reconcile(const Listed& from, const LargeObject& to) {
    if (from.object.digest != to.digest || from.object.size != to.size) {
      DBR_RETURN_IF_ERROR(Unlink(to.oid));
      return Create(from);
    }
    const std::string oid = std::to_string(from.object.oid);
    if (from.object.owner == to.owner && from.object.privileges == to.privileges)
      return Status::Ok();
    ++done.fixed;
    if (from.object.owner != to.owner) DBR_RETURN_IF_ERROR(SetOwner(oid, from.object.owner));
    return SetPrivileges(oid);
  }

  LargeObjectSync done;

 private:
  Status SetOwner(const std::string& oid, const std::string& owner) {
    return to_.Exec(fmt::format("ALTER LARGE OBJECT {} OWNER TO {}", oid, pg::QuoteIdent(owner)));
  }

  Status Unlink(int64_t oid) {
    return to_.Exec("SELECT lo_unlink($1::oid)", {std::to_string(oid)});
  }

  Status CopyContent(const std::string& oid) {
    const std::string chunk = std::to_string(kChunk);
    for (int64_t offset = 0;;) {
      // The bytes travel as bytea text both ways, never decoded here.
      auto piece = from_.Query("SELECT c, length(c) FROM lo_get($1::oid, $2::bigint, $3::int) c",
                               {oid, std::to_string(offset), chunk});
      if (!piece.ok()) return piece.status().Wrap("reading large object " + oid);
      const int64_t length = piece->GetInt(0, 1);
      if (length == 0) return Status::Ok();
      DBR_RETURN_IF_ERROR(to_.Exec("SELECT lo_put($1::oid, $2::bigint, $3::bytea)",
                                   {oid, std::to_string(offset), piece->Get(0, 0)})
                              .Wrap("writing large object " + oid));
      offset += length;
      done.bytes += length;
      if (length < kChunk) return Status::Ok();
    }
  }

  // Takes every privilege on `oid` from whoever holds one on `to`, then grants those of `from`.
  Status SetPrivileges(const std::string& oid) {
    const char* items =
        "SELECT coalesce(pg_get_userbyid(nullif(a.grantee, 0)), ''), a.privilege_type, "
        "a.is_grantable FROM pg_largeobject_metadata m, "
        "aclexplode(coalesce(m.lomacl, acldefault('L', m.lomowner))) a WHERE m.oid = $1::oid";
    auto held = to_.Query(items, {oid});
    if (!held.ok()) return held.status();
    auto wanted = from_.Query(items, {oid});
    if (!wanted.ok()) return wanted.status();
    auto grantee = [](const pg::QueryResult& r, int i) {
      return r.Get(i, 0).empty() ? std::string("PUBLIC") : pg::QuoteIdent(r.Get(i, 0));
    };
    DBR_RETURN_IF_ERROR(to_.Exec(fmt::format("REVOKE ALL ON LARGE OBJECT {} FROM PUBLIC", oid)));
    for (int i = 0; i < held->rows(); ++i)
      DBR_RETURN_IF_ERROR(
          to_.Exec(fmt::format("REVOKE ALL ON LARGE OBJECT {} FROM {}", oid, grantee(*held, i))));
    for (int i = 0; i < wanted->rows(); ++i)
      DBR_RETURN_IF_ERROR(to_.Exec(fmt::format("GRANT {} ON LARGE OBJECT {} TO {}{}",
                                               wanted->Get(i, 1), oid, grantee(*wanted, i),
                                               wanted->GetBool(i, 2) ? " WITH GRANT OPTION" : "")));
    return Status::Ok();
  }

  pg::Connection& from_;
  pg::Connection& to_;
};

// Walks both lists (by oid) and writes on `to` what makes it equal to `from`.
Status Apply(Sync& sync, const std::vector<Listed>& from, const std::vector<Listed>& to) {
  size_t i = 0, j = 0;
  while (i < from.size() || j < to.size()) {
    if (j == to.size() || (i < from.size() && from[i].object.oid < to[j].object.oid)) {
      DBR_RETURN_IF_ERROR(sync.Create(from[i++]));
    } else if (i == from.size() || to[j].object.oid < from[i].object.oid) {
      DBR_RETURN_IF_ERROR(sync.Remove(to[j++].object.oid));
    } else {
      DBR_RETURN_IF_ERROR(sync.Reconcile(from[i++], to[j++].object));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<LargeObjectVolume> MeasureLargeObjects(pg::Connection& conn) {
  auto r = conn.Query(
      "SELECT count(*), pg_total_relation_size('pg_catalog.pg_largeobject') FROM "
      "pg_largeobject_metadata");
  if (!r.ok()) return r.status().Wrap("counting large objects");
  return LargeObjectVolume{r->GetInt(0, 0), r->GetInt(0, 1)};
}

Result<std::vector<LargeObject>> ListLargeObjects(pg::Connection& conn, ReadContent content) {
  auto r = conn.Query(ListingQuery(content));
  if (!r.ok()) return r.status().Wrap("listing large objects");
  std::vector<LargeObject> out;
  for (auto& l : Parse(*r)) out.push_back(std::move(l.object));
  return out;
}

std::vector<LargeObjectDifference> CompareLargeObjects(const std::vector<LargeObject>& reference,
                                                       const std::vector<LargeObject>& other,
                                                       const std::string& reference_name,
                                                       const std::string& other_name) {
  std::vector<LargeObjectDifference> out;
  size_t i = 0, j = 0;
  while (i < reference.size() || j < other.size()) {
    if (j == other.size() || (i < reference.size() && reference[i].oid < other[j].oid)) {
      out.push_back({reference[i++].oid, "only on the " + reference_name});
      continue;
    }
    if (i == reference.size() || other[j].oid < reference[i].oid) {
      out.push_back({other[j++].oid, "only on the " + other_name});
      continue;
    }
    const LargeObject& a = reference[i++];
    const LargeObject& b = other[j++];
    auto both = [&](const char* what, const std::string& x, const std::string& y) {
      return fmt::format("{}: {} {}, {} {}", what, reference_name, x, other_name, y);
    };
    if (a.size != b.size)
      out.push_back({a.oid, both("size", std::to_string(a.size), std::to_string(b.size))});
    else if (a.digest != b.digest)
      out.push_back({a.oid, "content"});
    else if (a.owner != b.owner)
      out.push_back({a.oid, both("owner", a.owner, b.owner)});
    else if (a.privileges != b.privileges)
      out.push_back({a.oid, both("privileges", a.privileges, b.privileges)});
  }
  return out;
}

Result<LargeObjectSync> SyncLargeObjects(pg::Connection& from, pg::Connection& to) {
  const auto started = std::chrono::steady_clock::now();
  DBR_ASSIGN_OR_RETURN(std::string any,
                       to.QueryValue("SELECT EXISTS (SELECT FROM pg_largeobject_metadata)"));
  std::vector<Listed> source, target;
  if (any == "t") {
    DBR_RETURN_IF_ERROR(
        ListBoth(from, to, ReadContent::kYes, &source, &target).Wrap("comparing large objects"));
  } else {
    auto r = from.Query(ListingQuery(ReadContent::kNo));
    if (!r.ok()) return r.status().Wrap("listing large objects");
    source = Parse(*r);
  }
  Sync sync(from, to);
  sync.done.compared = static_cast<int64_t>(source.size());
  std::optional<ProgressReporter> progress;
  if (target.empty() && !source.empty())
    progress.emplace([&] {
      return fmt::format("large objects: {} of {} copied ({})", sync.done.copied, source.size(),
                         HumanBytes(static_cast<double>(sync.done.bytes)));
    });
  DBR_RETURN_IF_ERROR(to.Exec("BEGIN"));
  Status applied = Apply(sync, source, target);
  if (!applied.ok()) {
    (void)to.Exec("ROLLBACK");
    return applied.Wrap(fmt::format("making the {}'s large objects those of the {}",
                                    to.params().label, from.params().label));
  }
  DBR_RETURN_IF_ERROR(to.Exec("COMMIT"));
  progress.reset();
  sync.done.ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return sync.done;
}

std::string Describe(const LargeObjectSync& sync) {
  std::string out = fmt::format("{} large objects compared, {} copied ({})", sync.compared,
                                sync.copied, HumanBytes(static_cast<double>(sync.bytes)));
  if (sync.removed > 0) out += fmt::format(", {} removed", sync.removed);
  if (sync.fixed > 0) out += fmt::format(", {} given their owner or privileges", sync.fixed);
  return out + fmt::format(" in {:.0f} ms", sync.ms);
}

}  // namespace dbr
