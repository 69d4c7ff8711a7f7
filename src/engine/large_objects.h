// Large objects are not replicated: their pages live in pg_largeobject, a system catalog, and
// logical decoding skips catalogs. The copy carries them under the snapshot; each switch makes
// the new side's equal to the old side's, once before its write pause (most of the work) and
// again inside it (what changed since); verify compares them. Two sides hold the same large
// object when its oid, content, owner and privileges are the same.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/run_state.h"
#include "pg/connection.h"
#include "util/status.h"

namespace dbr {

struct LargeObject {
  int64_t oid = 0;
  std::string owner;
  std::string privileges;  // the ACL, its default written out, items sorted
  int64_t size = -1;       // -1 when the content was not read
  std::string digest;      // of the content; "" when it was not read
};

enum class ReadContent : bool { kNo, kYes };

// How many large objects the database holds, and pg_largeobject's size on disk (cheap: no
// content is read), for check and plan.
struct LargeObjectVolume {
  int64_t count = 0;
  int64_t bytes_on_disk = 0;
};
Result<LargeObjectVolume> MeasureLargeObjects(pg::Connection& conn);

// Every large object of the database, by oid. With kYes each one's content is read (all of it:
// the cost grows with their total size) for its size and digest.
Result<std::vector<LargeObject>> ListLargeObjects(pg::Connection& conn, ReadContent content);

struct LargeObjectDifference {
  int64_t oid = 0;
  std::string what;  // "content", "only on the source", "owner: source a, destination b", ...
};

// What differs between `reference` and `other` (lists from ListLargeObjects, content read on
// both), in oid order; the sides named as in messages.
std::vector<LargeObjectDifference> CompareLargeObjects(const std::vector<LargeObject>& reference,
                                                       const std::vector<LargeObject>& other,
                                                       const std::string& reference_name,
                                                       const std::string& other_name);

// Makes the large objects of `to` those of `from`, in one transaction on `to`. When `to` has
// none, everything is copied without reading `from` twice; otherwise both sides' contents are
// compared first (concurrently) and only what differs is written. `from` may be inside a
// transaction (an exported snapshot); `to` must not be. The roles that own large objects or hold
// privileges on them must exist on `to`.
Result<LargeObjectSync> SyncLargeObjects(pg::Connection& from, pg::Connection& to);

// "3 large objects compared, 1 copied (1.0 MB), 1 removed in 12 ms"
std::string Describe(const LargeObjectSync& sync);

}  // namespace dbr
