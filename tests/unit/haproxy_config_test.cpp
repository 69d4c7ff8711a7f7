// The managed haproxy.cfg text and the runtime API reply parsers (HAProxy 2.6 output verbatim).
#include <gtest/gtest.h>

#include <string>

#include "proxy/haproxy.h"
#include "proxy/haproxy_runtime.h"

namespace dbr {
namespace {

HAProxyLayout Layout() {
  HAProxyLayout layout;
  layout.listen = "127.0.0.1:6432";
  layout.admin_socket = "/var/lib/dbr/haproxy.sock";
  layout.pid_file = "/var/lib/dbr/haproxy.pid";
  layout.backend = "postgres";
  return layout;
}

const Backend kSrc{Side::kSource, "10.0.0.1", 5432, "app"};
const Backend kDst{Side::kDestination, "10.0.0.2", 5433, "app"};

TEST(HAProxyConfigTest, RendersBindServersStandbyDisabledAndSocket) {
  const std::string cfg = RenderHAProxyConfig(Layout(), kSrc, kDst);
  EXPECT_NE(cfg.find("  bind 127.0.0.1:6432\n"), std::string::npos) << cfg;
  EXPECT_NE(cfg.find("  server src 10.0.0.1:5432\n"), std::string::npos) << cfg;
  EXPECT_NE(cfg.find("  server dst 10.0.0.2:5433 disabled\n"), std::string::npos) << cfg;
  EXPECT_NE(cfg.find("stats socket /var/lib/dbr/haproxy.sock mode 600 level admin "
                     "expose-fd listeners\n"),
            std::string::npos)
      << cfg;
  EXPECT_NE(cfg.find("pidfile /var/lib/dbr/haproxy.pid\n"), std::string::npos) << cfg;
  EXPECT_NE(cfg.find("backend postgres\n"), std::string::npos) << cfg;
  EXPECT_NE(cfg.find("default_backend postgres\n"), std::string::npos) << cfg;
  EXPECT_NE(cfg.find("mode tcp\n"), std::string::npos) << cfg;
  EXPECT_EQ(cfg.find("user "), std::string::npos) << "no user unless started by root";
}

TEST(HAProxyConfigTest, ActiveDstDisablesSrcAndKeepsServerOrder) {
  HAProxyLayout layout = Layout();
  layout.backend = "pg_app";
  layout.user = "postgres";
  layout.group = "postgres";
  const std::string cfg = RenderHAProxyConfig(layout, kDst, kSrc);
  EXPECT_NE(cfg.find("  server src 10.0.0.1:5432 disabled\n"), std::string::npos) << cfg;
  EXPECT_NE(cfg.find("  server dst 10.0.0.2:5433\n"), std::string::npos) << cfg;
  EXPECT_LT(cfg.find("server src"), cfg.find("server dst"));
  EXPECT_NE(cfg.find("backend pg_app\n"), std::string::npos) << cfg;
  EXPECT_NE(cfg.find("  user postgres\n  group postgres\n"), std::string::npos) << cfg;
}

TEST(HAProxyConfigTest, IsDeterministic) {
  EXPECT_EQ(RenderHAProxyConfig(Layout(), kSrc, kDst), RenderHAProxyConfig(Layout(), kSrc, kDst));
}

TEST(HAProxyConfigTest, BindsAnIPv6ListenAddressWithoutBrackets) {
  HAProxyLayout layout = Layout();
  layout.listen = "[::1]:7000";
  EXPECT_NE(RenderHAProxyConfig(layout, kSrc, kDst).find("  bind ::1:7000\n"), std::string::npos)
      << RenderHAProxyConfig(layout, kSrc, kDst);
}

// `show servers state postgres` from HAProxy 2.6.12: src ready, dst `disabled` in the config.
const char* kServersState =
    "1\n"
    "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight "
    "srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health "
    "srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord "
    "srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n"
    "3 postgres 1 src 127.0.0.1 2 0 1 1 1 1 0 2 0 0 0 0 - 17001 - 0 0 - - 0\n"
    "3 postgres 2 dst 127.0.0.1 0 5 1 1 1 1 0 0 8 0 0 0 - 17002 - 0 0 - - 0\n"
    "\n";

TEST(HAProxyRuntimeTest, ParsesServersState) {
  auto servers = ParseServersState(kServersState);
  ASSERT_TRUE(servers.ok()) << servers.message();
  ASSERT_EQ(servers->size(), 2u);
  const auto& src = (*servers)[0];
  const auto& dst = (*servers)[1];
  EXPECT_EQ(src.backend, "postgres");
  EXPECT_EQ(src.name, "src");
  EXPECT_EQ(src.addr, "127.0.0.1");
  EXPECT_EQ(src.port, 17001);
  EXPECT_TRUE(src.ready());
  EXPECT_FALSE(src.maint());
  EXPECT_EQ(src.Describe(), "ready");
  EXPECT_EQ(dst.name, "dst");
  EXPECT_EQ(dst.port, 17002);
  EXPECT_EQ(dst.admin_state, 5);  // forced maint | disabled in the config
  EXPECT_FALSE(dst.ready());
  EXPECT_TRUE(dst.maint());
  EXPECT_EQ(dst.Describe(), "maint");
}

TEST(HAProxyRuntimeTest, ConfigDisabledServerMadeReadyIsReady) {
  // HAProxy 2.6 keeps bit 0x04 (`disabled` in the config) after `set server ... state ready`.
  HAProxyServerState s;
  s.admin_state = 0x04;
  EXPECT_TRUE(s.ready());
  EXPECT_FALSE(s.maint());
  s.admin_state = 0x05;
  EXPECT_FALSE(s.ready());
  EXPECT_TRUE(s.maint());
}

TEST(HAProxyRuntimeTest, DrainIsNeitherReadyNorMaint) {
  HAProxyServerState s;
  s.admin_state = 0x08;
  EXPECT_FALSE(s.ready());
  EXPECT_FALSE(s.maint());
  EXPECT_EQ(s.Describe(), "drain");
}

TEST(HAProxyRuntimeTest, RejectsUnexpectedServersState) {
  for (const std::string& bad :
       {std::string(""), std::string("Can't find backend.\n\n"),
        std::string("1\n3 postgres 1 src 127.0.0.1 2 0\n"),
        std::string("1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state "
                    "srv_port\n3 postgres 1 src 127.0.0.1 x 0 5432\n")}) {
    auto servers = ParseServersState(bad);
    EXPECT_FALSE(servers.ok()) << bad;
    if (!servers.ok()) {
      EXPECT_NE(servers.message().find("show servers state"), std::string::npos);
    }
  }
}

TEST(HAProxyRuntimeTest, ParsesStatCsv) {
  const std::string reply =
      "# pxname,svname,qcur,qmax,scur,smax,slim,stot,status,\n"
      "postgres,src,0,0,3,4,,10,UP,\n"
      "postgres,dst,0,0,0,0,,0,MAINT,\n"
      "postgres,BACKEND,0,0,3,4,999,10,UP,\n"
      "\n";
  auto rows = ParseStatCsv(reply);
  ASSERT_TRUE(rows.ok()) << rows.message();
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].at("svname"), "src");
  EXPECT_EQ((*rows)[0].at("scur"), "3");
  EXPECT_EQ((*rows)[1].at("status"), "MAINT");
  EXPECT_FALSE(ParseStatCsv("No such proxy.\n").ok());
}

TEST(HAProxyRuntimeTest, EmptyReplyIsSuccessAnythingElseNamesSocketAndReply) {
  EXPECT_TRUE(CheckEmptyReply("/s.sock", "set server postgres/src state maint", "\n").ok());
  Status s =
      CheckEmptyReply("/s.sock", "set server postgres/zz state maint", "No such server.\n\n");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/s.sock"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("postgres/zz"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("No such server."), std::string::npos) << s.message();
}

TEST(HAProxyRuntimeTest, MissingSocketIsAClearError) {
  auto reply = HAProxyCommand("/nonexistent/dir/haproxy.sock", "show info");
  ASSERT_FALSE(reply.ok());
  EXPECT_NE(reply.message().find("/nonexistent/dir/haproxy.sock"), std::string::npos)
      << reply.message();
  EXPECT_NE(reply.message().find("stats socket"), std::string::npos) << reply.message();
}

}  // namespace
}  // namespace dbr
