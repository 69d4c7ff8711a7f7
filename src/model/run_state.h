// What a relocation has done so far, persisted after every change with a crash-safe write, so
// that `run` started again after a crash continues where it stopped and `status` can report.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "model/side.h"
#include "util/enum_names.h"
#include "util/files.h"
#include "util/status.h"

namespace dbr {

// The version of state.json this build writes; it reads this one and older ones (FromJson
// migrates them) and refuses newer ones. 2: the servers' identity (`servers`). 3: how far a
// switch's undo went (`undo`) and the snapshot the schema was dumped at (`schema_lsn`): a reader of
// format 2 would ignore them and could roll a divergence forward. 4: engine mysql names its
// database and replication after the relocated database (mysql/servers.h), where formats 3 and
// older named them db_relocate: such a state is refused (StateBelongsToConfig).
inline constexpr int kStateFormat = 4;

enum class TableState {
  kPending,  // not copied yet
  kCopied,   // its rows are on the destination as of the snapshot
  kResync,   // left to the subscription's table synchronisation
};
template <>
struct EnumNames<TableState> {
  static constexpr std::string_view kWhat = "table state";
  static constexpr std::pair<TableState, std::string_view> kTable[] = {
      {TableState::kPending, "pending"},
      {TableState::kCopied, "copied"},
      {TableState::kResync, "resync"}};
};

// How far the logical copy got, in its order (snapshot/logical_copy.cpp).
enum class SnapshotPhase { kNone, kSchema, kRows, kIndexes, kAnalyze, kDone };
template <>
struct EnumNames<SnapshotPhase> {
  static constexpr std::string_view kWhat = "snapshot phase";
  static constexpr std::pair<SnapshotPhase, std::string_view> kTable[] = {
      {SnapshotPhase::kNone, ""},           {SnapshotPhase::kSchema, "schema"},
      {SnapshotPhase::kRows, "rows"},       {SnapshotPhase::kIndexes, "indexes"},
      {SnapshotPhase::kAnalyze, "analyze"}, {SnapshotPhase::kDone, "done"}};
};

// How far an RDS snapshot and restore got, in its order (cloud/rds_snapshot.cpp). kUpgrade is
// upgrade.method snapshot's (ModifyDBSnapshot), kUpgradeInstance method instance's
// (ModifyDBInstance of the restored instance).
enum class RdsPhase {
  kNone,
  kSnapshot,
  kUpgrade,
  kEncrypt,
  kRestore,
  kLsn,
  kPrepare,
  kUpgradeInstance,
  kReplicas,
  kWarm,
  kDone
};
template <>
struct EnumNames<RdsPhase> {
  static constexpr std::string_view kWhat = "RDS phase";
  static constexpr std::pair<RdsPhase, std::string_view> kTable[] = {
      {RdsPhase::kNone, ""},
      {RdsPhase::kSnapshot, "snapshot"},
      {RdsPhase::kUpgrade, "upgrade"},
      {RdsPhase::kEncrypt, "encrypt"},
      {RdsPhase::kRestore, "restore"},
      {RdsPhase::kLsn, "lsn"},
      {RdsPhase::kPrepare, "prepare"},
      {RdsPhase::kUpgradeInstance, "upgrade-instance"},
      {RdsPhase::kReplicas, "replicas"},
      {RdsPhase::kWarm, "warm"},
      {RdsPhase::kDone, "done"}};
};

// Where a cut-over or rollback is (core/switch.cpp).
enum class SwitchStage { kPrepared, kPaused, kPointing, kSwitched, kUndoing, kDone };
template <>
struct EnumNames<SwitchStage> {
  static constexpr std::string_view kWhat = "switch stage";
  static constexpr std::pair<SwitchStage, std::string_view> kTable[] = {
      {SwitchStage::kPrepared, "prepared"}, {SwitchStage::kPaused, "paused"},
      {SwitchStage::kPointing, "pointing"}, {SwitchStage::kSwitched, "switched"},
      {SwitchStage::kUndoing, "undoing"},   {SwitchStage::kDone, "done"}};
};

// How far the undo of a switch has gone, for the command run again. Once past kNone the
// application may write to the old side again: the switch is only undone from there, never
// finished.
enum class UndoProgress {
  kNone,          // nothing put back yet: the switch may still be finished instead
  kOldSideBack,   // the application was sent back to the old side while the new side was out of
                  // reach: whether the new side took writes of its own is not known yet
  kNewSideClean,  // the new side was found without writes of the application: it is put back
};
template <>
struct EnumNames<UndoProgress> {
  static constexpr std::string_view kWhat = "undo progress";
  static constexpr std::pair<UndoProgress, std::string_view> kTable[] = {
      {UndoProgress::kNone, "none"},
      {UndoProgress::kOldSideBack, "old side back"},
      {UndoProgress::kNewSideClean, "new side clean"}};
};

struct StepRecord {
  bool done = false;
  double seconds = 0;  // of the run that finished it
  std::string finished_at;
};

struct TableProgress {
  TableState state = TableState::kPending;
  int64_t rows = 0;
  int64_t bytes = 0;
  double seconds = 0;
};

// A role of the old primary made read-only by a switch, with the setting it had before.
struct FencedRole {
  std::string role;
  std::string previous;  // its default_transaction_read_only in this database; "" = not set
};

// The replication user (upgrade.user) on one side as the relocation found it, recorded before it
// first set the user up there, so that `cleanup` drops only a user it created and otherwise puts
// back the comment it overwrote.
struct RoleBefore {
  std::string role;  // upgrade.user when it was recorded
  bool existed = false;
  std::string comment;  // its COMMENT ON ROLE when it existed; "" = none
  bool operator==(const RoleBefore&) const = default;
};

// What one pass that makes a side's large objects equal to the other's did (they are not
// replicated: engine/large_objects.h); a switch records its pass inside the write pause.
struct LargeObjectSync {
  int64_t compared = 0;  // large objects the side copied from holds
  int64_t copied = 0;    // created, or written again because their content differed
  int64_t removed = 0;   // only on the side copied to
  int64_t fixed = 0;     // same content; owner or privileges set
  int64_t bytes = 0;     // content copied
  double ms = 0;
  // Neither side had a large object: nothing worth a line of output.
  bool None() const { return compared == 0 && removed == 0; }
  bool operator==(const LargeObjectSync&) const = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(LargeObjectSync, compared, copied, removed, fixed,
                                                bytes, ms)

// One cut-over or rollback.
struct SwitchRecord {
  Side to = Side::kDestination;  // the destination: a cut-over; the source: a rollback
  SwitchStage stage = SwitchStage::kPrepared;
  std::string started_at;
  std::string finished_at;
  double pause_ms = 0;  // writes held by the proxy, PAUSE to RESUME
  int64_t marker = 0;   // heartbeat written on the old side once fenced
  std::string lsn;      // the old side's flushed WAL position just after the marker
  // Where the old side follows the new one from, when the engine keeps that point in the record
  // (engine mysql: the new side's binary log position once it stopped applying, "file:offset").
  std::string way_back_from;
  // The new side's fence from the last switch (it was the old side then), recorded before this
  // switch lifts it, so that an undo, in this run or after a crash, puts it back.
  std::vector<FencedRole> lifted_fence;
  LargeObjectSync large_objects;  // inside the write pause
  UndoProgress undo = UndoProgress::kNone;
  // A done switch whose follow-up (EngineSwitch::AfterSwitch) has not run through: the same
  // command run again does it.
  bool follow_up_pending = false;

  // "a cut-over was interrupted (stage paused)", for messages.
  std::string Interrupted() const;
};

// "cut-over" or "rollback", for messages; SwitchCommand: the command that runs it.
constexpr const char* SwitchName(Side to) {
  return to == Side::kDestination ? "cut-over" : "rollback";
}
constexpr const char* SwitchCommand(Side to) {
  return to == Side::kDestination ? "cutover" : "rollback";
}

// One ModifyDBInstance hop of upgrade.method instance.
struct RdsInstanceHop {
  std::string version;       // the engine version it goes to
  std::string requested_at;  // UTC, ISO 8601, of the last request AWS accepted; "": none yet
  double seconds = 0;        // from that request until the instance was available at `version`
  bool operator==(const RdsInstanceHop&) const = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RdsInstanceHop, version, requested_at, seconds)

// What an RDS relocation created in AWS and how far it got, so `run` resumes the waits and
// `cleanup` finds every resource.
struct RdsState {
  RdsPhase phase = RdsPhase::kNone;
  std::string method;    // upgrade.method, fixed by the first plan
  std::string snapshot;  // CreateDBSnapshot of the source (upgraded in place by ModifyDBSnapshot)
  std::string encrypted_snapshot;  // CopyDBSnapshot with the KMS key (unencrypted sources)
  std::string instance;            // the restored instance: the destination
  std::vector<std::string> replicas;
  std::string dst_host;  // the new instance's endpoint
  int dst_port = 0;
  std::string lsn_before;      // the source's pg_current_wal_lsn() before CreateDBSnapshot
  std::string lsn_after;       // ... and once the snapshot was available
  std::string time_before;     // UTC, ISO 8601
  std::string time_restore;    // when the restore was requested
  std::string time_after;      // once the restored instance was available
  std::string target_version;  // fixed by the first plan, as are the upgrade hops
  std::vector<std::string> hops;
  std::vector<RdsInstanceHop> instance_hops;  // method instance: each hop as it was done
  bool prewarm_extension_created = false;
  bool snapshots_deleted = false;

  // The restored instance is the destination for good: restored, and upgraded when that is
  // done to the instance (its system_identifier changes with the upgrade).
  bool DestinationSettled() const {
    return phase == RdsPhase::kNone || phase >= RdsPhase::kReplicas;
  }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RdsState, phase, method, snapshot,
                                                encrypted_snapshot, instance, replicas, dst_host,
                                                dst_port, lsn_before, lsn_after, time_before,
                                                time_restore, time_after, target_version, hops,
                                                instance_hops, prewarm_extension_created,
                                                snapshots_deleted)

// How far a Cloud SQL destination got, in its order (cloud/cloudsql_*.cpp). Method logical goes
// from kCreate (the instance asked for) to kDone; method clone passes every phase.
enum class CloudSqlPhase { kNone, kCreate, kLsn, kPrepare, kUpgrade, kDone };
template <>
struct EnumNames<CloudSqlPhase> {
  static constexpr std::string_view kWhat = "cloudsql.phase";
  static constexpr std::pair<CloudSqlPhase, std::string_view> kTable[] = {
      {CloudSqlPhase::kNone, ""},           {CloudSqlPhase::kCreate, "create"},
      {CloudSqlPhase::kLsn, "lsn"},         {CloudSqlPhase::kPrepare, "prepare"},
      {CloudSqlPhase::kUpgrade, "upgrade"}, {CloudSqlPhase::kDone, "done"}};
};

// What a Cloud SQL relocation created through the Admin API and how far it got, so that `run`
// resumes its waits and `cleanup` names what is the relocation's.
struct CloudSqlState {
  CloudSqlPhase phase = CloudSqlPhase::kNone;
  std::string method;     // upgrade.method, fixed when the instance is first asked for
  std::string instance;   // the new instance (the destination), recorded before it is asked for
  std::string operation;  // the last mutating call's operation, recorded before it is waited on
  std::string dst_host;   // its PRIMARY address
  int target_major = 0;   // fixed by the first plan
  // Method clone: the source's WAL position before the clone was asked for and once it was
  // RUNNABLE, and the times around it (UTC, ISO 8601): the bounds of its recovery's end.
  std::string lsn_before;
  std::string lsn_after;
  std::string time_before;
  std::string time_after;

  // Its server is the one the relocation goes on with: none made yet, or made and upgraded (a
  // clone's in-place upgrade makes a new server).
  bool DestinationSettled() const {
    return phase == CloudSqlPhase::kNone || phase == CloudSqlPhase::kDone;
  }
  // The destination can be connected to: made, and not being upgraded.
  bool Reachable() const {
    return phase == CloudSqlPhase::kLsn || phase == CloudSqlPhase::kPrepare ||
           phase == CloudSqlPhase::kDone;
  }
  bool operator==(const CloudSqlState&) const = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(CloudSqlState, phase, method, instance, operation,
                                                dst_host, target_major, lsn_before, lsn_after,
                                                time_before, time_after)

// engine mysql only (issue #25): where the copy's snapshot ends in the source's binary log (the
// destination's replication starts there), and what the relocation made.
struct MysqlState {
  std::string snapshot_file;  // binary log file; empty: no snapshot taken yet
  int64_t snapshot_offset = 0;
  std::string snapshot_gtid;  // MariaDB: where the replication starts by GTID
  bool copy_started = false;  // the destination's database is being filled by this relocation
  bool replication_user_created = false;  // upgrade.user did not exist before on the source
  // ... nor on the destination, where the first cut-over made it for the way back.
  bool replication_user_created_on_destination = false;
  // This relocation's id in the servers' records of the relocations that use them
  // (mysql/neighbours.h): a UUID, made at the first run.
  std::string relocation_id;
  bool operator==(const MysqlState&) const = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(MysqlState, snapshot_file, snapshot_offset,
                                                snapshot_gtid, copy_started,
                                                replication_user_created,
                                                replication_user_created_on_destination,
                                                relocation_id)

// Which server and database a side of the relocation is, whatever address it is reached at: a
// server recreated at the same address (a new cluster, the same host, port and database name) is
// another one, and a state must not be resumed against it (model/identity.h compares).
struct ServerIdentity {
  // pg_control_system()'s system_identifier, fixed by initdb (a physical copy keeps it); "" when
  // the server would not tell (model/identity.h). engine mysql: the server's marker
  // (mysql/identity.h).
  std::string system_identifier;
  int64_t database_oid = 0;  // pg_database.oid of the relocated database; 0: not recorded
  bool recorded() const { return database_oid != 0; }  // PostgreSQL's
  bool operator==(const ServerIdentity&) const = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ServerIdentity, system_identifier, database_oid)

struct RunState {
  // The format of the file this state was read from (kStateFormat for a new one).
  int format = kStateFormat;
  // The relocation this state belongs to, recorded by its first `run`: the source as
  // host:port/database, and the destination's database (an RDS destination's host comes later).
  std::string source;
  std::string destination_database;
  // The servers it was started on, recorded at their first contact (a format-1 state: at the
  // first contact of a command that holds the relocation's lock, with a warning).
  std::map<Side, ServerIdentity> servers;
  std::string current_step;
  std::map<std::string, StepRecord> steps;
  std::string replication_password;  // generated when upgrade.password is unset; file is 0600
  std::string snapshot_lsn;          // where the destination's data ends; origin advanced here
  std::string snapshot_slot;         // the source's slot snapshot_lsn is a position of
  std::string schema_lsn;            // the snapshot_lsn the destination's schema was dumped at
  SnapshotPhase snapshot_phase = SnapshotPhase::kNone;  // inside the snapshot step
  std::map<std::string, TableProgress> tables;          // key: quoted "schema"."table"
  std::vector<std::string> resync_tables;               // handed to the subscription's table sync
  // apply_workers as the forward lanes were made with (0: not made yet), and the lane of each
  // table not in lane 1 (key: quoted "schema"."table"), fixed when they are first made
  // (engine/lanes.h): a table must not change lanes while changes to it are in flight.
  int apply_workers = 0;
  std::map<std::string, int> table_lanes;
  bool sequences_set = false;
  std::vector<std::string> created_roles;  // on the destination, by the snapshot step
  // Per side; a side missing: not recorded (not set up there yet, or a state of an older version).
  std::map<Side, RoleBefore> replication_user_before;
  std::string started_at;
  std::vector<std::string> notes;  // things the run did that the user must know (forced changes)
  RdsState rds;                    // provider rds only
  CloudSqlState cloudsql;          // provider cloudsql only
  MysqlState mysql;                // engine mysql only

  // Cut-over and rollback.
  Side primary = Side::kSource;                    // the side taking the application's writes
  std::optional<SwitchRecord> switching;           // a switch that has not finished
  std::vector<SwitchRecord> switches;              // finished ones, oldest first
  std::map<Side, std::vector<FencedRole>> fenced;  // roles made read-only on each side

  bool StepDone(const std::string& name) const;
  // The destination holds data as of the slot, or may be given some any moment (a cloud's copy
  // asked for): the slot must be kept, never made again.
  bool DestinationDependsOnSlot() const;
  nlohmann::json ToJson() const;
  // A state of format kStateFormat or older; throws std::exception on a field of the wrong type
  // or an unknown name (StateStore::Load turns that into an error naming the file).
  static RunState FromJson(const nlohmann::json& j);
};

// The state folder of a relocation and the files in it.
class StateStore {
 public:
  explicit StateStore(std::filesystem::path dir) : dir_(std::move(dir)) {}
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path file(const std::string& name) const { return dir_ / name; }

  bool Exists() const;
  Result<RunState> Load() const;  // a fresh state when there is none yet
  Status Save(const RunState& state) const;
  // The lock every command that changes the relocation holds while it does (run, the switch,
  // cleanup, proxy); the folder must exist.
  Result<FileLock> Lock() const { return FileLock::Acquire(file("run.lock"), "this relocation"); }
  // Lock() when the folder exists; nullopt without one (lost, or never made here).
  Result<std::optional<FileLock>> LockIfExists() const;

 private:
  std::filesystem::path dir_;
};

std::string NowUtc();  // 2026-11-25T12:00:00Z

}  // namespace dbr
