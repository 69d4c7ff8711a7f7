#include "model/identity.h"

#include <gtest/gtest.h>

#include "engine/server_identity.h"
#include "model/servers.h"

namespace dbr {
namespace {

const ServerIdentity kOld{"7446412011183213717", 16384};

TEST(CompareIdentity, TheSameServerAndDatabaseMatch) {
  EXPECT_TRUE(CompareIdentity(Side::kSource, kOld, kOld).empty());
}

// The reported case: the cluster recreated at the same address gets a new system_identifier,
// and its database, created the same way, often the same OID.
TEST(CompareIdentity, ARecreatedServerDiffersInItsSystemIdentifier) {
  const ServerIdentity recreated{"7446499999999999999", 16384};
  auto m = CompareIdentity(Side::kDestination, kOld, recreated);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0], (IdentityMismatch{Side::kDestination, "system_identifier", "7446412011183213717",
                                    "7446499999999999999"}));
}

TEST(CompareIdentity, ADatabaseDroppedAndCreatedAgainDiffersInItsOid) {
  auto m = CompareIdentity(Side::kSource, kOld, {kOld.system_identifier, 16400});
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].field, "database_oid");
  EXPECT_EQ(m[0].recorded, "16384");
  EXPECT_EQ(m[0].live, "16400");
  EXPECT_EQ(CompareIdentity(Side::kSource, kOld, {"1", 16400}).size(), 2u);
}

TEST(CompareIdentity, WhatWasNotRecordedOrNotToldIsNotCompared) {
  EXPECT_TRUE(CompareIdentity(Side::kSource, {}, kOld).empty());  // not recorded yet
  EXPECT_TRUE(CompareIdentity(Side::kSource, {"", 16384}, kOld).empty());
  EXPECT_TRUE(CompareIdentity(Side::kSource, kOld, {"", 16384}).empty());
  EXPECT_EQ(CompareIdentity(Side::kSource, kOld, {"", 1}).size(), 1u);
}

TEST(MismatchMessage, NamesEachFieldBothValuesAndTheFix) {
  const std::string text = MismatchMessage({{Side::kSource, "system_identifier", "1", "2"},
                                            {Side::kDestination, "database_oid", "16384", "16385"}},
                                           "/srv/state");
  for (const char* part :
       {"/srv/state", "source system_identifier: recorded 1, now 2",
        "destination database_oid: recorded 16384, now 16385", "Nothing was changed",
        "Move the state folder aside", "point the config at the servers the state belongs to"})
    EXPECT_NE(text.find(part), std::string::npos) << part << " in: " << text;
}

TEST(SameServer, OneServerReachedTwiceIsOne) {
  const LiveServer a{kOld, "2026-12-04 18:00:00.123456+00"};
  LiveServer b = a;
  b.identity.database_oid = 16999;  // another database of it
  EXPECT_TRUE(SameServer(a, b));
}

// A physical copy (an RDS restore of a snapshot, a promoted standby) keeps the system_identifier.
TEST(SameServer, ACopyStartedAtAnotherTimeIsAnotherServer) {
  const LiveServer a{kOld, "2026-12-04 18:00:00.123456+00"};
  EXPECT_FALSE(SameServer(a, {kOld, "2026-12-04 18:05:00.000001+00"}));
  EXPECT_FALSE(SameServer(a, {{"1", 16384}, a.started_at}));
}

TEST(SameServer, AServerThatWouldNotTellIsNeverTakenForAnother) {
  const LiveServer unknown{{"", 16384}, "2026-12-04 18:00:00+00"};
  EXPECT_FALSE(SameServer(unknown, unknown));
}

TEST(SlotTheStateNeeds, NoneBeforeTheDestinationDependsOnIt) {
  const names::Links links("app", "app");
  RunState s;
  EXPECT_FALSE(SlotTheStateNeeds(s, links));
  s.steps["publication"].done = true;
  EXPECT_FALSE(SlotTheStateNeeds(s, links));
}

TEST(SlotTheStateNeeds, TheSnapshotsSlotOnTheSourceOnceTheSnapshotIsDone) {
  const names::Links links("app", "app_new");
  RunState s;
  s.steps["snapshot"].done = true;
  auto needed = SlotTheStateNeeds(s, links);
  ASSERT_TRUE(needed);
  EXPECT_EQ(needed->side, Side::kSource);
  EXPECT_EQ(needed->slot, links.forward.front().slot);
  s.snapshot_slot = "recorded_slot";
  EXPECT_EQ(SlotTheStateNeeds(s, links)->slot, "recorded_slot");
}

TEST(SlotTheStateNeeds, TheWayBacksSlotOnTheDestinationAfterACutover) {
  const names::Links links("app", "app_new");
  RunState s;
  s.steps["snapshot"].done = true;
  s.snapshot_slot = "recorded_slot";
  s.primary = Side::kDestination;
  auto needed = SlotTheStateNeeds(s, links);
  ASSERT_TRUE(needed);
  EXPECT_EQ(needed->side, Side::kDestination);
  EXPECT_EQ(needed->slot, links.reverse.slot);
  s.switching = SwitchRecord{.to = Side::kSource};
  EXPECT_FALSE(SlotTheStateNeeds(s, links)) << "a switch under way rebuilds its slots";
}

TEST(LostSlotMessage, SaysWhatIsLostAndWhatToDo) {
  RunState s;
  s.snapshot_lsn = "0/1A2B3C4";
  const std::string forward = LostSlotMessage({Side::kSource, "db_relocate_slot_app"}, s);
  for (const char* part : {"db_relocate_slot_app is lost", "0/1A2B3C4", "db_relocate cleanup",
                           "empty the destination database", "db_relocate run"})
    EXPECT_NE(forward.find(part), std::string::npos) << part << " in: " << forward;
  const std::string back = LostSlotMessage({Side::kDestination, "db_relocate_rev_slot_app"}, s);
  EXPECT_NE(back.find("rollback would lose"), std::string::npos) << back;
}

TEST(StateServers, AMismatchIsABadConfigAndALostSlotAnError) {
  RunState state;
  StateServers servers;
  EXPECT_TRUE(servers.Verdict(state, "/srv/state").ok());
  servers.lost_slot = NeededSlot{Side::kSource, "db_relocate_slot_app"};
  Status lost = servers.Verdict(state, "/srv/state");
  EXPECT_FALSE(lost.ok());
  EXPECT_FALSE(lost.is_bad_config());
  EXPECT_NE(lost.message().find("is lost"), std::string::npos) << lost.message();
  servers.mismatches.push_back({Side::kSource, "database_oid", "1", "2"});
  Status other = servers.Verdict(state, "/srv/state");
  EXPECT_TRUE(other.is_bad_config());
  EXPECT_NE(other.message().find("database_oid"), std::string::npos) << other.message();
}

TEST(StateServers, OnlyTheSidesNotRecordedYetAreRecorded) {
  RunState state;
  state.format = 1;
  state.servers[Side::kSource] = kOld;
  StateServers servers;
  servers.live[Side::kSource] = {{"1", 1}, "t"};
  EXPECT_FALSE(RecordIdentity(state, servers));
  EXPECT_EQ(state.servers[Side::kSource], kOld) << "a recorded identity is never overwritten";
  servers.live[Side::kDestination] = {{"2", 16390}, "t"};
  EXPECT_TRUE(RecordIdentity(state, servers));
  EXPECT_EQ(state.servers[Side::kDestination], (ServerIdentity{"2", 16390}));
  EXPECT_FALSE(RecordIdentity(state, servers));
}

// A state recorded for `host`:5432/app into database app_new, with the source's identity.
RunState StateOf(const std::string& host, bool identity) {
  Config config;
  config.src.host = host;
  config.src.name = "app";
  config.dst.name = "app_new";
  RunState state;
  RecordRelocation(config, state);
  if (identity) state.servers[Side::kSource] = kOld;
  return state;
}

Config ConfigFor(const std::string& host, const std::string& src_db = "app",
                 const std::string& dst_db = "app_new") {
  Config config;
  config.state_dir = "state";
  config.src.host = host;
  config.src.name = src_db;
  config.dst.name = dst_db;
  return config;
}

TEST(ServerAddress, HostNamesCompareWithoutCaseAndLoopbackIsOne) {
  EXPECT_EQ(ConfigFor("Orders-DB.Example.com.").src.Address(), "orders-db.example.com:5432");
  EXPECT_EQ(ConfigFor("::1").src.Address(), ConfigFor("127.0.0.1").src.Address());
  EXPECT_EQ(ConfigFor("/run/PostgreSQL").src.Address(), "/run/PostgreSQL:5432");
}

TEST(StateBelongsToConfig, TheSourceUnderAnotherNameIsLeftToItsIdentity) {
  const Config renamed = ConfigFor("10.0.0.7");
  const RunState state = StateOf("db.example.com", true);
  EXPECT_TRUE(SourceRenamed(renamed, state));
  EXPECT_TRUE(StateBelongsToConfig(renamed, state).ok());
  // The relocation keeps the name it was started with.
  EXPECT_EQ(RelocationSource(renamed, state), "db.example.com:5432");
  EXPECT_EQ(RelocationSource(renamed, RunState{}), "10.0.0.7:5432");
}

TEST(StateBelongsToConfig, WithoutTheSourcesIdentityAnotherNameIsRefused) {
  const RunState state = StateOf("db.example.com", false);
  Status st = StateBelongsToConfig(ConfigFor("10.0.0.7"), state);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("keep the address the relocation was started with"),
            std::string::npos)
      << st.message();
}

// A MySQL relocation started by a db_relocate that named its objects db_relocate: this one would
// not find them, so every command refuses it; PostgreSQL's states of format 3 go on.
TEST(StateBelongsToConfig, AMysqlStateOfAnEarlierFormatIsRefused) {
  RunState state = StateOf("db.example.com", true);
  Config config = ConfigFor("db.example.com");
  state.format = 3;
  EXPECT_TRUE(StateBelongsToConfig(config, state).ok());
  config.engine = EngineKind::kMysql;
  Status st = StateBelongsToConfig(config, state);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.is_bad_config());
  EXPECT_NE(st.message().find("Finish and clean it up with the db_relocate that started it"),
            std::string::npos)
      << st.message();
  state.format = kStateFormat;
  EXPECT_TRUE(StateBelongsToConfig(config, state).ok());
}

TEST(StateBelongsToConfig, ApplyWorkersStayWhatThePublicationsWereMadeWith) {
  RunState state = StateOf("db.example.com", true);
  Config config = ConfigFor("db.example.com");
  config.apply_workers = 3;
  EXPECT_TRUE(StateBelongsToConfig(config, state).ok());  // no publication yet: anything goes
  state.steps["publication"] = {true, 1.0, ""};           // made by a version without lanes
  Status st = StateBelongsToConfig(config, state);
  EXPECT_TRUE(st.is_bad_config());
  EXPECT_NE(st.message().find("put back apply_workers: 1"), std::string::npos) << st.message();
  state.apply_workers = 3;
  EXPECT_TRUE(StateBelongsToConfig(config, state).ok());
  config.apply_workers = 2;
  EXPECT_NE(StateBelongsToConfig(config, state).message().find("apply_workers is 2 in this config"),
            std::string::npos);
}

// A relocation's cloud resources were asked for with its upgrade.method: another one in the
// config cannot finish it.
TEST(StateBelongsToConfig, UpgradeMethodStaysTheOneTheCloudWasAskedWith) {
  RunState state = StateOf("db.example.com", true);
  Config config = ConfigFor("db.example.com");
  config.provider = Provider::kCloudSql;
  config.upgrade.method = UpgradeMethod::kClone;
  EXPECT_TRUE(StateBelongsToConfig(config, state).ok());  // nothing asked for yet
  state.cloudsql.method = "logical";
  Status st = StateBelongsToConfig(config, state);
  EXPECT_TRUE(st.is_bad_config());
  EXPECT_NE(st.message().find("upgrade.method is clone, and the relocation in state_dir state was "
                              "started with upgrade.method logical: put logical back"),
            std::string::npos)
      << st.message();
  config.upgrade.method = UpgradeMethod::kLogical;
  EXPECT_TRUE(StateBelongsToConfig(config, state).ok());

  config.provider = Provider::kRds;
  config.upgrade.method = UpgradeMethod::kSnapshot;
  EXPECT_TRUE(StateBelongsToConfig(config, state).ok());  // the RDS method: none recorded
  state.rds.method = "instance";
  EXPECT_TRUE(StateBelongsToConfig(config, state).is_bad_config());
}

TEST(StateBelongsToConfig, OtherDatabasesAreAnotherRelocation) {
  const RunState state = StateOf("db.example.com", true);
  for (const Config& other :
       {ConfigFor("10.0.0.7", "billing"), ConfigFor("db.example.com", "app", "app_v2")}) {
    EXPECT_FALSE(SourceRenamed(other, state));
    Status st = StateBelongsToConfig(other, state);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("give each relocation a state_dir of its own"), std::string::npos)
        << st.message();
  }
  EXPECT_TRUE(StateBelongsToConfig(ConfigFor("DB.example.com"), state).ok());
}

}  // namespace
}  // namespace dbr
