#include "pg/recovery_log.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "unit/test_support.h"

namespace dbr::pg {
namespace {

using std::chrono::system_clock;

const std::filesystem::path kFixtures = unit_test::SourceDir() / "tests/unit/data/recovery_logs";

std::string ReadFixture(const std::string& name) {
  std::ifstream in(kFixtures / name, std::ios::binary);
  EXPECT_TRUE(in.good()) << (kFixtures / name);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Lsn L(const char* text) {
  auto lsn = Lsn::Parse(text);
  EXPECT_TRUE(lsn.has_value()) << text;
  return lsn.value_or(Lsn());
}

const Lsn kMin(0);
const Lsn kMax(UINT64_MAX);

Result<Lsn> ChooseUnbounded(std::string_view text) {
  return ChooseSnapshotLsn(FindRecoveryEnds(text), kMin, kMax, std::nullopt, std::nullopt);
}

// The ground truth of tests/tools/capture-recovery-logs.sh: on the source, a copy of a logical
// slot created before the load was advanced to the LSN and the first row it decoded was the first
// row missing from the restored copy (every row up to `rows` present, none after). Also listed:
// LSNs of the same log that the experiment proved WRONG.
struct Fixture {
  const char* file;
  const char* expected;  // the exact end
  const char* form;
  int rows;  // rows 1..rows present on the restored copy
  std::vector<const char*> wrong;
};

const std::vector<Fixture> kFixtureTable = {
    // crash = SIGSTOP + cp -a + SIGCONT with synchronous_commit = on: "invalid record length at X"
    // is exact, "redo done at Z" is the start of the last commit (first row decoded after Z: the
    // last row present again).
    {"pg13_crash.log", "0/184E450", "invalid record length", 14843, {"0/184E420"}},
    {"pg14_crash.log", "0/19A10E8", "invalid record length", 15746, {"0/19A10B8"}},
    {"pg15_crash.log", "0/175CE00", "invalid record length", 13798, {"0/175CDD0"}},
    {"pg16_crash.log", "0/170F370", "invalid record length", 12810, {"0/170F340"}},
    {"pg17_crash.log", "0/16F3250", "invalid record length", 12285, {"0/16F3220"}},
    {"pg18_crash.log", "0/17E92D0", "invalid record length", 3563, {"0/17E92A0"}},
    // crash_async = the same with synchronous_commit = off: the WAL ends at a page boundary, the
    // log names only the page; "redo done at Z" + 1 is exact. PG15, 17, 18: the page was WRONG
    // (the commit of the first missing row began before it, on the previous page, and was cut:
    // advancing there would have lost that row; e.g. PG15 row 25200 at page 0/194E000). PG16:
    // Z itself was wrong (Z was that commit).
    {"pg13_crash_async.log", "0/19ABFB1", "redo done at Z, + 1", 22863, {}},
    {"pg14_crash_async.log", "0/1B4BFA9", "redo done at Z, + 1", 25536, {}},
    {"pg15_crash_async.log", "0/194DFB9", "redo done at Z, + 1", 25199, {"0/194E000"}},
    {"pg16_crash_async.log", "0/18B1FB1", "redo done at Z, + 1", 22411, {"0/18B1FB0"}},
    {"pg17_crash_async.log", "0/18C9FB1", "redo done at Z, + 1", 23085, {"0/18CA000"}},
    {"pg18_crash_async.log", "0/1885FA1", "redo done at Z, + 1", 7158, {"0/1886000"}},
    // backup = pg_basebackup -X stream -c fast (13-15): no end-of-WAL error line; replay ends at
    // pg_backup_stop's XLOG_SWITCH (the next segment is absent): "redo done at Z" + 1.
    {"pg13_backup.log", "0/2039169", "redo done at Z, + 1", 28886, {"0/2000F48"}},
    {"pg14_backup.log", "0/204AC71", "redo done at Z, + 1", 31549, {"0/20000D8"}},
    {"pg15_backup.log", "0/202E6C9", "redo done at Z, + 1", 31351, {"0/2001F18"}},
    // 16-18: pg_backup_start / tar / pg_backup_stop / backup_label + the WAL segments up to the
    // stop LSN's (Debian's pg_basebackup 15 refuses newer servers). Same shape.
    {"pg16_backup.log", "0/20E41B1", "redo done at Z, + 1", 32068, {"0/20028D0"}},
    {"pg17_backup.log", "0/20CF7B9", "redo done at Z, + 1", 33333, {"0/2000658"}},
    {"pg18_backup.log", "0/22539A1", "redo done at Z, + 1", 21571, {"0/2002400"}},
};

TEST(RecoveryLog, EveryFixtureYieldsTheMeasuredExactEnd) {
  for (const Fixture& f : kFixtureTable) {
    SCOPED_TRACE(f.file);
    const std::string text = ReadFixture(f.file);
    ASSERT_FALSE(text.empty());
    const auto found = FindRecoveryEnds(text);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].lsn, L(f.expected)) << found[0].lsn.ToString();
    EXPECT_EQ(found[0].form, f.form);
    EXPECT_NE(found[0].line.find(f.form == std::string("invalid record length")
                                     ? "invalid record length at"
                                     : "redo done at"),
              std::string::npos);
    EXPECT_EQ(found[0].timestamp.size(), std::string("2026-12-02 00:59:29 UTC").size())
        << found[0].timestamp;
    EXPECT_TRUE(ParseLogTimestamp(found[0].timestamp).has_value());
    for (const char* wrong : f.wrong) EXPECT_NE(found[0].lsn, L(wrong));

    auto chosen =
        ChooseSnapshotLsn(found, L("0/1000000"), L("0/4000000"), std::nullopt, std::nullopt);
    ASSERT_TRUE(chosen.ok()) << chosen.message();
    EXPECT_EQ(*chosen, L(f.expected));
  }
}

// Cloud SQL's log_line_prefix, '%m [%p]: [%l-1] db=%d,user=%u ', as its PostgreSQL log reaches
// Cloud Logging (textPayload): every fixture, its lines so prefixed, gives the same end.
TEST(RecoveryLog, CloudSqlLinesAsCloudLoggingHoldsThem) {
  const std::regex rds_prefix(R"(^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC::@:\[(\d+)\]:(.*)$)");
  for (const Fixture& f : kFixtureTable) {
    SCOPED_TRACE(f.file);
    std::istringstream in(ReadFixture(f.file));
    std::string text;
    int n = 0;
    for (std::string line; std::getline(in, line);) {
      std::smatch m;
      if (std::regex_match(line, m, rds_prefix))
        line = m[1].str() + ".123 UTC [" + m[2].str() + "]: [" + std::to_string(++n) +
               "-1] db=,user= " + m[3].str();
      text += line + "\n";
    }
    ASSERT_GT(n, 10);  // the fixture's lines were re-prefixed
    const auto found = FindRecoveryEnds(text);
    ASSERT_EQ(found.size(), 1u) << text.substr(0, 400);
    EXPECT_EQ(found[0].lsn, L(f.expected)) << found[0].lsn.ToString();
    EXPECT_TRUE(ParseLogTimestamp(found[0].timestamp).has_value()) << found[0].timestamp;
  }
}

TEST(RecoveryLog, RealNotesLinesWithoutPrefix) {
  // ../shared/notes/recovery-logs.md, PostgreSQL 15.18 and 17.10 crash recovery (no prefix).
  const std::string pg15 =
      "LOG:  redo starts at 0/1501130\n"
      "LOG:  invalid record length at 0/1B87690: wanted 24, got 0\n"
      "LOG:  redo done at 0/1B86F88 system usage: CPU: user: 0.05 s, system: 0.01 s, elapsed: "
      "0.06 s\n"
      "LOG:  database system is ready to accept connections\n";
  const std::string pg17 =
      "LOG:  redo starts at 0/14D94E8\n"
      "LOG:  invalid record length at 0/1B60178: expected at least 24, got 0\n"
      "LOG:  redo done at 0/1B5FA58 system usage: CPU: user: 0.04 s, system: 0.00 s, elapsed: "
      "0.05 s\n";
  auto a = FindRecoveryEnds(pg15);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].lsn, L("0/1B87690"));
  EXPECT_EQ(a[0].timestamp, "");
  auto b = FindRecoveryEnds(pg17);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].lsn, L("0/1B60178"));
}

TEST(RecoveryLog, EveryRecordStartFormNamesItsRecord) {
  const std::string p = "2026-12-02 01:02:03 UTC::@:[12345]:LOG:  ";
  struct Case {
    std::string message;
    const char* lsn;
    const char* form;
  };
  const std::vector<Case> cases = {
      {"invalid record length at 0/1B87690: wanted 24, got 0", "0/1B87690",
       "invalid record length"},
      {"invalid record length at 1A/B87690: expected at least 24, got 0", "1A/B87690",
       "invalid record length"},
      {"record with incorrect prev-link 0/1B00000 at 0/1B87690", "0/1B87690",
       "record with incorrect prev-link"},
      {"invalid resource manager ID 112 at 0/1B87690", "0/1B87690", "invalid resource manager ID"},
      {"record length 4294967295 at 0/1B87690 too long", "0/1B87690", "record length too long"},
      {"incorrect resource manager data checksum in record at 0/1B87690", "0/1B87690",
       "incorrect resource manager data checksum"},
      {"record with invalid length at 0/1B87690", "0/1B87690", "record with invalid length"},
      {"invalid record offset at 0/1B87690: expected at least 24, got 0", "0/1B87690",
       "invalid record offset"},
      {"invalid record offset at 0/1B87690", "0/1B87690", "invalid record offset"},
      {"there is no contrecord flag at 0/1B87690", "0/1B87690", "there is no contrecord flag"},
      {"invalid contrecord length 100 at 0/1B87690", "0/1B87690", "invalid contrecord length"},
      {"invalid contrecord length 100 (expected 200) at 0/1B87690", "0/1B87690",
       "invalid contrecord length"},
      {"contrecord is requested by 0/1B87690", "0/1B87690", "contrecord is requested by"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    const std::string text = p + "redo starts at 0/1000028\n" + p + c.message + "\n" + p +
                             "redo done at 0/1B87000 system usage: CPU: user: 0.05 s\n";
    auto found = FindRecoveryEnds(text);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].lsn, L(c.lsn));
    EXPECT_EQ(found[0].form, c.form);
    EXPECT_EQ(found[0].timestamp, "2026-12-02 01:02:03 UTC");
    EXPECT_EQ(found[0].line, p + c.message);
  }
}

TEST(RecoveryLog, RedoDoneIsTheStartOfTheLastRecordSoTheEndIsOneAfterIt) {
  // Only "redo done at Z": Z itself must never be returned (it would replay Z's transaction).
  auto found = FindRecoveryEnds("LOG:  redo starts at 0/3000028\nLOG:  redo done at 0/3000100\n");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].lsn, L("0/3000101"));
  EXPECT_NE(found[0].lsn, L("0/3000100"));
  EXPECT_EQ(found[0].form, "redo done at Z, + 1");
  // "consistent recovery state reached at" / "completed backup recovery ... end LSN" are not ends.
  auto backup = FindRecoveryEnds(
      "LOG:  starting backup recovery with redo LSN 0/3000028, checkpoint LSN 0/3000060, on "
      "timeline ID 1\n"
      "LOG:  redo starts at 0/3000028\n"
      "LOG:  completed backup recovery with redo LSN 0/3000028 and end LSN 0/3000100\n"
      "LOG:  consistent recovery state reached at 0/3000100\n"
      "LOG:  redo done at 0/3000150 system usage: CPU: user: 0.00 s\n");
  ASSERT_EQ(backup.size(), 1u);
  EXPECT_EQ(backup[0].lsn, L("0/3000151"));
}

TEST(RecoveryLog, PageLevelEndsAreNotTakenRedoDonePlusOneIs) {
  // PG15 measured: the page 0/194E000 is wrong, redo done + 1 is exact.
  const std::string text = ReadFixture("pg15_crash_async.log");
  ASSERT_NE(text.find("invalid magic number 0000 in log segment 000000010000000000000001, "
                      "offset 9756672"),
            std::string::npos);
  auto found = FindRecoveryEnds(text);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].lsn, L("0/194DFB9"));
  for (const char* line :
       {"LOG:  unexpected pageaddr 0/1000000 in WAL segment 000000010000000000000003, LSN "
        "0/3002000, offset 8192\n",
        "LOG:  invalid magic number 0000 in WAL segment 000000010000000000000003, LSN 0/3002000, "
        "offset 8192\n",
        "LOG:  invalid info bits 0004 in log segment 000000010000000000000003, offset 8192\n",
        "LOG:  could not read from WAL segment 000000010000000000000003, LSN 0/3002000, offset "
        "8192: read 0 of 8192\n",
        "LOG:  successfully skipped missing contrecord at 0/3001FF0, overwritten at 2026-12-02 "
        "01:02:03 UTC\n",
        "LOG:  consistent recovery state reached at 0/3001FF0\n",
        "LOG:  checkpoint complete: wrote 1 buffers; lsn=0/3002018, redo lsn=0/3002018\n"}) {
    SCOPED_TRACE(line);
    EXPECT_TRUE(FindRecoveryEnds(line).empty());
    auto found2 = FindRecoveryEnds(std::string("LOG:  redo starts at 0/3000028\n") + line +
                                   "LOG:  redo done at 0/3001FC0\n");
    ASSERT_EQ(found2.size(), 1u);
    EXPECT_EQ(found2[0].lsn, L("0/3001FC1"));
  }
}

TEST(RecoveryLog, ARecordStartLineThatReplayWentPastIsNotTheEnd) {
  // Standby-like: an end-of-WAL line at 0/3000200, then more WAL arrived and replay went on.
  auto found = FindRecoveryEnds(
      "LOG:  redo starts at 0/3000028\n"
      "LOG:  invalid record length at 0/3000200: wanted 24, got 0\n"
      "LOG:  invalid record length at 0/3009000: wanted 24, got 0\n"
      "LOG:  redo done at 0/3008F00\n");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].lsn, L("0/3009000"));
  found = FindRecoveryEnds(
      "LOG:  redo starts at 0/3000028\n"
      "LOG:  invalid record length at 0/3000200: wanted 24, got 0\n"
      "LOG:  redo done at 0/3008F00\n");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].lsn, L("0/3008F01"));
}

TEST(RecoveryLog, ARunWithoutRedoDoneKeepsItsRecordStartLines) {
  auto found = FindRecoveryEnds(
      "LOG:  redo starts at 0/3000028\n"
      "LOG:  invalid record length at 0/3000200: wanted 24, got 0\n");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].lsn, L("0/3000200"));
}

TEST(RecoveryLog, SeveralRunsOneInBounds) {
  // The restored instance recovered twice: from the snapshot, then after a later crash of its own.
  const std::string text = ReadFixture("pg15_crash.log") + ReadFixture("pg13_backup.log") +
                           "2026-12-02 02:00:00 UTC::@:[999]:LOG:  redo starts at 5/10\n"
                           "2026-12-02 02:00:00 UTC::@:[999]:LOG:  invalid record length at "
                           "5/2000: expected at least 24, got 0\n"
                           "2026-12-02 02:00:00 UTC::@:[999]:LOG:  redo done at 5/1F00\n";
  auto found = FindRecoveryEnds(text);
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].lsn, L("0/175CE00"));
  EXPECT_EQ(found[1].lsn, L("0/2039169"));
  EXPECT_EQ(found[2].lsn, L("5/2000"));
  auto chosen =
      ChooseSnapshotLsn(found, L("0/1700000"), L("0/1800000"), std::nullopt, std::nullopt);
  ASSERT_TRUE(chosen.ok()) << chosen.message();
  EXPECT_EQ(*chosen, L("0/175CE00"));
  chosen = ChooseSnapshotLsn(found, L("0/2000000"), L("1/0"), std::nullopt, std::nullopt);
  ASSERT_TRUE(chosen.ok()) << chosen.message();
  EXPECT_EQ(*chosen, L("0/2039169"));
  // Bounds that hold two: an error listing both with their lines, and naming the third's reason.
  chosen = ChooseSnapshotLsn(found, L("0/1000000"), L("1/0"), std::nullopt, std::nullopt);
  ASSERT_FALSE(chosen.ok());
  EXPECT_NE(chosen.message().find("2 different end-of-recovery positions"), std::string::npos);
  EXPECT_NE(chosen.message().find("0/175CE00 (invalid record length) <- 2026-12-02"),
            std::string::npos)
      << chosen.message();
  EXPECT_NE(chosen.message().find("0/2039169 (redo done at Z, + 1) <- "), std::string::npos);
  EXPECT_NE(chosen.message().find("redo done at 0/2039168"), std::string::npos);
  EXPECT_NE(chosen.message().find("5/2000 (invalid record length): after the upper bound 1/0"),
            std::string::npos)
      << chosen.message();
}

TEST(RecoveryLog, TheSameLsnTwiceIsOneCandidate) {
  const std::string run =
      "LOG:  redo starts at 0/1000028\nLOG:  invalid record length at 0/1B87690: wanted 24, got "
      "0\nLOG:  redo done at 0/1B86F88\n";
  auto found = FindRecoveryEnds(run + run);
  ASSERT_EQ(found.size(), 2u);
  auto chosen = ChooseSnapshotLsn(found, kMin, kMax, std::nullopt, std::nullopt);
  ASSERT_TRUE(chosen.ok()) << chosen.message();
  EXPECT_EQ(*chosen, L("0/1B87690"));
}

TEST(RecoveryLog, OutOfBoundsIsAnError) {
  auto found = FindRecoveryEnds(ReadFixture("pg14_crash.log"));
  auto chosen =
      ChooseSnapshotLsn(found, L("0/1A00000"), L("0/2000000"), std::nullopt, std::nullopt);
  ASSERT_FALSE(chosen.ok());
  EXPECT_NE(chosen.message().find("no end-of-recovery position"), std::string::npos);
  EXPECT_NE(chosen.message().find("0/19A10E8 (invalid record length): before the lower bound "
                                  "0/1A00000 <- "),
            std::string::npos)
      << chosen.message();
  chosen = ChooseSnapshotLsn(found, L("0/1000000"), L("0/19A10E7"), std::nullopt, std::nullopt);
  ASSERT_FALSE(chosen.ok());
  EXPECT_NE(chosen.message().find("after the upper bound 0/19A10E7"), std::string::npos);
  // Inclusive bounds.
  chosen = ChooseSnapshotLsn(found, L("0/19A10E8"), L("0/19A10E8"), std::nullopt, std::nullopt);
  ASSERT_TRUE(chosen.ok()) << chosen.message();
}

TEST(RecoveryLog, NoLineIsAnErrorNeverAGuess) {
  for (const char* text :
       {"", "\n\n",
        "2026-12-02 01:02:03 UTC::@:[1]:LOG:  database system is ready to accept "
        "connections\n",
        "LOG:  redo starts at 0/1000028\nLOG:  redo is not required\n"}) {
    auto found = FindRecoveryEnds(text);
    EXPECT_TRUE(found.empty());
    auto chosen = ChooseSnapshotLsn(found, kMin, kMax, std::nullopt, std::nullopt);
    ASSERT_FALSE(chosen.ok());
    EXPECT_NE(chosen.message().find("names no end of recovery"), std::string::npos);
    EXPECT_NE(chosen.message().find("will not guess"), std::string::npos);
  }
}

TEST(RecoveryLog, TimestampsFilterCandidates) {
  auto tp = [](const char* text) {
    auto t = ParseLogTimestamp(text);
    EXPECT_TRUE(t.has_value()) << text;
    return t.value_or(system_clock::time_point());
  };
  const std::string text =
      "2026-12-02 01:00:00 UTC::@:[1]:LOG:  invalid record length at 0/1000100: wanted 24, got 0\n"
      "2026-12-02 02:00:00 UTC::@:[2]:LOG:  invalid record length at 0/1000200: wanted 24, got 0\n"
      "2026-12-02 03:00:00 CET::@:[3]:LOG:  invalid record length at 0/1000300: wanted 24, got 0\n";
  auto found = FindRecoveryEnds(text);
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[2].timestamp, "2026-12-02 03:00:00 CET");
  // Window around 02:00 keeps the second, and the third whose zone is unparseable.
  auto chosen = ChooseSnapshotLsn(found, kMin, kMax, tp("2026-12-02 01:30:00 UTC"),
                                  tp("2026-12-02 02:30:00 UTC"));
  ASSERT_FALSE(chosen.ok());
  EXPECT_NE(chosen.message().find("0/1000100 (invalid record length): logged before the restore"),
            std::string::npos)
      << chosen.message();
  EXPECT_NE(chosen.message().find("(0/1000200, 0/1000300)"), std::string::npos) << chosen.message();
  std::vector<RecoveryEnd> two(found.begin(), found.begin() + 2);
  chosen = ChooseSnapshotLsn(two, kMin, kMax, tp("2026-12-02 01:30:00 UTC"), std::nullopt);
  ASSERT_TRUE(chosen.ok()) << chosen.message();
  EXPECT_EQ(*chosen, L("0/1000200"));
  chosen = ChooseSnapshotLsn(two, kMin, kMax, std::nullopt, tp("2026-12-02 01:30:00 UTC"));
  ASSERT_TRUE(chosen.ok()) << chosen.message();
  EXPECT_EQ(*chosen, L("0/1000100"));
  // One-second resolution: a line printed 02:00:00 was written in [02:00:00, 02:00:01).
  chosen = ChooseSnapshotLsn(two, kMin, kMax, tp("2026-12-02 02:00:00.700 UTC"),
                             tp("2026-12-02 02:00:00.900 UTC"));
  ASSERT_TRUE(chosen.ok()) << chosen.message();
  EXPECT_EQ(*chosen, L("0/1000200"));
}

TEST(RecoveryLog, ParsesLogTimestamps) {
  using namespace std::chrono;
  const auto base = sys_days(year{2026} / 12 / 2) + hours(1) + minutes(2) + seconds(3);
  EXPECT_EQ(ParseLogTimestamp("2026-12-02 01:02:03 UTC"), base);
  EXPECT_EQ(ParseLogTimestamp("2026-12-02 01:02:03 GMT"), base);
  EXPECT_EQ(ParseLogTimestamp("2026-12-02 01:02:03.250 UTC"), base + milliseconds(250));
  EXPECT_EQ(ParseLogTimestamp("2026-12-02 06:32:03 +0530"), base);
  EXPECT_EQ(ParseLogTimestamp("2026-12-02 06:32:03 +05:30"), base);
  EXPECT_EQ(ParseLogTimestamp("2026-12-02 03:02:03 +02"), base);
  EXPECT_EQ(ParseLogTimestamp("2026-12-01 21:32:03 -0330"), base);
  for (const char* bad :
       {"", "2026-12-02 01:02:03", "2026-12-02 01:02:03 CET", "2026-13-02 01:02:03 UTC",
        "2026-02-30 01:02:03 UTC", "2026-12-02 25:02:03 UTC", "2026-12-02 01:02:03 +5", "garbage",
        // Found by tests/fuzz/fuzz_recovery_log: years system_clock's
        // nanoseconds cannot hold overflowed (undefined behaviour).
        "2626-12-02 00:59:21 UTC", "9999-12-31 23:59:59 UTC", "0001-01-01 00:00:00 UTC"}) {
    EXPECT_FALSE(ParseLogTimestamp(bad).has_value()) << bad;
  }
  // Extracted from a line with other prefixes (%m, and a pid first).
  auto found = FindRecoveryEnds(
      "2026-12-02 01:02:03.456 UTC [77] LOG:  invalid record length at 0/10: wanted 24, got 0\n"
      "[77] 2026-12-02 01:02:03 +05:30::LOG:  invalid record length at 0/20: wanted 24, got 0\n");
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].timestamp, "2026-12-02 01:02:03.456 UTC");
  EXPECT_EQ(found[1].timestamp, "2026-12-02 01:02:03 +05:30");
}

TEST(RecoveryLog, LinesSplitAcrossDownloadedPagesAreFoundInTheConcatenation) {
  // DownloadDBLogFilePortion pages end anywhere; the caller concatenates them.
  for (const char* file : {"pg13_crash.log", "pg15_backup.log", "pg15_crash_async.log"}) {
    SCOPED_TRACE(file);
    const std::string text = ReadFixture(file);
    const auto whole = FindRecoveryEnds(text);
    ASSERT_EQ(whole.size(), 1u);
    for (size_t page : {1u, 7u, 64u, 333u, 1000u, 4096u}) {
      std::vector<std::string> pages;
      for (size_t at = 0; at < text.size(); at += page) pages.push_back(text.substr(at, page));
      std::string joined;
      for (const std::string& p : pages) joined += p;
      const auto again = FindRecoveryEnds(joined);
      ASSERT_EQ(again.size(), 1u) << page;
      EXPECT_EQ(again[0].lsn, whole[0].lsn);
      EXPECT_EQ(again[0].line, whole[0].line);
    }
  }
  // A page that ends inside the LSN must not yield a shortened one.
  const std::string line = "2026-12-02 01:02:03 UTC::@:[1]:LOG:  redo done at 0/1B87690\n";
  const size_t cut = line.find("0/1B87") + 6;
  EXPECT_TRUE(FindRecoveryEnds(line.substr(0, cut)).empty());
  const auto joined = FindRecoveryEnds(line.substr(0, cut) + line.substr(cut));
  ASSERT_EQ(joined.size(), 1u);
  EXPECT_EQ(joined[0].lsn, L("0/1B87691"));
  const std::string irl = "LOG:  invalid record length at 0/1B87690: wanted 24, got 0\n";
  EXPECT_TRUE(FindRecoveryEnds(irl.substr(0, irl.find("0/1B87") + 6)).empty());
  EXPECT_TRUE(FindRecoveryEnds(irl.substr(0, irl.size() - 1)).empty());  // no '\n' yet
  EXPECT_EQ(FindRecoveryEnds(irl).size(), 1u);
}

TEST(RecoveryLog, EveryMatchOnEveryLine) {
  // Two messages glued on one line (e.g. a lost newline): both are found, in order.
  auto found = FindRecoveryEnds(
      "LOG:  invalid record length at 0/10: wanted 24, got 0 LOG:  invalid record length at "
      "0/20: wanted 24, got 0\r\n");
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].lsn, L("0/10"));
  EXPECT_EQ(found[1].lsn, L("0/20"));
}

TEST(RecoveryLog, GarbageHugeAndBinaryInputDoesNotCrash) {
  std::mt19937 rng(42);
  std::string binary(4 << 20, '\0');
  for (char& c : binary) c = static_cast<char>(rng());
  EXPECT_NO_FATAL_FAILURE(FindRecoveryEnds(binary));
  // Binary around a real line still finds it; NUL bytes in lines are fine.
  std::string mixed = binary.substr(0, 1000) +
                      "\nLOG:  invalid record length at 0/1B87690: "
                      "wanted 24, got 0\n" +
                      std::string("\0\0\0", 3) + "redo done at 0/1B87000\n";
  auto found = FindRecoveryEnds(mixed);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].lsn, L("0/1B87690"));
  // Near misses.
  for (const char* text :
       {"invalid record length at \n", "invalid record length at 0/\n",
        "invalid record length at /1\n", "invalid record length at 123456789/0: x\n",
        "invalid record length at 0/1G: wanted\n", "redo done at FFFFFFFF/FFFFFFFF\n",
        "record length 5 at 0/10 is fine\n", "invalid resource manager ID at 0/10\n",
        "invalid contrecord length 1 (expected x) at 0/10\n", "redo done at\n",
        "record with incorrect prev-link 0/10 at\n"}) {
    EXPECT_TRUE(FindRecoveryEnds(text).empty()) << text;
  }
  // A huge line with a million matches, and a huge log of many lines.
  std::string many;
  for (int i = 0; i < 100000; ++i) many += "redo done at 0/10 ";
  many += "\n";
  const auto many_found = FindRecoveryEnds(many);
  ASSERT_EQ(many_found.size(), 100000u);
  EXPECT_LT(many_found[50000].line.size(), 1000u);
  std::string big;
  const std::string fixture = ReadFixture("pg16_crash.log");
  while (big.size() < (32u << 20)) big += fixture;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(FindRecoveryEnds(big).size(), big.size() / fixture.size());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  auto chosen = ChooseUnbounded(big);
  ASSERT_TRUE(chosen.ok()) << chosen.message().substr(0, 500);
}

TEST(RecoveryLog, LinesLoggedByOneMajorAreThoseAfterItsStartUpLine) {
  const std::string text =
      "2026-12-04 10:00:00 UTC::@:[1]:LOG:  redo done at 0/100 (written by whom?)\n"
      "2026-12-04 10:00:01 UTC::@:[7]:LOG:  starting PostgreSQL 14.17 on x86_64-pc-linux-gnu\n"
      "2026-12-04 10:00:02 UTC::@:[7]:LOG:  invalid record length at 0/3000060: wanted 24, got 0\n"
      "2026-12-04 10:00:02 UTC::@:[7]:LOG:  redo done at 0/3000028\n"
      "2026-12-04 10:05:00 UTC::@:[9]:LOG:  starting PostgreSQL 15.19 on x86_64-pc-linux-gnu\n"
      "2026-12-04 10:05:01 UTC::@:[9]:LOG:  redo done at 0/5000028\n";
  const std::string by14 = LinesLoggedBy(text, 14);
  EXPECT_NE(by14.find("invalid record length at 0/3000060"), std::string::npos) << by14;
  EXPECT_EQ(by14.find("0/5000028"), std::string::npos) << by14;
  EXPECT_EQ(by14.find("0/100"), std::string::npos) << by14;
  auto ends = FindRecoveryEnds(by14);
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].lsn.ToString(), "0/3000060");
  EXPECT_NE(LinesLoggedBy(text, 15).find("0/5000028"), std::string::npos);
  EXPECT_EQ(LinesLoggedBy(text, 13), "");
}

}  // namespace
}  // namespace dbr::pg
