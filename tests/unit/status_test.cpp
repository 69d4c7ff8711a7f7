// The two printers of `status` on views built by hand: the lines a user reads and the keys
// scripts read.
#include <gtest/gtest.h>

#include <set>

#include "core/status_view.h"

namespace dbr {
namespace {

// What `status` shows before the first `run`: a fresh state, both servers answering.
StatusView Fresh() {
  StatusView v;
  v.state_dir = "/var/lib/dbr/shop";
  return v;
}

// `run` has started and is copying: some tables copied, the others not yet.
StatusView MidCopy() {
  StatusView v = Fresh();
  v.started = true;
  v.current_step = "snapshot";
  v.started_at = "2026-12-04T10:00:00Z";
  v.steps["preflight"] = {true, 1.5, "2026-12-04T10:00:02Z"};
  v.snapshot_lsn = "0/1A2B3C4";
  v.tables["\"public\".\"items\""] = {TableState::kCopied, 300, 65536, 0.2};
  v.tables["\"public\".\"orders\""] = {TableState::kPending, 0, 0, 0};
  v.tables["\"Sales Ops\".\"leads\""] = {TableState::kResync, 0, 0, 0};
  v.tables["\"public\".\"users\""] = {TableState::kCopied, 10, 8192, 0.1};
  v.notes = {"replica identity of public.events set to FULL"};
  return v;
}

// Replicating source to destination, behind, with the slot close to invalidation.
StatusView Replicating() {
  StatusView v = MidCopy();
  v.current_step = "replicating";
  for (auto& [name, table] : v.tables) table.state = TableState::kCopied;
  ReplicationHealth& h = v.replication;
  h.source_read = h.destination_read = true;
  h.slot_name = "db_relocate_slot_shop";
  h.subscription_name = "db_relocate_sub";
  h.slot_exists = h.slot_active = true;
  h.slot_wal_status = "extended";
  h.lag_bytes = 123456;
  h.retained_bytes = 3 * 1024 * 1024;
  h.safe_wal_bytes = 1024 * 1024;
  h.subscription_exists = h.subscription_enabled = h.apply_worker_running = true;
  h.apply_errors = 0;
  h.src_heartbeat_seq = 812;
  h.src_heartbeat_at = "2026-12-04 10:20:00.5+00";
  h.dst_heartbeat_seq = 800;
  h.dst_heartbeat_at = "2026-12-04 10:19:58.1+00";
  h.lag_seconds = 2.46;
  v.heartbeat_writer_pid = 4242;
  return v;
}

// After a cut-over: the destination takes the writes and replication runs back to the source.
StatusView AfterCutover() {
  StatusView v = Replicating();
  v.replication.safe_wal_bytes = -1;
  v.primary = Side::kDestination;
  v.switches.push_back({.to = Side::kDestination,
                        .stage = SwitchStage::kDone,
                        .started_at = "2026-12-04T11:00:00Z",
                        .finished_at = "2026-12-04T11:00:01Z",
                        .pause_ms = 412.6,
                        .marker = 900,
                        .lsn = "0/3000060",
                        .large_objects = {.compared = 12, .copied = 2, .removed = 1, .ms = 85.2}});
  return v;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
    lines.push_back(text.substr(start, end - start));
  EXPECT_EQ(start, text.size()) << "the text ends without a newline";
  return lines;
}

bool HasLine(const std::string& text, const std::string& line) {
  for (const auto& l : Lines(text))
    if (l == line) return true;
  return false;
}

std::set<std::string> Keys(const nlohmann::json& j) {
  std::set<std::string> keys;
  for (const auto& [key, value] : j.items()) keys.insert(key);
  return keys;
}

const std::set<std::string> kTopKeys = {"started",
                                        "state_dir",
                                        "current_step",
                                        "started_at",
                                        "steps",
                                        "snapshot_lsn",
                                        "tables",
                                        "replication",
                                        "heartbeat_writer_pid",
                                        "source_error",
                                        "destination_error",
                                        "notes",
                                        "primary",
                                        "replication_direction",
                                        "switches",
                                        "switch_in_progress"};

TEST(StatusText, FreshRelocationSaysNothingHasRun) {
  EXPECT_EQ(StatusText(Fresh()),
            "no relocation has run with this config yet (state: /var/lib/dbr/shop)\n"
            "step:            -\n"
            "tables:          -\n"
            "primary:         source (replication source -> destination)\n"
            "slot:            absent\n"
            "subscription:    absent\n"
            "lag:             -1 bytes, ? s\n"
            "heartbeat:       source #-1 (-), destination #-1 (-), writer not running\n");
}

TEST(StatusJson, FreshRelocationHasEveryKeyEmpty) {
  const nlohmann::json j = StatusJson(Fresh());
  EXPECT_EQ(Keys(j), kTopKeys);
  EXPECT_EQ(j["started"], false);
  EXPECT_EQ(j["state_dir"], "/var/lib/dbr/shop");
  EXPECT_EQ(j["current_step"], "");
  EXPECT_EQ(j["steps"], nlohmann::json::object());
  EXPECT_EQ(j["tables"], nlohmann::json::object());
  EXPECT_EQ(j["switches"], nlohmann::json::array());
  EXPECT_EQ(j["notes"], nlohmann::json::array());
  EXPECT_EQ(j["heartbeat_writer_pid"], 0);
  EXPECT_EQ(j["primary"], "src");
  EXPECT_EQ(j["replication_direction"], "src->dst");
  EXPECT_EQ(j["switch_in_progress"], "");
  EXPECT_EQ(Keys(j["replication"]),
            (std::set<std::string>{"lanes", "slot", "subscription", "heartbeat", "schema_drift"}));
  EXPECT_EQ(j["replication"]["slot"]["exists"], false);
  EXPECT_EQ(j["replication"]["schema_drift"], nlohmann::json::array());
}

TEST(StatusText, MidCopyCountsTablesByStateAndListsThoseNotCopied) {
  EXPECT_EQ(StatusText(MidCopy()),
            "step:            snapshot\n"
            "started:         2026-12-04T10:00:00Z\n"
            "snapshot LSN:    0/1A2B3C4\n"
            "tables:          2 copied, 1 pending, 1 resync\n"
            "  \"Sales Ops\".\"leads\"                      resync\n"
            "  \"public\".\"orders\"                        pending\n"
            "primary:         source (replication source -> destination)\n"
            "slot:            absent\n"
            "subscription:    absent\n"
            "lag:             -1 bytes, ? s\n"
            "heartbeat:       source #-1 (-), destination #-1 (-), writer not running\n"
            "note: replica identity of public.events set to FULL\n");
}

TEST(StatusJson, MidCopyHasEachTableAndStep) {
  const nlohmann::json j = StatusJson(MidCopy());
  EXPECT_EQ(Keys(j), kTopKeys);
  EXPECT_EQ(j["started"], true);
  EXPECT_EQ(j["current_step"], "snapshot");
  EXPECT_EQ(j["snapshot_lsn"], "0/1A2B3C4");
  EXPECT_EQ(
      j["steps"]["preflight"],
      (nlohmann::json{{"done", true}, {"seconds", 1.5}, {"finished_at", "2026-12-04T10:00:02Z"}}));
  EXPECT_EQ(j["tables"].size(), 4u);
  EXPECT_EQ(j["tables"]["\"public\".\"orders\""],
            (nlohmann::json{{"state", "pending"}, {"rows", 0}, {"bytes", 0}}));
  EXPECT_EQ(j["tables"]["\"public\".\"items\""]["rows"], 300);
  EXPECT_EQ(j["notes"][0], "replica identity of public.events set to FULL");
}

TEST(StatusText, ReplicatingShowsTheLagAndWarnsOfTheSlot) {
  const std::string text = StatusText(Replicating());
  EXPECT_TRUE(HasLine(text, "step:            replicating")) << text;
  EXPECT_TRUE(HasLine(text, "tables:          4 copied")) << text;
  EXPECT_TRUE(HasLine(text,
                      "slot:            present, active yes, wal_status extended, retains "
                      "3.0 MB"))
      << text;
  EXPECT_TRUE(HasLine(text,
                      "subscription:    present, enabled yes, apply worker running, 0 "
                      "tables syncing"))
      << text;
  EXPECT_TRUE(HasLine(text, "apply errors:    0")) << text;
  EXPECT_NE(text.find("WARNING:         the replication slot is close to invalidation: only "
                      "1048576 bytes"),
            std::string::npos)
      << text;
  EXPECT_TRUE(HasLine(text, "lag:             123456 bytes, 2.5 s")) << text;
  EXPECT_TRUE(HasLine(text,
                      "heartbeat:       source #812 (2026-12-04 10:20:00.5+00), destination #800 "
                      "(2026-12-04 10:19:58.1+00), writer running (pid 4242)"))
      << text;
}

TEST(StatusPrinters, SchemaDriftIsAWarningNamingThePrimaryAndTheFix) {
  StatusView v = Replicating();
  v.schema_drift.push_back({.table = "public.items",
                            .problem = "column price (numeric) exists on the source but not on "
                                       "the destination",
                            .fix = "ALTER TABLE public.items ADD COLUMN price numeric on the "
                                   "destination",
                            .stalls_apply = true});
  const std::string text = StatusText(v);
  EXPECT_TRUE(HasLine(text,
                      "WARNING:         schema changed on the source: table public.items: "
                      "column price (numeric) exists on the source but not on the "
                      "destination; fix: ALTER TABLE public.items ADD COLUMN price numeric "
                      "on the destination"))
      << text;
  const nlohmann::json drift = StatusJson(v)["replication"]["schema_drift"];
  ASSERT_EQ(drift.size(), 1u);
  EXPECT_EQ(Keys(drift[0]),
            (std::set<std::string>{"table", "problem", "fix", "stalls_apply", "not_replicated"}));
  EXPECT_EQ(drift[0]["stalls_apply"], true);
}

TEST(StatusJson, ReplicatingHasTheHealthOfTheLink) {
  const nlohmann::json j = StatusJson(Replicating());
  EXPECT_EQ(j["replication"]["slot"]["name"], "db_relocate_slot_shop");
  EXPECT_EQ(j["replication"]["slot"]["lag_bytes"], 123456);
  EXPECT_EQ(j["replication"]["slot"]["warning"], Replicating().replication.SlotWarning());
  EXPECT_EQ(j["replication"]["subscription"]["apply_errors"], 0);
  EXPECT_EQ(j["replication"]["heartbeat"]["source_seq"], 812);
  EXPECT_EQ(j["replication"]["heartbeat"]["lag_seconds"], 2.46);
  EXPECT_EQ(j["heartbeat_writer_pid"], 4242);
}

TEST(StatusText, AfterACutoverReplicationRunsBackFromTheDestination) {
  const std::string text = StatusText(AfterCutover());
  EXPECT_TRUE(HasLine(text, "primary:         destination (replication destination -> source)"))
      << text;
  EXPECT_TRUE(HasLine(text,
                      "  cut-over at 2026-12-04T11:00:01Z: write pause 413 ms (85 ms of it "
                      "comparing 12 large objects, 3 copied again)"))
      << text;
  EXPECT_EQ(text.find("WARNING"), std::string::npos) << text;
  EXPECT_NE(text.find("heartbeat:       destination #812 (2026-12-04 10:20:00.5+00), source #800"),
            std::string::npos)
      << text;
}

TEST(StatusJson, AfterACutoverNamesTheNewPrimaryAndTheSwitch) {
  const nlohmann::json j = StatusJson(AfterCutover());
  EXPECT_EQ(j["primary"], "dst");
  EXPECT_EQ(j["replication_direction"], "dst->src");
  ASSERT_EQ(j["switches"].size(), 1u);
  EXPECT_EQ(j["switches"][0], (nlohmann::json{{"to", "dst"},
                                              {"started_at", "2026-12-04T11:00:00Z"},
                                              {"finished_at", "2026-12-04T11:00:01Z"},
                                              {"pause_ms", 412.6},
                                              {"marker", 900},
                                              {"lsn", "0/3000060"},
                                              {"large_objects",
                                               {{"compared", 12},
                                                {"copied", 2},
                                                {"removed", 1},
                                                {"fixed", 0},
                                                {"bytes", 0},
                                                {"ms", 85.2}}},
                                              {"follow_up_pending", false}}));
  EXPECT_EQ(j["switch_in_progress"], "");
}

TEST(StatusPrinters, ASwitchWhoseFollowUpIsPendingIsAWarningToRunItAgain) {
  StatusView v = AfterCutover();
  EXPECT_EQ(StatusText(v).find("is not done"), std::string::npos);
  v.switches.back().follow_up_pending = true;
  const std::string text = StatusText(v);
  EXPECT_TRUE(HasLine(text,
                      "WARNING:         what follows the last cut-over (materialized views "
                      "refreshed, scheduled events moved) is not done: run `db_relocate cutover` "
                      "again"))
      << text;
  EXPECT_EQ(StatusJson(v)["switches"].back()["follow_up_pending"], true);
}

TEST(StatusPrinters, AnInterruptedSwitchIsAWarningToRunItAgain) {
  StatusView v = AfterCutover();
  v.unfinished_switch = SwitchRecord{.to = Side::kSource, .stage = SwitchStage::kPointing};
  const std::string text = StatusText(v);
  EXPECT_TRUE(HasLine(text,
                      "WARNING:         a rollback was interrupted (stage pointing): run "
                      "it again"))
      << text;
  EXPECT_EQ(StatusJson(v)["switch_in_progress"], "pointing");
}

TEST(StatusPrinters, AnUnreachableSideIsNamedWithItsError) {
  StatusView v = Replicating();
  v.destination_error = "connection to 10.0.0.2:5432 refused";
  v.replication = {};
  const std::string text = StatusText(v);
  EXPECT_TRUE(HasLine(text, "destination:     unreachable: connection to 10.0.0.2:5432 refused"))
      << text;
  EXPECT_EQ(text.find("source:          unreachable"), std::string::npos) << text;
  EXPECT_TRUE(HasLine(text, "slot:            absent")) << text;
  const nlohmann::json j = StatusJson(v);
  EXPECT_EQ(j["destination_error"], "connection to 10.0.0.2:5432 refused");
  EXPECT_EQ(j["source_error"], "");
}

TEST(StatusPrinters, AnRdsRelocationShowsItsSnapshotAndInstance) {
  StatusView v = MidCopy();
  v.rds = {.phase = RdsPhase::kWarm,
           .snapshot = "dbr-shop-1",
           .encrypted_snapshot = "dbr-shop-1-kms",
           .instance = "shop-pg17",
           .replicas = {"shop-pg17-r1", "shop-pg17-r2"},
           .dst_host = "shop-pg17.abc.eu-west-1.rds.amazonaws.com",
           .dst_port = 5432};
  const std::string text = StatusText(v);
  EXPECT_TRUE(HasLine(text, "RDS:             warm (snapshot dbr-shop-1, dbr-shop-1-kms)")) << text;
  EXPECT_TRUE(HasLine(text,
                      "RDS destination: shop-pg17 at shop-pg17.abc.eu-west-1.rds.amazonaws.com:5432"
                      ", 2 read replica(s)"))
      << text;
  const nlohmann::json j = StatusJson(v);
  std::set<std::string> keys = kTopKeys;
  keys.insert("rds");
  EXPECT_EQ(Keys(j), keys);
  EXPECT_EQ(j["rds"]["phase"], "warm");
  EXPECT_EQ(j["rds"]["instance"], "shop-pg17");
  EXPECT_EQ(j["rds"]["replicas"].size(), 2u);
}

TEST(StatusText, AnRdsSnapshotNotRestoredYetHasNoDestinationLine) {
  StatusView v = MidCopy();
  v.rds = {.phase = RdsPhase::kSnapshot, .snapshot = "dbr-shop-1"};
  const std::string text = StatusText(v);
  EXPECT_TRUE(HasLine(text, "RDS:             snapshot (snapshot dbr-shop-1)")) << text;
  EXPECT_EQ(text.find("RDS destination"), std::string::npos) << text;
}

TEST(StatusText, AnRdsInstanceUpgradeShowsItsHops) {
  StatusView v = MidCopy();
  v.rds = {.phase = RdsPhase::kUpgradeInstance,
           .method = "instance",
           .snapshot = "dbr-shop-1",
           .instance = "shop-pg15",
           .dst_host = "127.0.0.1",
           .dst_port = 5433,
           .hops = {"14.17", "15.19"},
           .instance_hops = {{"14.17", "2026-12-04T10:00:00Z", 754},
                             {"15.19", "2026-12-04T10:13:00Z", 0}}};
  const std::string text = StatusText(v);
  EXPECT_TRUE(
      HasLine(text, "RDS upgrade:     method instance: 14.17 done in 12m34s, 15.19 under way"))
      << text;
}

}  // namespace
}  // namespace dbr
