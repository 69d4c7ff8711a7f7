// Lanes: with `apply_workers: N` the forward direction is N links (names::Links::forward), each
// a publication, a slot and a subscription of its own, so that N apply workers share the
// destination's work. Every table is in exactly one lane; lane 1 also carries the db_relocate
// schema (the heartbeat: heartbeat verification and the switch's marker go through it).
//
// Each lane's subscription starts at the one snapshot point: the slots of lanes 2..N are made
// before lane 1's, whose consistent point (or the cloud snapshot's LSN) is where the data ends,
// and each is then moved to that point on the source (pg_replication_slot_advance): a
// transaction whose commit comes before it is in the data, one after it in exactly one lane's
// stream. Lanes apply independently: between them the destination is consistent only where they
// are made to meet (the switch's drain, verify's consistent point), not transaction by
// transaction.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "model/catalog.h"
#include "model/run_state.h"
#include "pg/connection.h"

namespace dbr {

// Spreads `tables` over `lanes` lanes, heaviest first onto the lightest lane. A table weighs
// what was written to it (inserted, updated and deleted rows since the source's statistics were
// last reset, pg_stat_user_tables): apply costs per change, not per byte stored; tables never
// written weigh their size. Returns the lane of every table not in lane 1, by quoted name.
Result<std::map<std::string, int>> PlanTableLanes(pg::Connection& source,
                                                  const std::vector<TableInfo>& tables, int lanes);

// The lane of `qualified` (a quoted "schema"."table") in `state`: 1 unless placed elsewhere.
int LaneOf(const RunState& state, const std::string& qualified);

// `tables` as the lanes of `state` hold them (lane k at index k - 1): lane k's verify marker
// table to lane k; a table `state` does not place (the rest of the db_relocate schema, one that
// appeared since) to lane 1.
std::vector<std::vector<TableInfo>> TablesByLane(const std::vector<TableInfo>& tables,
                                                 const RunState& state, int lanes);

}  // namespace dbr
