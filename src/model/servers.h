// Connection parameters of the two sides, built from the config in one place.
#pragma once

#include "config/config.h"
#include "model/names.h"
#include "model/run_state.h"
#include "model/side.h"
#include "pg/connection.h"

namespace dbr {

pg::ConnParams SourceParams(const Config& config);
// With provider rds or cloudsql the destination is the instance the run made: its address comes
// from the run state, not the config. No-op for provider postgres or before it is made.
void UseRecordedDestination(Config& config, const RunState& state);
void UseRecordedDestination(Config& config);  // reads the state from config.state_dir
pg::ConnParams DestinationParams(const Config& config);
// Whether there is a destination server to connect to: with provider rds, not before the restored
// instance's endpoint is recorded, nor while AWS upgrades it (RdsPhase::kUpgradeInstance); with
// cloudsql, not before the new instance is ready.
bool DestinationReachable(const Config& config, const RunState& state);

// A side's block of the config, and how to connect to it.
const ServerConfig& ServerOf(const Config& config, Side side);
pg::ConnParams ParamsOf(const Config& config, Side side);

// What a run state records of the relocation it belongs to (RunState::source and
// destination_database), and an error naming state_dir when a state was recorded for another
// relocation: two relocations sharing a state folder would take each other's steps for done and
// clean up each other's objects. Checked before a command starts (CheckStateBelongsToConfig in
// core/state_servers.h) and again under the relocation's lock.
//
// A config that names the state's source under another address, with the same databases
// (SourceRenamed: a DNS name where the run used an IP, a new endpoint), may reach the same server
// or another one: addresses cannot tell, only the servers' identity can. StateBelongsToConfig
// accepts it when the state holds the source's system_identifier, for the caller to compare
// (CheckStateBelongsToConfig does, before any command), and refuses it otherwise.
void RecordRelocation(const Config& config, RunState& state);
bool SourceRenamed(const Config& config, const RunState& state);
Status StateBelongsToConfig(const Config& config, const RunState& state);

// The source's address the relocation was started with: what names the relocation (in the
// replication user's mark, engine/replication_link.h) however the config reaches the source now.
// The config's address before the first run.
std::string RelocationSource(const Config& config, const RunState& state);

// The replication objects of this relocation, in both directions.
names::Links LinksOf(const Config& config);

}  // namespace dbr
