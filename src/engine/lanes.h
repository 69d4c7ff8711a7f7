// Lanes: with `apply_workers: N` the forward direction is N links (names::Links::forward), each
// a publication, a slot and a subscription of its own, so that N apply workers share the
// destination's work. Every table is in exactly one lane; lane 1 also carries the db_relocate
// schema (the heartbeat: heartbeat verification and the switch's marker go through it).
//
// Each lane's subscription starts at the one snapshot point: the slots of lanes 2..N are made
// before lane 1's, whose consistent point (or the cloud snapshot's LSN) is where the data ends,
// and each of their subscriptions starts there through its replication origin, advanced on the
// destination (steps::Subscribe): a transaction whose commit comes before that point is in the
// data, one after it in exactly one lane's stream. Lanes apply independently: between them the
// destination is consistent only where they are made to meet (the switch's drain, verify's
// consistent point), not transaction by transaction.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "model/catalog.h"
#include "model/names.h"
#include "model/run_state.h"
#include "pg/connection.h"

namespace dbr {

// A table and what it weighs for the apply: rows written to it (inserted, updated and deleted
// since the source's statistics were last reset, pg_stat_user_tables) and its size on disk.
struct TableWeight {
  std::string table;  // quoted "schema"."table"
  int64_t writes = 0;
  int64_t bytes = 0;
};
// Spreads `tables` over `lanes` lanes, heaviest first onto the lightest lane. Apply costs per
// change, not per byte stored: a table weighs its writes, or, when no table was written, its
// size. Returns the lane of every table not in lane 1.
std::map<std::string, int> SpreadOverLanes(std::vector<TableWeight> tables, int lanes);
// SpreadOverLanes of the replicable tables of `tables` outside the db_relocate schema, weighed on
// `source`.
Result<std::map<std::string, int>> PlanTableLanes(pg::Connection& source,
                                                  const std::vector<TableInfo>& tables, int lanes);

// The lane of `qualified` (a quoted "schema"."table") in `state`: 1 unless placed elsewhere.
int LaneOf(const RunState& state, const std::string& qualified);

// `tables` as the lanes of `state` hold them (lane k at index k - 1): lane k's verify marker
// table to lane k; a table `state` does not place (the rest of the db_relocate schema, one that
// appeared since) to lane 1.
std::vector<std::vector<TableInfo>> TablesByLane(const std::vector<TableInfo>& tables,
                                                 const RunState& state, int lanes);

// The publication of each of `lanes` on `conn`, set to exactly its tables of `tables`
// (TablesByLane).
Status EnsureLanePublications(pg::Connection& conn, const std::vector<names::Link>& lanes,
                              const std::vector<TableInfo>& tables, const RunState& state);

}  // namespace dbr
