// `db_relocate verify`: every table in scope compared between the side taking the
// application's writes and the side replicating them, at one consistent point, while writes go
// on; then the schema objects.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/large_objects.h"
#include "model/run_context.h"
#include "verify/data_compare.h"
#include "verify/schema_compare.h"

namespace dbr::verify {

struct VerifyReport {
  std::string finished_at;
  double seconds = 0;
  std::string lsn;     // the consistent point, on the sending side
  std::string sender;  // "source" or "destination" (after a cut-over)
  std::string receiver;
  std::vector<TableResult> tables;
  std::vector<ObjectResult> objects;  // every schema object compared, OK ones included
  // Large objects are compared as they are now (they are not replicated, so no point in the
  // stream describes them); a difference is reported but does not count: the next switch
  // copies it inside its write pause.
  int64_t large_objects = 0;  // compared: how many the side taking the writes holds
  std::vector<LargeObjectDifference> large_object_differences;
  // Every table and object equal. A large object that differs, a sequence BEHIND (sequences are not
  // replicated; cut-over sets them ahead inside its write pause) and an extension only on the
  // destination are reported but do not count.
  bool ok() const;

  nlohmann::json ToJson() const;
  // ToJson() as text, with bytes that are not UTF-8 replaced: a row shown may hold any bytes.
  std::string ToJsonText() const;
  std::string ToText() const;
};

// Compares, writes the report to <state_dir>/verify.json and returns it. An error is returned
// only when the comparison could not be made at all (no subscription, a server down).
Result<VerifyReport> Verify(RunContext& ctx);

}  // namespace dbr::verify
