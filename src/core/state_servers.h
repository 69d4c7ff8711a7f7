// Before a command that reads the relocation's state (run, status, verify, cutover, rollback,
// cleanup) changes or reports anything: the servers the config points at must be the ones the
// state was recorded on (engine/server_identity.h), and the slot the state needs must exist.
#pragma once

#include "config/config.h"
#include "util/status.h"

namespace dbr {

// Before any command: the relocation recorded in config.state_dir is the config's
// (StateBelongsToConfig). Where the config names the state's source under another address, the
// source is reached and its identity compared: the same server (a DNS name where the run used an
// IP) is accepted and logged; another server, or one that cannot be reached to tell, is refused.
Status CheckStateBelongsToConfig(const Config& config);

// A bad config (exit 2) when either side reached is another server or database than the state
// recorded; an error, when `lost_slot_refuses`, for a lost slot (else it is logged as an error and
// the command goes on: `status` shows, `cleanup` ends the relocation). A side that cannot be
// reached is not compared (the command says so itself). Records the identity of a reached side
// the state holds none of yet (a state of an older format), when the relocation's lock is free.
Status CheckStateServers(const Config& config, bool lost_slot_refuses);

}  // namespace dbr
