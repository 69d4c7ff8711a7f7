// One point in the replication stream at which both sides are read, exact while the
// application keeps writing:
//   1. the receiving side locks the marker table, so its apply worker will stop at the marker;
//   2. a logical slot on the sending side exports a snapshot (exactly the transactions that
//      committed before its consistent point C);
//   3. a marker row is written on the sending side (it commits at M > C);
//   4. once the apply worker waits on the lock, the receiving side has applied exactly the
//      transactions before M: its snapshot is exported and the lock released;
//   5. the slot decodes the window [C, M): the few changes the receiving side has and the
//      sending side's snapshot lacks, which the comparison accounts for row by row.
// Readers keep their snapshots after the lock is gone, so replication is held up for
// milliseconds only.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/names.h"
#include "pg/connection.h"
#include "pg/lsn.h"
#include "pg/pgoutput.h"
#include "util/status.h"

namespace dbr::verify {

struct Sides {
  pg::ConnParams sender;    // the primary: publication and slot
  pg::ConnParams receiver;  // the subscriptions
  std::vector<names::Link> lanes;
};

// The window's changes, in commit order.
struct Window {
  std::map<uint32_t, pg::pgoutput::Relation> relations;
  std::vector<pg::pgoutput::Message> changes;  // I U D T
};

struct ConsistentPoint {
  std::vector<pg::Connection> sender_readers;    // each in a transaction at C
  std::vector<pg::Connection> receiver_readers;  // each in a transaction before M
  Window window;
  pg::Lsn lsn;  // C
};

// `readers` connections per side; waits at most `timeout_s` for the receiving side to reach
// the marker.
Result<ConsistentPoint> TakeConsistentPoint(const Sides& sides, int readers, int64_t timeout_s);

// Slots of verify runs that were killed (they would retain WAL for ever): counted, dropped.
Result<int64_t> CountStaleVerifySlots(pg::Connection& conn);
Status DropStaleVerifySlots(pg::Connection& conn);

// Opens a connection with verify's session settings (both sides must print values alike).
Result<pg::Connection> OpenVerifySession(pg::ConnParams params);

}  // namespace dbr::verify
