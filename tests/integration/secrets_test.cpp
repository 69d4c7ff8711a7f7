// Secrets and access, checked the way a user would: a relocation 15 -> 17 under a live writer,
// with distinctive passwords for the source, the destination and the replication user, and
// statement logging on both servers (log_statement = all). No password may show up in the
// process list of any child (sampled throughout the run), in any output of run, status, report,
// verify and cleanup, in any file of the state folder but the run state, in the heartbeat
// writer's log, or in either server's log. The replication user gets the least privilege that
// works, and cleanup removes it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "harness/cluster.h"
#include "harness/relocation.h"
#include "harness/wait.h"
#include "util/files.h"
#include "util/process.h"

namespace dbr::test {
namespace {

namespace fs = std::filesystem;

// Each password carries a plain token as well: a password that leaks quoted or escaped (in a
// conninfo inside a SQL literal, quotes and backslashes change) still shows its token.
struct Secret {
  std::string what, password, token;
};

const Secret kSrc{"src.password", "Sx9'q z\\pw-tokSRC4f9x", "tokSRC4f9x"};
const Secret kDst{"dst.password", "Dx7\"q z\\pw-tokDST8k2m", "tokDST8k2m"};
const Secret kRepl{"upgrade.password", "Rx5'q z\\\"pw-tokREPL3h7w", "tokREPL3h7w"};

constexpr std::chrono::milliseconds kPoll{10};

constexpr const char* kDstPasswordVar = "DBR_SECRETS_TEST_DST_PASSWORD";

// YAML single-quoted: everything literal but the quote, which doubles.
std::string YamlSingleQuoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string Dump(const CommandResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\n--- stdout:\n" + r.out + "\n--- stderr:\n" +
         r.err;
}

// The needles that must never be found: each password and its token.
std::vector<std::string> Needles(const std::vector<Secret>& secrets) {
  std::vector<std::string> out;
  for (const auto& s : secrets) {
    out.push_back(s.password);
    if (!s.token.empty()) out.push_back(s.token);
  }
  return out;
}

// The first needle `text` contains, or "".
std::string Leaked(const std::string& text, const std::vector<std::string>& needles) {
  for (const auto& n : needles)
    if (text.find(n) != std::string::npos) return n;
  return "";
}

std::string FileText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// Creates `role` with `password`, hashed here so that this CREATE ROLE does not put the password
// in the server log.
void CreateRole(TestCluster& cluster, const std::string& role, const std::string& password,
                const std::string& attributes) {
  auto conn = cluster.Connect();
  ASSERT_TRUE(conn.ok()) << conn.message();
  char* verifier =
      PQencryptPasswordConn(conn->raw(), password.c_str(), role.c_str(), "scram-sha-256");
  ASSERT_NE(verifier, nullptr) << PQerrorMessage(conn->raw());
  const std::string hashed = verifier;
  PQfreemem(verifier);
  Status st = conn->Exec("CREATE ROLE " + role + " " + attributes + " PASSWORD '" + hashed + "'");
  ASSERT_TRUE(st.ok()) << st.message();
}

// Reads /proc/*/cmdline of every process every 50 ms while alive; remembers each command line
// that holds a needle, and which programs it saw (to show it was looking). Command lines that
// start with kPlant are the tests' own plants (another test may plant one concurrently under
// ctest -j): they count only until the first ClearLeaks().
constexpr const char* kPlant = "sh -c sleep 60 planted ";

// A process whose command line is kPlant followed by `secret`, alive until destroyed (then
// killed with its sleep: it leads a process group of its own).
class PlantedProcess {
 public:
  explicit PlantedProcess(const std::string& secret)
      : args_{"sh", "-c", "sleep 60", "planted " + secret} {
    std::vector<char*> argv;
    for (auto& a : args_) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      execvp(argv[0], argv.data());
      _exit(127);
    }
    if (pid_ > 0) setpgid(pid_, pid_);  // whichever of the two runs first
  }
  ~PlantedProcess() {
    if (pid_ <= 0) return;
    kill(-pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  PlantedProcess(const PlantedProcess&) = delete;
  PlantedProcess& operator=(const PlantedProcess&) = delete;
  bool started() const { return pid_ > 0; }
  // sh runs: its command line is the planted one (right after fork it is still ours).
  bool Execed() const {
    std::string cmdline = FileText("/proc/" + std::to_string(pid_) + "/cmdline");
    for (char& c : cmdline)
      if (c == '\0') c = ' ';
    return cmdline.rfind(kPlant, 0) == 0;
  }

 private:
  std::vector<std::string> args_;
  pid_t pid_ = -1;
};

class CmdlineSampler {
 public:
  explicit CmdlineSampler(std::vector<std::string> needles)
      : needles_(std::move(needles)), thread_([this] { Loop(); }) {}
  ~CmdlineSampler() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<std::string> leaks() {
    std::lock_guard lock(mu_);
    return leaks_;
  }
  // Passes over /proc completed so far.
  int64_t passes() const { return passes_.load(); }
  void ClearLeaks() {
    std::lock_guard lock(mu_);
    leaks_.clear();
    plants_count_ = false;
  }
  bool Saw(const std::string& word) {
    std::lock_guard lock(mu_);
    for (const auto& s : seen_)
      if (s.find(word) != std::string::npos) return true;
    return false;
  }

 private:
  void Loop() {
    while (!stop_) {
      std::error_code ec;
      for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        const std::string pid = entry.path().filename().string();
        if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
        std::string cmdline = FileText(entry.path() / "cmdline");
        for (char& c : cmdline)
          if (c == '\0') c = ' ';
        if (cmdline.empty()) continue;
        std::lock_guard lock(mu_);
        seen_.insert(cmdline.substr(0, cmdline.find(' ')) + " " +
                     cmdline.substr(cmdline.find(' ') + 1, 40));
        if (!plants_count_ && cmdline.rfind(kPlant, 0) == 0) continue;
        if (!Leaked(cmdline, needles_).empty()) leaks_.push_back("pid " + pid + ": " + cmdline);
      }
      ++passes_;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  std::vector<std::string> needles_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> passes_{0};
  std::mutex mu_;
  std::vector<std::string> leaks_;
  std::set<std::string> seen_;
  bool plants_count_ = true;
  std::thread thread_;
};

class SecretsTest : public ::testing::TestWithParam<bool> {
 protected:
  bool configured_password() const { return GetParam(); }
  std::string repl_user() const { return configured_password() ? "relo_repl" : "upgrade"; }
  fs::path state_dir() const { return tmp_.path() / "state"; }

  void TearDown() override { StopHeartbeatWriter(state_dir()); }

  void StartServers() {
    // Every statement in the servers' logs, the statement of every error, and every statement
    // in pg_stat_statements (utility statements verbatim: track_utility is on by default).
    ClusterOptions options;
    options.settings = {{"log_statement", "all"},
                        {"log_min_error_statement", "error"},
                        {"shared_preload_libraries", "pg_stat_statements"}};
    auto a = std::async(std::launch::async, [&] { return TestCluster::Start(15, options); });
    auto b = std::async(std::launch::async, [&] { return TestCluster::Start(17, options); });
    auto src = a.get();
    auto dst = b.get();
    ASSERT_TRUE(src.ok()) << src.message();
    ASSERT_TRUE(dst.ok()) << dst.message();
    src_ = std::move(src).value();
    dst_ = std::move(dst).value();
    ASSERT_TRUE(src_->CreateDatabase("app").ok());
    ASSERT_TRUE(dst_->CreateDatabase("app").ok());
    // The view in `postgres`, out of the relocated database's schema; it shows every database.
    ASSERT_TRUE(src_->Exec("CREATE EXTENSION pg_stat_statements").ok());
    ASSERT_TRUE(dst_->Exec("CREATE EXTENSION pg_stat_statements").ok());
    // The logins db_relocate uses, superusers as on a self-managed server.
    CreateRole(*src_, "relo_src", kSrc.password, "SUPERUSER LOGIN");
    CreateRole(*dst_, "relo_dst", kDst.password, "SUPERUSER LOGIN");
  }

  // src.password written literally (single-quoted YAML, file 0600), dst.password through the
  // environment, upgrade.password literally or not at all.
  fs::path WriteSecretsConfig() {
    fs::path path = tmp_.path() / "relocate.yaml";
    std::ofstream(path)
        << "provider: postgres\n"
        << "src:\n  host: 127.0.0.1\n  port: " << src_->port()
        << "\n  name: app\n  user: relo_src\n  password: " << YamlSingleQuoted(kSrc.password)
        << "\n  schema: [public, \"Sales Ops\"]\n"
        << "dst:\n  host: 127.0.0.1\n  port: " << dst_->port()
        << "\n  user: relo_dst\n  password: ${" << kDstPasswordVar << "}\n"
        << "jobs: 2\nheartbeat_interval: 0.2\ncatchup_timeout: 120\n"
        << "split_tables_larger_than: 1000000\nstate_dir: state\n"
        << "upgrade:\n  user: " << repl_user() << "\n"
        << (configured_password() ? "  password: " + YamlSingleQuoted(kRepl.password) + "\n" : "");
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
    return path;
  }

  CommandResult Relocate(const std::vector<std::string>& args) {
    return RunDbRelocate(args, {{kDstPasswordVar, kDst.password}});
  }

  // Every file in the state folder but the run state itself (state.json and the copies
  // cleanup moves aside), the heartbeat writer's log included.
  std::vector<fs::path> StateFolderFiles() const {
    std::vector<fs::path> files;
    for (const auto& entry : fs::recursive_directory_iterator(state_dir())) {
      if (!entry.is_regular_file()) continue;
      if (entry.path().filename().string().rfind("state.json", 0) == 0) continue;
      files.push_back(entry.path());
    }
    return files;
  }

  std::vector<fs::path> StateFiles() const {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(state_dir()))
      if (entry.path().filename().string().rfind("state.json", 0) == 0)
        files.push_back(entry.path());
    return files;
  }

  // The run state: owner-only, and holding no password but the generated one.
  void ExpectStateFilesHoldNoSecret(const std::vector<std::string>& needles) {
    auto files = StateFiles();
    ASSERT_FALSE(files.empty());
    for (const auto& file : files) {
      EXPECT_EQ(fs::status(file).permissions() & fs::perms::all,
                fs::perms::owner_read | fs::perms::owner_write)
          << file;
      const std::string leak = Leaked(FileText(file), needles);
      EXPECT_EQ(leak, "") << "a password in the run state " << file;
    }
  }

  void ExpectReplicationUserHasLeastPrivilege(const std::string& password) {
    auto q = [&](const std::string& sql) { return *src_->QueryValue(sql, "app"); };
    const std::string role = "'" + repl_user() + "'";
    EXPECT_EQ(q("SELECT concat_ws(',', rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, "
                "rolcanlogin, rolreplication) FROM pg_roles WHERE rolname = " +
                role),
              "f,f,f,f,t,t")
        << "superuser, createrole, createdb, bypassrls, login, replication";
    EXPECT_EQ(q("SELECT count(*) FROM pg_auth_members WHERE member = " + role + "::regrole"), "0")
        << "member of no role (pg_read_all_data, pg_write_all_data, ...)";
    const std::string tables =
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN "
        "('public', 'Sales Ops') AND c.relkind IN ('r', 'p')";
    EXPECT_GE(std::stoi(q("SELECT count(*)" + tables)), 9);
    EXPECT_EQ(q("SELECT count(*)" + tables + " AND NOT has_table_privilege(" + role +
                ", c.oid, 'SELECT')"),
              "0")
        << "SELECT on every table in scope";
    for (const char* write : {"INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"})
      EXPECT_EQ(q("SELECT count(*)" + tables + " AND has_table_privilege(" + role + ", c.oid, '" +
                  write + "')"),
                "0")
          << write;
    // It logs in with its password (so the client-side hash was of the right text).
    auto conn = src_->Connect("app", repl_user(), password);
    EXPECT_TRUE(conn.ok()) << conn.message();
  }

  TempDir tmp_{"dbr-secrets-test"};
  std::unique_ptr<TestCluster> src_, dst_;
};

TEST_P(SecretsTest, NoPasswordInProcessListOutputsFilesOrServerLogsAndLeastPrivilege) {
  StartServers();
  if (HasFatalFailure()) return;
  ASSERT_TRUE(LoadRichSchema(*src_, "app", 5000).ok());
  const fs::path config = WriteSecretsConfig();

  // What must appear nowhere. The generated replication password joins once it exists.
  std::vector<Secret> secrets = {kSrc, kDst};
  if (configured_password()) secrets.push_back(kRepl);
  std::vector<std::string> needles = Needles(secrets);

  // The sampler sees what it is after: a command line holding a password, there for one whole
  // pass of the sampler, is found. (Kept until then, not for a fixed time: a loaded machine
  // may hold the sampler back longer than any fixed lifetime.)
  CmdlineSampler sampler(needles);
  {
    PlantedProcess planted(kSrc.password);
    ASSERT_TRUE(planted.started()) << "fork failed";
    ASSERT_TRUE(WaitFor([&] { return planted.Execed(); }, std::chrono::seconds(30), kPoll))
        << "the planted process never ran";
    // The pass under way may have read /proc before the plant was there; the next one may not.
    const int64_t from = sampler.passes();
    ASSERT_TRUE(
        WaitFor([&] { return sampler.passes() >= from + 2; }, std::chrono::seconds(30), kPoll))
        << "the sampler stopped sampling";
    ASSERT_FALSE(sampler.leaks().empty()) << "the sampler missed a planted command line";
  }
  sampler.ClearLeaks();

  CommandResult run;
  {
    LiveWriter writer(*src_, "app");
    run = Relocate({"run", "--config", config.string()});
    writer.Stop();
    EXPECT_GT(writer.operations(), 0);
    EXPECT_EQ(writer.error(), "");
  }
  ASSERT_EQ(run.exit_code, 0) << Dump(run);
  EXPECT_TRUE(sampler.Saw("heartbeat")) << "the sampler never saw the heartbeat writer";
  EXPECT_TRUE(sampler.Saw("pg_dump") || sampler.Saw("pg_restore"))
      << "the sampler never saw pg_dump or pg_restore";

  std::string repl_password = kRepl.password;
  if (!configured_password()) {
    auto state = nlohmann::json::parse(*ReadFile(state_dir() / "state.json"));
    repl_password = state["replication_password"].get<std::string>();
    ASSERT_EQ(repl_password.size(), 32u);
  }
  // The run state may hold the generated replication password (resuming needs it), no other.
  ExpectStateFilesHoldNoSecret(needles);
  ExpectReplicationUserHasLeastPrivilege(repl_password);
  if (!configured_password()) {
    secrets.push_back({"generated replication password", repl_password, ""});
    needles = Needles(secrets);
  }

  std::vector<std::pair<std::string, CommandResult>> outputs = {{"run", run}};
  for (const std::vector<std::string>& args : {std::vector<std::string>{"status"},
                                               {"status", "--output", "json"},
                                               {"report"},
                                               {"verify"},
                                               {"status", "--log-level", "debug"},
                                               {"cleanup"}}) {
    std::vector<std::string> argv = args;
    argv.insert(argv.begin() + 1, {"--config", config.string()});
    CommandResult r = Relocate(argv);
    std::string name;
    for (const auto& a : args) name += (name.empty() ? "" : " ") + a;
    EXPECT_EQ(r.exit_code, 0) << name << "\n" << Dump(r);
    outputs.emplace_back(name, r);
  }
  sampler.Stop();
  for (const auto& leak : sampler.leaks()) ADD_FAILURE() << "password in a process list: " << leak;

  for (const auto& [name, r] : outputs) {
    EXPECT_EQ(Leaked(r.out, needles), "") << "password in the stdout of " << name;
    EXPECT_EQ(Leaked(r.err, needles), "") << "password in the stderr of " << name;
  }
  // Files: the report, samples, verify results, the heartbeat writer's log...
  const auto files = StateFolderFiles();
  EXPECT_TRUE(std::any_of(files.begin(), files.end(),
                          [](const fs::path& f) { return f.filename() == "heartbeat.log"; }));
  EXPECT_TRUE(std::any_of(files.begin(), files.end(),
                          [](const fs::path& f) { return f.filename() == "report.html"; }));
  for (const auto& file : files)
    EXPECT_EQ(Leaked(FileText(file), needles), "") << "password in " << file;
  ExpectStateFilesHoldNoSecret(Needles({kSrc, kDst}));
  if (configured_password()) ExpectStateFilesHoldNoSecret(Needles({kRepl}));
  // ... and both servers' logs, which hold every statement db_relocate sent.
  for (TestCluster* server : {src_.get(), dst_.get()}) {
    const std::string log = FileText(server->log_file());
    EXPECT_EQ(Leaked(log, needles), "") << "password in the log of PostgreSQL " << server->major()
                                        << " (" << server->log_file() << ")";
  }
  EXPECT_NE(FileText(src_->log_file()).find("CREATE PUBLICATION"), std::string::npos)
      << "log_statement = all did not log db_relocate's statements on the source";
  EXPECT_NE(FileText(dst_->log_file()).find("ALTER SUBSCRIPTION"), std::string::npos)
      << "log_statement = all did not log db_relocate's statements on the destination";
  // ... and pg_stat_statements on both.
  const std::string statements = "SELECT string_agg(query, E'\\n') FROM pg_stat_statements";
  for (TestCluster* server : {src_.get(), dst_.get()})
    EXPECT_EQ(Leaked(*server->QueryValue(statements), needles), "")
        << "password in pg_stat_statements of PostgreSQL " << server->major();
  EXPECT_NE(src_->QueryValue(statements)->find("CREATE PUBLICATION"), std::string::npos)
      << "pg_stat_statements did not keep db_relocate's statements on the source";
  EXPECT_NE(dst_->QueryValue(statements)->find("ALTER SUBSCRIPTION"), std::string::npos)
      << "pg_stat_statements did not keep db_relocate's statements on the destination";

  // No false negatives: the same search finds a password planted in a file and in a server log.
  const fs::path scratch = tmp_.path() / "planted.txt";
  std::ofstream(scratch) << "x" << repl_password << "y\n";
  EXPECT_NE(Leaked(FileText(scratch), needles), "");
  ASSERT_TRUE(src_->Exec("SELECT 'planted " + kSrc.token + "'").ok());
  EXPECT_NE(Leaked(FileText(src_->log_file()), needles), "");

  // cleanup removed the replication user from the source.
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_roles WHERE rolname = '" + repl_user() + "'",
                              "app"),
            "0");
}

// ExecSensitive turns the server's recording of statements off around its statement (its log,
// pg_stat_statements) when the login may (a superuser, or a role granted SET on those
// settings), and runs it plainly otherwise.
TEST(SensitiveStatementTest, KeptOutOfTheServerLogAndStatisticsWhenTheLoginMaySetThem) {
  ClusterOptions options;
  options.settings = {{"log_statement", "all"},
                      {"log_min_error_statement", "error"},
                      {"shared_preload_libraries", "pg_stat_statements"}};
  auto server = TestCluster::Start(15, options);
  ASSERT_TRUE(server.ok()) << server.message();
  TestCluster& pg = **server;
  ASSERT_TRUE(pg.Exec("CREATE EXTENSION pg_stat_statements").ok());
  ASSERT_EQ(*pg.QueryValue("SHOW pg_stat_statements.track_utility"), "on");
  CreateRole(pg, "granted", "pw-granted", "LOGIN");
  CreateRole(pg, "plain", "pw-plain", "LOGIN");
  ASSERT_TRUE(pg.Exec("GRANT SET ON PARAMETER log_statement, log_min_error_statement, "
                      "log_min_duration_statement, log_min_duration_sample, "
                      "log_transaction_sample_rate, track_activities, "
                      "pg_stat_statements.track_utility TO granted")
                  .ok());
  auto in_statistics = [&](const std::string& token) {
    return *pg.QueryValue("SELECT count(*) FROM pg_stat_statements WHERE query LIKE '%" + token +
                          "%' AND query NOT LIKE '%pg_stat_statements%'") != "0";
  };
  const std::vector<std::pair<std::string, std::string>> logins = {
      {"ops", "secret"}, {"granted", "pw-granted"}, {"plain", "pw-plain"}};
  for (const auto& [user, password] : logins) {
    auto conn = pg.Connect("postgres", user, password);
    ASSERT_TRUE(conn.ok()) << conn.message();
    const std::string ok_token = "tokSENS-ok-" + user, bad_token = "tokSENS-bad-" + user;
    // A utility statement: pg_stat_statements keeps those verbatim (a SELECT's literals would
    // be replaced by $1).
    EXPECT_TRUE(conn->ExecSensitive("DO $$BEGIN PERFORM '" + ok_token + "'; END$$").ok()) << user;
    Status failed = conn->ExecSensitive("SELECT '" + bad_token + "' FROM no_such_table");
    ASSERT_FALSE(failed.ok()) << user;
    EXPECT_EQ(failed.message().find(bad_token), std::string::npos) << failed.message();
    EXPECT_NE(failed.message().find("no_such_table"), std::string::npos) << failed.message();
    // Recording is back on for the statements after it.
    const std::string after_token = "tokSENS-after-" + user;
    EXPECT_TRUE(conn->Exec("DO $$BEGIN PERFORM '" + after_token + "'; END$$").ok()) << user;
    const std::string log = FileText(pg.log_file());
    EXPECT_NE(log.find(after_token), std::string::npos) << user;
    EXPECT_TRUE(in_statistics(after_token)) << user;
    // The login without the right to set them: the server's settings decide.
    const bool silenced = user != "plain";
    EXPECT_EQ(log.find(ok_token) == std::string::npos, silenced) << user;
    EXPECT_EQ(log.find(bad_token) == std::string::npos, silenced) << user;
    EXPECT_EQ(in_statistics(ok_token), !silenced) << user;
  }
}

INSTANTIATE_TEST_SUITE_P(ReplicationPassword, SecretsTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Configured" : "Generated";
                         });

}  // namespace
}  // namespace dbr::test
