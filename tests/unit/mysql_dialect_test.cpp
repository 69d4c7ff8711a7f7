// The statements engine mysql sends where MariaDB and MySQL 8 differ, against the syntax each
// server's documentation gives (MySQL: CHANGE REPLICATION SOURCE TO, CHANGE REPLICATION
// FILTER, SOURCE_POS_WAIT, SHOW BINARY LOG STATUS from 8.2; MariaDB: multi-source CHANGE
// MASTER 'name', per-connection replicate_wild_do_table, MASTER_POS_WAIT, BACKUP STAGE). Only
// MariaDB runs here: the MySQL statements are checked as text.
#include <gtest/gtest.h>

#include "mysql/dialect.h"

namespace dbr::mysql {
namespace {

std::string Quote(std::string_view v) {
  std::string out = "'";
  for (char c : v) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

Dialect Of(const char* version) {
  auto v = mariadb::ParseServerVersion(version);
  EXPECT_TRUE(v.ok()) << v.message();
  return Dialect(*v, Quote);
}

const SourceEndpoint kSource = {"10.0.0.5", 3306, "upgrade", "pa'ss"};
const BinlogPosition kAt = {"binlog.000003", 4512, "0-1-77"};

TEST(MysqlDialect, MariaDbUsesANamedMasterConnection) {
  const Dialect d = Of("10.11.19-MariaDB");
  EXPECT_EQ(d.ChangeSource("db_relocate", kSource, kAt),
            "CHANGE MASTER 'db_relocate' TO MASTER_HOST = '10.0.0.5', MASTER_PORT = 3306, "
            "MASTER_USER = 'upgrade', MASTER_PASSWORD = 'pa''ss', MASTER_LOG_FILE = "
            "'binlog.000003', MASTER_LOG_POS = 4512, MASTER_USE_GTID = no");
  // https://mariadb.com/kb/en/gtid/#setting-up-a-new-replica-server-with-global-transaction-id:
  // SET GLOBAL gtid_slave_pos = "0-1-2"; CHANGE MASTER TO ..., master_use_gtid=slave_pos
  EXPECT_TRUE(d.StartsAtGtid());
  EXPECT_EQ(d.StartAtGtid(kAt), "SET GLOBAL gtid_slave_pos = '0-1-77'");
  EXPECT_EQ(d.ChangeSource("db_relocate", kSource, kAt, /*by_gtid=*/true),
            "CHANGE MASTER 'db_relocate' TO MASTER_HOST = '10.0.0.5', MASTER_PORT = 3306, "
            "MASTER_USER = 'upgrade', MASTER_PASSWORD = 'pa''ss', MASTER_USE_GTID = slave_pos");
  EXPECT_EQ(d.GtidAt(kAt), "SELECT BINLOG_GTID_POS('binlog.000003', 4512)");
  EXPECT_EQ(d.FilterToDatabases("db_relocate", {"shop_1", "db_relocate"}),
            std::vector<std::string>{
                "SET GLOBAL `db_relocate`.replicate_wild_do_table = 'shop\\_1.%,db\\_relocate.%'"});
  // The filter names the database as the replica has it: the server renames first.
  EXPECT_EQ(
      d.FilterToDatabases("db_relocate", {"shop_new", "db_relocate"},
                          DatabaseRewrite{"shop", "shop_new"}),
      (std::vector<std::string>{"SET GLOBAL `db_relocate`.replicate_rewrite_db = 'shop->shop_new'",
                                "SET GLOBAL `db_relocate`.replicate_wild_do_table = "
                                "'shop\\_new.%,db\\_relocate.%'"}));
  EXPECT_EQ(d.StartReplica("db_relocate"), "START SLAVE 'db_relocate'");
  EXPECT_EQ(d.StopReplica("db_relocate"), "STOP SLAVE 'db_relocate'");
  EXPECT_EQ(d.ForgetReplica("db_relocate"), "RESET SLAVE 'db_relocate' ALL");
  EXPECT_EQ(d.ShowReplicaStatus("db_relocate"), "SHOW SLAVE 'db_relocate' STATUS");
  EXPECT_EQ(d.ShowAllReplicas(), "SHOW ALL SLAVES STATUS");
  EXPECT_STREQ(d.StatusColumns().source_host, "Master_Host");
  EXPECT_EQ(d.StopApplier("db_relocate"), "STOP SLAVE 'db_relocate' SQL_THREAD");
  EXPECT_EQ(d.StartApplierUntil("db_relocate", kAt),
            "START SLAVE 'db_relocate' SQL_THREAD UNTIL MASTER_LOG_FILE = 'binlog.000003', "
            "MASTER_LOG_POS = 4512");
  EXPECT_EQ(d.StartApplier("db_relocate"), "START SLAVE 'db_relocate' SQL_THREAD");
  EXPECT_EQ(d.WaitForPosition("db_relocate", kAt, 1),
            "SELECT MASTER_POS_WAIT('binlog.000003', 4512, 1, 'db_relocate')");
  EXPECT_EQ(d.ShowSourcePosition(), "SHOW MASTER STATUS");
  EXPECT_EQ(d.HoldCommits(),
            (std::vector<std::string>{"BACKUP STAGE START", "BACKUP STAGE BLOCK_COMMIT"}));
  EXPECT_EQ(d.ReleaseCommits(), std::vector<std::string>{"BACKUP STAGE END"});
  EXPECT_STREQ(d.StatusColumns().exec_offset, "Exec_Master_Log_Pos");
}

TEST(MysqlDialect, MySqlEightUsesAChannelAndTheSourceReplicaWords) {
  const Dialect d = Of("8.0.36");
  EXPECT_EQ(d.ChangeSource("db_relocate", kSource, kAt),
            "CHANGE REPLICATION SOURCE TO SOURCE_HOST = '10.0.0.5', SOURCE_PORT = 3306, "
            "SOURCE_USER = 'upgrade', SOURCE_PASSWORD = 'pa''ss', SOURCE_LOG_FILE = "
            "'binlog.000003', SOURCE_LOG_POS = 4512, GET_SOURCE_PUBLIC_KEY = 1 FOR CHANNEL "
            "'db_relocate'");
  EXPECT_FALSE(d.StartsAtGtid());
  EXPECT_EQ(d.FilterToDatabases("db_relocate", {"shop", "db_relocate"}),
            std::vector<std::string>{
                "CHANGE REPLICATION FILTER REPLICATE_WILD_DO_TABLE = ('shop.%', 'db\\_relocate.%') "
                "FOR CHANNEL 'db_relocate'"});
  // https://dev.mysql.com/doc/refman/8.0/en/change-replication-filter.html:
  // CHANGE REPLICATION FILTER REPLICATE_REWRITE_DB = ((db1, db2)) FOR CHANNEL channel_1
  EXPECT_EQ(d.FilterToDatabases("db_relocate", {"shop_new", "db_relocate"},
                                DatabaseRewrite{"shop", "shop_new"}),
            std::vector<std::string>{
                "CHANGE REPLICATION FILTER REPLICATE_WILD_DO_TABLE = ('shop\\_new.%', "
                "'db\\_relocate.%'), REPLICATE_REWRITE_DB = ((`shop`, `shop_new`)) FOR CHANNEL "
                "'db_relocate'"});
  EXPECT_EQ(d.StartReplica("db_relocate"), "START REPLICA FOR CHANNEL 'db_relocate'");
  EXPECT_EQ(d.StopReplica("db_relocate"), "STOP REPLICA FOR CHANNEL 'db_relocate'");
  EXPECT_EQ(d.ForgetReplica("db_relocate"), "RESET REPLICA ALL FOR CHANNEL 'db_relocate'");
  EXPECT_EQ(d.ShowReplicaStatus("db_relocate"), "SHOW REPLICA STATUS FOR CHANNEL 'db_relocate'");
  EXPECT_EQ(d.ShowAllReplicas(), "SHOW REPLICA STATUS");  // every channel
  EXPECT_STREQ(d.StatusColumns().name, "Channel_Name");
  EXPECT_STREQ(d.StatusColumns().source_port, "Source_Port");
  EXPECT_EQ(d.StopApplier("db_relocate"), "STOP REPLICA SQL_THREAD FOR CHANNEL 'db_relocate'");
  EXPECT_EQ(d.StartApplierUntil("db_relocate", kAt),
            "START REPLICA SQL_THREAD UNTIL SOURCE_LOG_FILE = 'binlog.000003', SOURCE_LOG_POS = "
            "4512 FOR CHANNEL 'db_relocate'");
  EXPECT_EQ(d.StartApplier("db_relocate"), "START REPLICA SQL_THREAD FOR CHANNEL 'db_relocate'");
  EXPECT_EQ(d.WaitForPosition("db_relocate", kAt, 1),
            "SELECT SOURCE_POS_WAIT('binlog.000003', 4512, 1, 'db_relocate')");
  EXPECT_EQ(d.ShowSourcePosition(), "SHOW MASTER STATUS");
  EXPECT_EQ(Of("8.2.0").ShowSourcePosition(), "SHOW BINARY LOG STATUS");
  EXPECT_EQ(Of("8.4.3").ShowSourcePosition(), "SHOW BINARY LOG STATUS");
  EXPECT_EQ(d.HoldCommits(), std::vector<std::string>{"FLUSH TABLES WITH READ LOCK"});
  EXPECT_EQ(d.ReleaseCommits(), std::vector<std::string>{"UNLOCK TABLES"});
  EXPECT_STREQ(d.StatusColumns().exec_offset, "Exec_Source_Log_Pos");
  EXPECT_STREQ(d.StatusColumns().io_running, "Replica_IO_Running");
}

TEST(MysqlDialect, BinlogPositionsOrderByFileNumberThenOffset) {
  EXPECT_TRUE((BinlogPosition{"binlog.000009", 900}) < (BinlogPosition{"binlog.000010", 4}));
  EXPECT_TRUE((BinlogPosition{"binlog.000010", 4}) < (BinlogPosition{"binlog.000010", 5}));
  EXPECT_FALSE((BinlogPosition{"binlog.000010", 5}) < (BinlogPosition{"binlog.000010", 5}));
  EXPECT_EQ((BinlogPosition{"binlog.000010", 5}).Display(), "binlog.000010:5");
}

}  // namespace
}  // namespace dbr::mysql
