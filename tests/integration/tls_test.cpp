// TLS to the servers: `sslmode` and `sslrootcert` per server reach db_relocate's own
// connections and the subscription's, and a certificate that does not verify is refused.
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "harness/cluster.h"
#include "harness/relocation.h"
#include "util/files.h"
#include "util/process.h"

namespace dbr::test {
namespace {

namespace fs = std::filesystem;

// Hands a file to the postgres OS user (the servers run as it when we are root).
void GiveToPostgres(const fs::path& file) {
  if (geteuid() != 0) return;
  if (const passwd* pw = getpwnam("postgres")) (void)!chown(file.c_str(), pw->pw_uid, pw->pw_gid);
}

Status OpenSsl(const std::vector<std::string>& args) {
  ProcessSpec spec{.argv = {"openssl"}};
  for (const auto& a : args) spec.argv.push_back(a);
  auto out = RunProcess(spec);
  if (!out.ok()) return out.status();
  return out->exit_code == 0 ? Status::Ok() : Status::Error(DescribeFailure(spec, *out));
}

// A CA, a server certificate for 127.0.0.1 signed by it, and an unrelated CA.
Status MakeCertificates(const fs::path& dir) {
  auto p = [&](const char* name) { return (dir / name).string(); };
  std::ofstream(dir / "ext.cnf") << "subjectAltName=IP:127.0.0.1\n";
  for (const char* ca : {"ca", "other-ca"})
    DBR_RETURN_IF_ERROR(OpenSsl({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                                 "-subj", std::string("/CN=db_relocate test ") + ca, "-keyout",
                                 p(ca) + ".key", "-out", p(ca) + ".crt"}));
  DBR_RETURN_IF_ERROR(OpenSsl({"req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                               "-keyout", p("server.key"), "-out", p("server.csr")}));
  DBR_RETURN_IF_ERROR(OpenSsl({"x509", "-req", "-in", p("server.csr"), "-CA", p("ca.crt"), "-CAkey",
                               p("ca.key"), "-CAcreateserial", "-days", "2", "-extfile",
                               p("ext.cnf"), "-out", p("server.crt")}));
  fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec);
  for (const char* f : {"ca.crt", "other-ca.crt", "server.crt"})
    fs::permissions(dir / f, fs::perms::owner_read | fs::perms::owner_write |
                                 fs::perms::group_read | fs::perms::others_read);
  fs::permissions(dir / "server.key", fs::perms::owner_read | fs::perms::owner_write);
  GiveToPostgres(dir / "server.key");
  GiveToPostgres(dir / "server.crt");
  return Status::Ok();
}

// The harness's config with TLS settings added to the src and dst blocks.
fs::path WriteTlsConfig(const fs::path& dir, const TestCluster& src, const TestCluster& dst,
                        const fs::path& ca) {
  fs::path path = WriteConfig(dir, src, dst, "app");
  std::string text = *ReadFile(path);
  text.replace(text.find("src:\n"), 5,
               "src:\n  sslmode: verify-full\n  sslrootcert: " + ca.string() + "\n");
  text.replace(text.find("dst:\n"), 5, "dst:\n  sslmode: disable\n");
  std::ofstream(path) << text;
  return path;
}

TEST(TlsTest, VerifiedTlsToTheSourceForTheToolAndTheSubscription) {
  TempDir tmp;
  fs::path certs = tmp.path() / "certs";
  fs::create_directories(certs);
  fs::permissions(tmp.path(),
                  fs::perms::owner_all | fs::perms::others_exec | fs::perms::group_exec);
  ASSERT_TRUE(MakeCertificates(certs).ok());
  ClusterOptions tls;
  tls.settings = {{"ssl", "on"},
                  {"ssl_cert_file", (certs / "server.crt").string()},
                  {"ssl_key_file", (certs / "server.key").string()}};
  auto src = TestCluster::Start(15, tls);
  ASSERT_TRUE(src.ok()) << src.message();
  auto dst = TestCluster::Start(17);
  ASSERT_TRUE(dst.ok()) << dst.message();
  ASSERT_TRUE((*src)->CreateDatabase("app").ok());
  ASSERT_TRUE((*dst)->CreateDatabase("app").ok());
  ASSERT_TRUE((*src)
                  ->Exec("CREATE TABLE t (id int PRIMARY KEY, v text); "
                         "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 500) g",
                         "app")
                  .ok());

  // A CA that did not sign the server's certificate: refused, with the reason.
  auto wrong = WriteTlsConfig(tmp.path(), **src, **dst, certs / "other-ca.crt");
  CommandResult bad = RunDbRelocate({"check", "--config", wrong.string(), "--output", "json"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find("certificate verify failed"), std::string::npos) << bad.out;

  auto config = WriteTlsConfig(tmp.path(), **src, **dst, certs / "ca.crt");
  CommandResult check = RunDbRelocate({"check", "--config", config.string(), "--output", "json"});
  ASSERT_EQ(check.exit_code, 0) << check.out << check.err;
  auto j = nlohmann::json::parse(check.out);
  for (const auto& c : j["checks"]) {
    if (c["name"] == "source connection") {
      EXPECT_NE(c["detail"].get<std::string>().find("TLS on"), std::string::npos) << c.dump();
    }
    if (c["name"] == "destination connection") {
      EXPECT_NE(c["detail"].get<std::string>().find("TLS off"), std::string::npos) << c.dump();
    }
  }

  CommandResult run = RunDbRelocate({"run", "--config", config.string()});
  StopHeartbeatWriter(tmp.path() / "state");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  // The subscription's walsender on the source talks TLS too.
  EXPECT_EQ(*(*src)->QueryValue("SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a "
                                "USING (pid) WHERE s.ssl AND a.application_name = "
                                "'db_relocate_sub'"),
            "1");
  ASSERT_TRUE((*src)->Exec("UPDATE t SET v = 'changed' WHERE id = 7", "app").ok());
  ASSERT_TRUE(WaitUntilApplied(**src, "app").ok());
  EXPECT_EQ(*(*dst)->QueryValue("SELECT v FROM t WHERE id = 7", "app"), "changed");
}

}  // namespace
}  // namespace dbr::test
