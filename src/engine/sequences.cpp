// Step 8: sequences are not replicated. Set each one on the destination to the source's current
// value plus `sequence_gap` increments, so the destination never hands out a value already used
// on the source; never move a destination sequence backwards.
#include "engine/sequences.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "engine/steps.h"
#include "pg/quote.h"
#include "util/log.h"

namespace dbr {
namespace {

struct SequenceValue {
  std::optional<int64_t> last_value;  // NULL until first nextval()
  int64_t start = 1, increment = 1, min = 1, max = INT64_MAX;
};

Result<std::map<std::string, SequenceValue>> ReadSequences(
    pg::Connection& conn, const std::vector<std::string>& schemas) {
  auto r = conn.Query(
      "SELECT schemaname, sequencename, last_value, start_value, increment_by, min_value, "
      "max_value FROM pg_sequences WHERE schemaname = ANY($1::text[])",
      {pg::TextArrayLiteral(schemas)});
  if (!r.ok()) return r.status();
  std::map<std::string, SequenceValue> out;
  for (int i = 0; i < r->rows(); ++i) {
    SequenceValue v;
    if (!r->IsNull(i, 2)) v.last_value = r->GetInt(i, 2);
    v.start = r->GetInt(i, 3);
    v.increment = r->GetInt(i, 4);
    v.min = r->GetInt(i, 5);
    v.max = r->GetInt(i, 6);
    out[pg::QualifiedName(r->Get(i, 0), r->Get(i, 1))] = v;
  }
  return out;
}

int64_t Target(const SequenceValue& src, int64_t gap) {
  int64_t step = 0, target = 0;
  bool overflow = __builtin_mul_overflow(gap, src.increment, &step) ||
                  __builtin_add_overflow(src.last_value.value_or(src.start), step, &target);
  if (overflow) return src.increment > 0 ? src.max : src.min;
  return std::clamp(target, src.min, src.max);
}

}  // namespace

Result<int> CopySequencesAhead(pg::Connection& from, pg::Connection& to,
                               const std::vector<std::string>& schemas, int64_t gap) {
  auto src = ReadSequences(from, schemas);
  if (!src.ok()) return src.status();
  auto dst = ReadSequences(to, schemas);
  if (!dst.ok()) return dst.status();
  int set = 0;
  std::vector<std::string> missing;
  for (const auto& [name, s] : *src) {
    auto d = dst->find(name);
    if (d == dst->end()) {
      missing.push_back(name);
      continue;
    }
    int64_t target = Target(s, gap);
    if (d->second.last_value) {  // never backwards
      target = s.increment > 0 ? std::max(target, *d->second.last_value)
                               : std::min(target, *d->second.last_value);
    }
    DBR_RETURN_IF_ERROR(
        to.Exec("SELECT setval($1::regclass, $2::int8, true)", {name, std::to_string(target)}));
    ++set;
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    return Status::Error("sequences missing on the " + to.params().label + ": " + list);
  }
  return set;
}

namespace steps {

Status SetSequences(RunContext& ctx) {
  auto set = CopySequencesAhead(*ctx.src, *ctx.dst, SchemasInScope(ctx.config.src.schemas),
                                ctx.config.sequence_gap);
  if (!set.ok()) return set.status();
  ctx.state.sequences_set = true;
  log::info("{} sequences set on the destination to the source's value + {} increments", *set,
            ctx.config.sequence_gap);
  return ctx.SaveState();
}

}  // namespace steps
}  // namespace dbr
