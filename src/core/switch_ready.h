// What a switch (core/switch.cpp) checks before it changes anything, each check an error that
// names what to fix. None of them changes a server, bar SyncLogins, which gives the application's
// roles on the new side the passwords they have on the old one.
#pragma once

#include <vector>

#include "config/config.h"
#include "model/names.h"
#include "model/side.h"
#include "model/timings.h"
#include "pg/connection.h"
#include "proxy/proxy.h"
#include "util/clock.h"
#include "util/status.h"

namespace dbr {

// The two sides of a switch, connected: the old one the application writes to, the new one it
// is to write to, and the replication from the first into the second (its lanes).
struct SwitchSides {
  const Config& config;
  Side from, to;
  pg::Connection& old_side;
  pg::Connection& new_side;
  const std::vector<names::Link>& link_in;
};

// The proxy answers, sends the application to the old side and is not paused.
Status ProxyIsReady(Proxy& proxy, Side from);

// The new side can carry the return replication (wal_level logical).
Status NewSideCanReplicateBack(const SwitchSides& sides);

// A prepared transaction outlives the fence and could commit on the old side after the switch,
// where nothing would carry it over.
Status NoPreparedTransactions(pg::Connection& old_side, Side from);

// No DDL on the old side that replication did not carry: those rows cannot reach the new side.
Status NoSchemaDriftBlocks(const SwitchSides& sides);

// Replication into the new side runs without errors, its lag is small and the newest heartbeat
// applied there is recent. A subscription the last switch created may not have its worker yet,
// and lag comes and goes: transient states get Timings::Switch::settle before it refuses.
Status ReplicationIntoNewSideFlows(const SwitchSides& sides, Clock& clock, const Timings& timings);

// After the proxy points at the new side: each return subscription (the lanes of `link_out`, on
// the old side) has a worker that streams from the new side (a pid, and WAL received). Until it
// has, the old side does not follow the application's writes, and a switch back would lose them.
// Waits Timings::Switch::return_streams; the error names the subscription and where to look.
Status ReturnReplicationStreams(pg::Connection& old_side, const std::vector<names::Link>& link_out,
                                Side from, Side to, Clock& clock, const Timings& timings);

// The application logs in through the proxy with its own password, so its roles must exist on
// the new side with the same secrets (`run` creates roles without passwords).
Status SyncLogins(const SwitchSides& sides);

}  // namespace dbr
