#include "model/run_state.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <sstream>

#include "unit/test_support.h"

namespace dbr {
namespace {

using unit_test::TempDir;

RunState Sample() {
  RunState s;
  s.source = "127.0.0.1:5432/app";
  s.destination_database = "app";
  s.current_step = "catchup";
  s.steps["preflight"] = {true, 1.5, "2026-12-04T10:00:00Z"};
  s.snapshot_phase = SnapshotPhase::kIndexes;
  s.tables["\"public\".\"a\""] = {TableState::kCopied, 10, 8192, 0.5};
  s.tables["\"public\".\"b\""] = {TableState::kResync, 0, 0, 0};
  s.rds.phase = RdsPhase::kLsn;
  s.rds.snapshot = "snap-1";
  s.primary = Side::kDestination;
  s.switching = SwitchRecord{.to = Side::kSource, .stage = SwitchStage::kPointing};
  s.switching->lifted_fence = {{"app", "off"}};
  s.switching->undo = UndoProgress::kOldSideBack;
  s.switches.push_back({.to = Side::kDestination, .stage = SwitchStage::kDone, .pause_ms = 90});
  s.switches.back().large_objects = {
      .compared = 4, .copied = 2, .removed = 1, .bytes = 3145728, .ms = 21.5};
  s.switches.back().follow_up_pending = true;
  s.fenced[Side::kSource] = {{"app", ""}};
  s.replication_user_before[Side::kSource] = {
      .role = "upgrade", .existed = true, .comment = "the DBA's"};
  s.replication_user_before[Side::kDestination] = {.role = "upgrade", .existed = false};
  s.servers[Side::kSource] = {"7446412011183213717", 16384};
  s.servers[Side::kDestination] = {"", 16390};
  s.snapshot_slot = "db_relocate_slot_app";
  s.schema_lsn = "0/1A2B3C4";
  return s;
}

TEST(RunState, EveryTypedFieldSurvivesAWriteAndARead) {
  TempDir tmp;
  StateStore store(tmp.path());
  ASSERT_TRUE(store.Save(Sample()).ok());
  auto back = store.Load();
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(back->snapshot_phase, SnapshotPhase::kIndexes);
  EXPECT_EQ(back->tables.at("\"public\".\"a\"").state, TableState::kCopied);
  EXPECT_EQ(back->tables.at("\"public\".\"b\"").state, TableState::kResync);
  EXPECT_EQ(back->rds.phase, RdsPhase::kLsn);
  EXPECT_EQ(back->primary, Side::kDestination);
  ASSERT_TRUE(back->switching.has_value());
  EXPECT_EQ(back->switching->to, Side::kSource);
  EXPECT_EQ(back->switching->stage, SwitchStage::kPointing);
  ASSERT_EQ(back->switching->lifted_fence.size(), 1u);
  EXPECT_EQ(back->switching->lifted_fence[0].role, "app");
  EXPECT_EQ(back->switching->lifted_fence[0].previous, "off");
  EXPECT_EQ(back->switching->undo, UndoProgress::kOldSideBack);
  ASSERT_EQ(back->switches.size(), 1u);
  EXPECT_TRUE(back->switches[0].lifted_fence.empty());  // absent: none
  EXPECT_EQ(back->switches[0].undo, UndoProgress::kNone);
  EXPECT_EQ(back->switches[0].stage, SwitchStage::kDone);
  EXPECT_EQ(back->switches[0].large_objects, Sample().switches[0].large_objects);
  EXPECT_TRUE(back->switches[0].follow_up_pending);
  EXPECT_FALSE(back->switching->follow_up_pending);  // absent: none
  EXPECT_EQ(back->switching->large_objects, LargeObjectSync{});  // absent: none
  ASSERT_EQ(back->fenced.count(Side::kSource), 1u);
  EXPECT_EQ(back->fenced.at(Side::kSource)[0].role, "app");
  EXPECT_EQ(back->replication_user_before, Sample().replication_user_before);
  EXPECT_EQ(back->servers, Sample().servers);
  EXPECT_EQ(back->snapshot_slot, "db_relocate_slot_app");
  EXPECT_EQ(back->schema_lsn, "0/1A2B3C4");
  EXPECT_EQ(back->format, kStateFormat);
}

TEST(RunState, IsWrittenByTheNamesEarlierVersionsWrote) {
  const nlohmann::json j = Sample().ToJson();
  EXPECT_EQ(j["format"], kStateFormat);
  EXPECT_EQ(j["primary"], "dst");
  EXPECT_EQ(j["snapshot_phase"], "indexes");
  EXPECT_EQ(j["tables"]["\"public\".\"b\""]["state"], "resync");
  EXPECT_EQ(j["rds"]["phase"], "lsn");
  EXPECT_EQ(j["switching"]["to"], "src");
  EXPECT_EQ(j["switching"]["stage"], "pointing");
  EXPECT_TRUE(j["fenced"].contains("src"));
  // A system_identifier is an unsigned 64-bit number: kept as text.
  EXPECT_EQ(j["servers"]["src"]["system_identifier"], "7446412011183213717");
  EXPECT_EQ(j["servers"]["dst"]["database_oid"], 16390);
  EXPECT_EQ(RunState{}.ToJson()["snapshot_phase"], "");
}

TEST(RunState, AStateWithoutAFormatIsReadAsTheFirstOne) {
  TempDir tmp;
  tmp.Write("state.json",
            R"({"current_step": "snapshot", "primary": "src", "snapshot_phase": "rows",
                "tables": {"t": {"state": "pending"}}})");
  auto s = StateStore(tmp.path()).Load();
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(s->snapshot_phase, SnapshotPhase::kRows);
  EXPECT_EQ(s->tables.at("t").state, TableState::kPending);
  // Written before the replication user was recorded: nothing is known of it.
  EXPECT_TRUE(s->replication_user_before.empty());
  EXPECT_EQ(s->format, 1);
}

// Format 1 recorded no identity of the servers: it reads as "not recorded" (recorded at the
// next contact, engine/server_identity.h), and is written back as the current format.
TEST(RunState, AFormatOneStateHasNoIdentityAndIsWrittenBackAsTheCurrentFormat) {
  TempDir tmp;
  tmp.Write("state.json", R"({"format": 1, "source": "127.0.0.1:5432/app", "steps": {}})");
  StateStore store(tmp.path());
  auto s = store.Load();
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(s->format, 1);
  EXPECT_TRUE(s->servers.empty());
  EXPECT_EQ(s->snapshot_slot, "");
  EXPECT_EQ(s->schema_lsn, "");
  ASSERT_TRUE(store.Save(*s).ok());
  auto again = store.Load();
  ASSERT_TRUE(again.ok()) << again.message();
  EXPECT_EQ(again->format, kStateFormat);
  EXPECT_EQ(kStateFormat, 4);
}

TEST(RunState, ANewerFormatIsRefusedNamingBothVersions) {
  TempDir tmp;
  tmp.Write("state.json", fmt::format(R"({{"format": {}}})", kStateFormat + 1));
  auto s = StateStore(tmp.path()).Load();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("newer db_relocate"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(std::to_string(kStateFormat + 1)), std::string::npos);
}

TEST(RunState, AnUnknownNameOrAWrongTypeIsADamagedStateNotACrash) {
  TempDir tmp;
  for (const char* text :
       {R"({"primary": "replica"})", R"({"switching": {"to": "dst", "stage": "halfway"}})",
        R"({"tables": {"t": {"state": 3}}})", R"({"steps": {"x": 1}})",
        R"({"fenced": {"elsewhere": [{"role": "app"}]}})"}) {
    tmp.Write("state.json", text);
    auto s = StateStore(tmp.path()).Load();
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_NE(s.message().find("is damaged"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("state.json"), std::string::npos) << s.message();
  }
  tmp.Write("state.json", R"({"primary": "replica"})");
  EXPECT_NE(StateStore(tmp.path()).Load().message().find("unknown side \"replica\""),
            std::string::npos);
}

TEST(EnumNames, PrintAndParseByName) {
  EXPECT_EQ(fmt::format("{}", SwitchStage::kUndoing), "undoing");
  std::ostringstream out;
  out << Side::kDestination;
  EXPECT_EQ(out.str(), "dst");
  EXPECT_EQ(FromName<RdsPhase>("warm"), RdsPhase::kWarm);
  EXPECT_FALSE(FromName<RdsPhase>("tepid").has_value());
  EXPECT_EQ(Other(Side::kSource), Side::kDestination);
  EXPECT_STREQ(SideName(Side::kDestination), "destination");
  EXPECT_STREQ(SwitchName(Side::kSource), "rollback");
  EXPECT_STREQ(SwitchCommand(Side::kDestination), "cutover");
}

}  // namespace
}  // namespace dbr
