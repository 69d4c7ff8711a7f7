// Step 8: sequences are not replicated. Set each one on the destination to the source's current
// value plus `sequence_gap` increments, so the destination never hands out a value already used
// on the source; never move a destination sequence backwards.
#include "engine/sequences.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>

#include "engine/steps.h"
#include "pg/quote.h"
#include "util/log.h"

namespace dbr {
namespace {

struct SequenceValue {
  std::optional<int64_t> last_value;  // NULL until first nextval() (when it may be read)
  int64_t start = 1, increment = 1, min = 1, max = INT64_MAX;
};

// pg_sequences.last_value is NULL both for a sequence never used and for one the role may not
// read (neither SELECT nor USAGE): the second is an error naming them, never "never used" (that
// would set the other side from the start value, behind values already handed out).
Result<std::map<std::string, SequenceValue>> ReadSequences(
    pg::Connection& conn, const std::vector<RelationName>& sequences) {
  std::vector<std::string> schemas, names;
  for (const auto& s : sequences) {
    schemas.push_back(s.schema);
    names.push_back(s.name);
  }
  auto r = conn.Query(R"sql(
    SELECT s.schemaname, s.sequencename, s.last_value, s.start_value, s.increment_by,
           s.min_value, s.max_value, has_sequence_privilege(c.oid, 'SELECT,USAGE')
      FROM pg_sequences s
      JOIN pg_namespace n ON n.nspname = s.schemaname
      JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.sequencename
      JOIN unnest($1::text[], $2::text[]) AS w(schema, name)
        ON w.schema = s.schemaname AND w.name = s.sequencename)sql",
                      {pg::TextArrayLiteral(schemas), pg::TextArrayLiteral(names)});
  if (!r.ok()) return r.status();
  std::map<std::string, SequenceValue> out;
  std::vector<std::string> unreadable;
  for (int i = 0; i < r->rows(); ++i) {
    if (!r->GetBool(i, 7)) {
      unreadable.push_back(pg::QualifiedName(r->Get(i, 0), r->Get(i, 1)));
      continue;
    }
    SequenceValue v;
    if (!r->IsNull(i, 2)) v.last_value = r->GetInt(i, 2);
    v.start = r->GetInt(i, 3);
    v.increment = r->GetInt(i, 4);
    v.min = r->GetInt(i, 5);
    v.max = r->GetInt(i, 6);
    out[pg::QualifiedName(r->Get(i, 0), r->Get(i, 1))] = v;
  }
  if (!unreadable.empty())
    return Status::Error(fmt::format(
        "cannot read the current value of {} sequence(s) on the {}: {}. The role {} has neither "
        "SELECT nor USAGE on them, so a used sequence cannot be told from one never used. Grant "
        "it (GRANT SELECT ON ALL SEQUENCES IN SCHEMA <schema> TO {}) and run again",
        unreadable.size(), conn.params().label, fmt::join(unreadable, ", "), conn.params().user,
        pg::QuoteIdent(conn.params().user)));
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
                               const std::vector<RelationName>& sequences, int64_t gap) {
  auto src = ReadSequences(from, sequences);
  if (!src.ok()) return src.status();
  auto dst = ReadSequences(to, sequences);
  if (!dst.ok()) return dst.status();
  std::vector<std::string> names, targets, missing;
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
    names.push_back(name);
    targets.push_back(std::to_string(target));
  }
  if (!missing.empty())
    return Status::Error(fmt::format("sequences missing on the {}: {}", to.params().label,
                                     fmt::join(missing, ", ")));
  // One statement for all (it may run inside the cut-over's write pause).
  DBR_RETURN_IF_ERROR(
      to.Exec("SELECT setval(u.name::regclass, u.target, true) "
              "FROM unnest($1::text[], $2::int8[]) AS u(name, target)",
              {pg::TextArrayLiteral(names), pg::TextArrayLiteral(targets)}));
  return static_cast<int>(names.size());
}

namespace steps {

Status SetSequences(RunContext& ctx) {
  DBR_ASSIGN_OR_RETURN(auto scope, ListScope(*ctx.src, ctx.config));
  auto set = CopySequencesAhead(*ctx.src, *ctx.dst, scope.sequences, ctx.config.sequence_gap);
  if (!set.ok()) return set.status();
  ctx.state.sequences_set = true;
  log::info("{} sequences set on the destination to the source's value + {} increments", *set,
            ctx.config.sequence_gap);
  return ctx.SaveState();
}

}  // namespace steps
}  // namespace dbr
