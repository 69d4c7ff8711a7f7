// The command line: commands, options and their spellings, exit codes (0 success, 1 a check
// failed, 2 bad usage or configuration) and the messages for bad configs. No server is started:
// configs that must be read point at closed loopback ports, so `check` exits 1 (its connection
// checks fail), which tells a config that was read apart from one that was rejected (2).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "config/schema.h"
#include "harness/check_run.h"
#include "harness/cluster.h"

namespace fs = std::filesystem;

namespace dbr::test {
namespace {

std::string Dump(const CommandResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\n--- stdout:\n" + r.out + "\n--- stderr:\n" +
         r.err;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class CliTest : public ::testing::Test {
 protected:
  // Writes `text` to dir_/name and returns the path.
  fs::path Write(const std::string& name, const std::string& text) {
    fs::path path = dir_.path() / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path;
  }

  // A valid config whose servers are not there.
  std::string UnreachableConfig(const std::string& src_password = "secret") {
    return "provider: postgres\n"
           "src:\n"
           "  host: 127.0.0.1\n"
           "  port: " +
           std::to_string(ClosedPort()) +
           "\n"
           "  name: app\n"
           "  password: \"" +
           src_password +
           "\"\n"
           "dst:\n"
           "  host: 127.0.0.1\n"
           "  port: " +
           std::to_string(ClosedPort()) + "\n";
  }

  // `check` with the config `text`, expecting exit 2 and a message on stderr; returns stderr.
  std::string RejectedConfig(const std::string& text) {
    fs::path path = Write("bad-" + std::to_string(++files_) + ".yaml", text);
    auto r = RunDbRelocate({"check", "--config", path.string()});
    EXPECT_EQ(r.exit_code, 2) << "config:\n" << text << "\n" << Dump(r);
    EXPECT_TRUE(r.out.empty()) << "nothing should be checked with a bad config\n" << Dump(r);
    EXPECT_TRUE(Contains(r.err, path.string())) << "the message names the file\n" << Dump(r);
    return r.err;
  }

  TempDir dir_{"dbr-cli-test"};
  int files_ = 0;
};

// Proves `check` read the unreachable config: it ran its checks and they failed.
void ExpectCheckedUnreachable(const CommandResult& r) {
  EXPECT_EQ(r.exit_code, 1) << Dump(r);
  EXPECT_TRUE(Contains(r.out, "source connection")) << Dump(r);
  EXPECT_TRUE(Contains(r.out, "FAIL")) << Dump(r);
}

// ---------------------------------------------------------------------------------------------
// version, help, commands

TEST_F(CliTest, VersionPrintsNameAndVersion) {
  auto r = RunDbRelocate({"version"});
  EXPECT_EQ(r.exit_code, 0) << Dump(r);
  EXPECT_EQ(r.out.rfind("db_relocate ", 0), 0u) << Dump(r);
  EXPECT_GT(r.out.size(), std::string("db_relocate \n").size()) << "no version number\n" << Dump(r);
}

TEST_F(CliTest, HelpListsEveryCommand) {
  auto r = RunDbRelocate({"--help"});
  EXPECT_EQ(r.exit_code, 0) << Dump(r);
  const std::string all = r.out + r.err;
  for (const char* command :
       {"check", "run", "status", "verify", "cutover", "rollback", "cleanup", "version"})
    EXPECT_TRUE(Contains(all, command)) << command << "\n" << Dump(r);
  // The internal heartbeat writer is not listed as a command.
  EXPECT_FALSE(std::regex_search(all, std::regex(R"(\n\s+heartbeat\s)"))) << Dump(r);
}

TEST_F(CliTest, HelpConfigListsEveryKeyOfTheSchemaWithTypeDefaultAndDoc) {
  auto r = RunDbRelocate({"help", "config"});
  EXPECT_EQ(r.exit_code, 0) << Dump(r);
  for (const FieldSpec& field : ConfigFields()) {
    EXPECT_TRUE(Contains(r.out, "\n" + std::string(field.key) + " (")) << field.key << "\n"
                                                                       << Dump(r);
  }
  EXPECT_TRUE(Contains(r.out,
                       "\nsrc.port (integer 1-65535, default 5432 (3306 with engine mysql))\n    "
                       "Server port\n"))
      << Dump(r);
  EXPECT_TRUE(Contains(r.out, "\ndst.port (integer 1-65535, default src.port)\n")) << Dump(r);
  EXPECT_TRUE(Contains(r.out,
                       "\nprovider (rds|postgres|self_managed|cloudsql, default rds "
                       "(self_managed with engine mysql))\n"))
      << Dump(r);

  // Each command's --help, and the top one, say where to find them.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--help"}, {"check", "--help"}, {"run", "--help"}}) {
    auto help = RunDbRelocate(args);
    EXPECT_EQ(help.exit_code, 0) << Dump(help);
    EXPECT_TRUE(Contains(help.out, "db_relocate help config")) << args[0] << "\n" << Dump(help);
  }
  auto bad = RunDbRelocate({"help", "proxies"});
  EXPECT_EQ(bad.exit_code, 2) << Dump(bad);
  EXPECT_TRUE(Contains(bad.err, "proxies")) << Dump(bad);
}

TEST_F(CliTest, VerifyAndCleanupAgainstUnreachableServersFailAndSayWhy) {
  fs::path config = Write("config.yaml", UnreachableConfig());
  auto fresh = RunDbRelocate({"verify", "--config", config.string()});
  EXPECT_EQ(fresh.exit_code, 1) << Dump(fresh);
  EXPECT_TRUE(fresh.out.empty()) << "no pretend output\n" << Dump(fresh);
  EXPECT_TRUE(Contains(fresh.err, "nothing to verify yet: no relocation state in")) << Dump(fresh);
  fs::create_directories(config.parent_path() / "db_relocate.state");
  auto verify = RunDbRelocate({"verify", "--config", config.string()});
  EXPECT_EQ(verify.exit_code, 1) << Dump(verify);
  EXPECT_TRUE(verify.out.empty()) << "no pretend output\n" << Dump(verify);
  EXPECT_TRUE(Contains(verify.err, "cannot connect to source")) << Dump(verify);
  auto dry = RunDbRelocate({"cleanup", "--dry-run", "--config", config.string()});
  EXPECT_EQ(dry.exit_code, 1) << Dump(dry);
  EXPECT_TRUE(Contains(dry.err, "cleanup needs the source")) << Dump(dry);
}

// Refused before anything is made: no state folder, no lock, no error counted. At log level
// fatal the message that ends the command is still shown (all that is).
TEST_F(CliTest, SwitchCommandsWithoutACutoverBlockAreConfigErrors) {
  fs::path config = Write("config.yaml", UnreachableConfig());
  for (const char* command : {"cutover", "rollback", "proxy"}) {
    auto r = RunDbRelocate({command, "--config", config.string()});
    EXPECT_EQ(r.exit_code, 2) << command << "\n" << Dump(r);
    EXPECT_TRUE(Contains(r.err, "no cutover block")) << command << "\n" << Dump(r);
    EXPECT_FALSE(fs::exists(dir_.path() / "db_relocate.state")) << command;
    auto quiet = RunDbRelocate({command, "--config", config.string(), "--log-level", "fatal"});
    EXPECT_EQ(quiet.exit_code, 2) << command << "\n" << Dump(quiet);
    EXPECT_TRUE(Contains(quiet.err, "critical the config has no cutover block")) << command << "\n"
                                                                                 << Dump(quiet);
    EXPECT_EQ(std::count(quiet.err.begin(), quiet.err.end(), '\n'), 1) << Dump(quiet);
  }
}

// The provider's own checks need no server: with the source unreachable, `check` still says
// what else is wrong (here Google credentials that cannot be read).
TEST_F(CliTest, CheckSaysTheProvidersFaultsWhenTheSourceIsUnreachable) {
  const fs::path missing = dir_.path() / "missing-key.json";
  fs::path config =
      Write("config.yaml",
            "provider: cloudsql\n"
            "gcp:\n  project: shop\n  credentials_file: " +
                missing.string() +
                "\n"
                "src:\n  host: 127.0.0.1\n  port: " +
                std::to_string(ClosedPort()) + "\n  name: app\n  instance_id: orders\n");
  CheckRun run = RunCheck(config);
  EXPECT_EQ(run.result.exit_code, 1) << run.Dump();
  EXPECT_EQ(run.Result("source connection"), "FAIL") << run.Dump();
  EXPECT_EQ(run.Result("Google credentials"), "FAIL") << run.Dump();
  EXPECT_TRUE(Contains(run.Detail("Google credentials"), missing.string())) << run.Dump();
}

TEST_F(CliTest, CutoverBeforeRunSaysSo) {
  fs::path config = Write(
      "config.yaml", UnreachableConfig() + "cutover:\n  type: pgbouncer\n  listen: 127.0.0.1:1\n");
  auto r = RunDbRelocate({"cutover", "--config", config.string()});
  EXPECT_EQ(r.exit_code, 1) << Dump(r);
  EXPECT_TRUE(Contains(r.err, "run `db_relocate run` to the end first")) << Dump(r);
}

TEST_F(CliTest, UnknownCommandIsUsageError) {
  auto r = RunDbRelocate({"frobnicate"});
  EXPECT_EQ(r.exit_code, 2) << Dump(r);
  EXPECT_TRUE(r.out.empty()) << Dump(r);
  // The message names what was not understood (not merely "a subcommand is required").
  EXPECT_TRUE(Contains(r.err, "frobnicate")) << Dump(r);
  auto none = RunDbRelocate({});
  EXPECT_EQ(none.exit_code, 2) << "a command is required\n" << Dump(none);
}

TEST_F(CliTest, AnEmptyInstanceToDeleteIsUsageError) {
  fs::path config = Write("config.yaml", UnreachableConfig());
  auto r = RunDbRelocate({"cleanup", "--config", config.string(), "--delete-instance", ""});
  EXPECT_EQ(r.exit_code, 2) << Dump(r);
  EXPECT_TRUE(Contains(r.err, "--delete-instance")) << Dump(r);
  EXPECT_TRUE(Contains(r.err, "names no instance")) << Dump(r);
}

TEST_F(CliTest, UnknownOptionIsUsageError) {
  fs::path config = Write("config.yaml", UnreachableConfig());
  auto r = RunDbRelocate({"check", "--config", config.string(), "--frobnicate"});
  EXPECT_EQ(r.exit_code, 2) << Dump(r);
  EXPECT_TRUE(Contains(r.err, "frobnicate")) << Dump(r);
  auto top = RunDbRelocate({"--frobnicate", "check", "--config", config.string()});
  EXPECT_EQ(top.exit_code, 2) << Dump(top);
}

// ---------------------------------------------------------------------------------------------
// Where the config comes from

TEST_F(CliTest, ConfigOptionSpellings) {
  fs::path config = Write("my.yaml", UnreachableConfig());
  const std::string p = config.string();
  const std::vector<std::vector<std::string>> spellings = {
      {"check", "-config", p},
      {"check", "--config", p},
      {"check", "-config=" + p},
      {"check", "--config=" + p},
  };
  for (const auto& args : spellings) {
    SCOPED_TRACE(args[1]);
    ExpectCheckedUnreachable(RunDbRelocate(args));
  }
}

// Only option names are spelled with one dash or two: a value that starts with a dash is the
// value as written.
TEST_F(CliTest, AValueStartingWithADashIsKept) {
  auto r = RunDbRelocate({"check", "--config", "-weird.yaml"}, {}, dir_.path());
  EXPECT_EQ(r.exit_code, 2) << Dump(r);
  EXPECT_TRUE(Contains(r.err, (dir_.path() / "-weird.yaml").string())) << Dump(r);
  EXPECT_FALSE(Contains(r.err, "--weird")) << Dump(r);
  auto format =
      RunDbRelocate({"status", "-config", Write("config.yaml", UnreachableConfig()).string(),
                     "-output", "-json"});
  EXPECT_EQ(format.exit_code, 2) << Dump(format);
  EXPECT_TRUE(Contains(format.err, "-json")) << Dump(format);
  EXPECT_FALSE(Contains(format.err, "--json")) << Dump(format);
}

TEST_F(CliTest, ConfigDirectoryReadsItsConfigYaml) {
  Write("dir/config.yaml", UnreachableConfig());
  ExpectCheckedUnreachable(RunDbRelocate({"check", "-config", (dir_.path() / "dir").string()}));
  ExpectCheckedUnreachable(RunDbRelocate({"check", "--config", (dir_.path() / "dir").string()}));

  // A directory without config.yaml: the message names the file looked for.
  fs::create_directories(dir_.path() / "bare");
  auto r = RunDbRelocate({"check", "-config", (dir_.path() / "bare").string()});
  EXPECT_EQ(r.exit_code, 2) << Dump(r);
  EXPECT_TRUE(Contains(r.err, (dir_.path() / "bare" / "config.yaml").string())) << Dump(r);
}

TEST_F(CliTest, DefaultConfigIsConfigYamlInWorkingDirectory) {
  Write("cwd/config.yaml", UnreachableConfig());
  ExpectCheckedUnreachable(RunDbRelocate({"check"}, {}, dir_.path() / "cwd"));

  // No config.yaml there: a usage error naming the file looked for.
  fs::create_directories(dir_.path() / "empty");
  auto r = RunDbRelocate({"check"}, {}, dir_.path() / "empty");
  EXPECT_EQ(r.exit_code, 2) << Dump(r);
  EXPECT_TRUE(Contains(r.err, (dir_.path() / "empty" / "config.yaml").string())) << Dump(r);
}

// ---------------------------------------------------------------------------------------------
// Bad configs: exit 2 and a message naming the problem

TEST_F(CliTest, MissingConfigFileNamesThePath) {
  const fs::path missing = dir_.path() / "nowhere" / "absent.yaml";
  auto r = RunDbRelocate({"check", "--config", missing.string()});
  EXPECT_EQ(r.exit_code, 2) << Dump(r);
  EXPECT_TRUE(r.out.empty()) << Dump(r);
  EXPECT_TRUE(Contains(r.err, missing.string())) << Dump(r);
  EXPECT_TRUE(Contains(r.err, "No such file")) << Dump(r);
}

TEST_F(CliTest, YamlSyntaxErrorHasLineAndColumn) {
  // Line 4 opens a flow sequence that is never closed.
  std::string err = RejectedConfig(
      "provider: postgres\n"
      "src:\n"
      "  host: 127.0.0.1\n"
      "  schema: [a, b\n"
      "dst:\n"
      "  host: 10.0.0.1\n");
  EXPECT_TRUE(Contains(err, "YAML syntax error")) << err;
  EXPECT_TRUE(std::regex_search(err, std::regex(R"(\.yaml:[0-9]+:[0-9]+: YAML syntax error)")))
      << err;

  // A key indented less than its siblings, on line 4.
  std::string tab = RejectedConfig(
      "provider: postgres\n"
      "src:\n"
      "  port: 5432\n"
      " name: [\n");
  EXPECT_TRUE(std::regex_search(tab, std::regex(R"(\.yaml:[0-9]+:[0-9]+: YAML syntax error)")))
      << tab;
}

TEST_F(CliTest, UnterminatedQuoteIsSyntaxError) {
  // The quote opened on line 5 is never closed: the rest of the file must not silently become
  // part of src.name (which would drop src.port and connect to the default port instead).
  std::string err = RejectedConfig(
      "provider: postgres\n"
      "dst:\n"
      "  host: 127.0.0.1\n"
      "src:\n"
      "  name: \"app\n"
      "  port: 6543\n");
  EXPECT_TRUE(std::regex_search(err, std::regex(R"(\.yaml:[0-9]+:[0-9]+: YAML syntax error)")))
      << err;
}

TEST_F(CliTest, UnknownKeySuggestsTheRightOne) {
  std::string err = RejectedConfig(
      "provider: postgres\n"
      "src:\n"
      "  hots: 10.0.0.1\n"
      "dst:\n"
      "  host: 10.0.0.2\n");
  EXPECT_TRUE(Contains(err, "unknown key \"src.hots\"")) << err;
  EXPECT_TRUE(Contains(err, "did you mean \"src.host\"")) << err;
  EXPECT_TRUE(Contains(err, ".yaml:3:3:")) << "line and column of the key\n" << err;
}

TEST_F(CliTest, WrongTypeNamesFieldAndValue) {
  std::string err = RejectedConfig(
      "provider: postgres\n"
      "src:\n"
      "  port: abc\n"
      "dst:\n"
      "  host: 10.0.0.2\n");
  EXPECT_TRUE(Contains(err, "src.port")) << err;
  EXPECT_TRUE(Contains(err, "expected an integer")) << err;
  EXPECT_TRUE(Contains(err, "\"abc\"")) << err;
  EXPECT_TRUE(Contains(err, ".yaml:3:9:")) << err;
}

TEST_F(CliTest, PortOutOfRange) {
  std::string err = RejectedConfig(
      "provider: postgres\n"
      "src:\n"
      "  port: 70000\n"
      "dst:\n"
      "  host: 10.0.0.2\n");
  EXPECT_TRUE(Contains(err, "src.port")) << err;
  EXPECT_TRUE(Contains(err, "between 1 and 65535")) << err;
  EXPECT_TRUE(Contains(err, "70000")) << err;

  std::string zero = RejectedConfig(
      "provider: postgres\n"
      "src:\n"
      "  host: 10.0.0.1\n"
      "dst:\n"
      "  host: 10.0.0.2\n"
      "  port: 0\n");
  EXPECT_TRUE(Contains(zero, "dst.port")) << zero;
  EXPECT_TRUE(Contains(zero, "between 1 and 65535")) << zero;
}

TEST_F(CliTest, PostgresProviderNeedsDestinationHost) {
  std::string err = RejectedConfig(
      "provider: postgres\n"
      "src:\n"
      "  host: 10.0.0.1\n"
      "dst:\n"
      "  port: 5433\n");
  EXPECT_TRUE(Contains(err, "dst.host")) << err;
  EXPECT_TRUE(Contains(err, "provider \"postgres\"")) << err;

  std::string no_dst = RejectedConfig("provider: postgres\n");
  EXPECT_TRUE(Contains(no_dst, "dst.host")) << no_dst;
}

TEST_F(CliTest, UnsetEnvironmentVariableIsNamed) {
  const std::string var = "DBR_CLI_TEST_SURELY_UNSET_VAR";
  ASSERT_EQ(std::getenv(var.c_str()), nullptr);
  std::string err = RejectedConfig(
      "provider: postgres\n"
      "src:\n"
      "  host: 10.0.0.1\n"
      "  password: \"${" +
      var +
      "}\"\n"
      "dst:\n"
      "  host: 10.0.0.2\n");
  EXPECT_TRUE(Contains(err, "environment variable " + var + " is not set")) << err;
  EXPECT_TRUE(Contains(err, "src.password")) << err;

  // Set, it is used: the config is accepted and check runs (and fails to connect).
  fs::path config = Write("env.yaml",
                          "provider: postgres\n"
                          "src:\n"
                          "  port: ${DBR_CLI_TEST_PORT}\n"
                          "  password: \"${" +
                              var +
                              "}\"\n"
                              "dst:\n"
                              "  host: 127.0.0.1\n"
                              "  port: " +
                              std::to_string(ClosedPort()) + "\n");
  auto r = RunDbRelocate({"check", "--config", config.string()},
                         {{var, "from-env"}, {"DBR_CLI_TEST_PORT", std::to_string(ClosedPort())}});
  ExpectCheckedUnreachable(r);
  EXPECT_FALSE(Contains(r.out + r.err, "from-env")) << Dump(r);
}

TEST_F(CliTest, InvalidLogLevelIsUsageError) {
  fs::path config = Write("config.yaml", UnreachableConfig());
  auto r = RunDbRelocate({"check", "--config", config.string(), "--log-level", "loud"});
  EXPECT_EQ(r.exit_code, 2) << Dump(r);
  EXPECT_TRUE(r.out.empty()) << Dump(r);
  EXPECT_TRUE(Contains(r.err, "loud")) << Dump(r);
  EXPECT_TRUE(Contains(r.err, "--log-level")) << Dump(r);

  // A valid one, single-dash spelling too, is accepted.
  ExpectCheckedUnreachable(
      RunDbRelocate({"check", "--config", config.string(), "-log-level", "error"}));

  // And in the file.
  std::string err = RejectedConfig(UnreachableConfig() + "log_level: loud\n");
  EXPECT_TRUE(Contains(err, "log_level")) << err;
  EXPECT_TRUE(Contains(err, "\"loud\"")) << err;
}

// ---------------------------------------------------------------------------------------------
// Output formats

TEST_F(CliTest, JsonOutputIsValidJson) {
  fs::path config = Write("config.yaml", UnreachableConfig());
  auto r = RunDbRelocate({"check", "--config", config.string(), "--output", "json"});
  EXPECT_EQ(r.exit_code, 1) << Dump(r);
  nlohmann::json report;
  ASSERT_NO_THROW(report = nlohmann::json::parse(r.out)) << Dump(r);
  ASSERT_TRUE(report.is_object()) << Dump(r);
  EXPECT_EQ(report.value("ok", true), false) << Dump(r);
  ASSERT_TRUE(report.contains("checks") && report["checks"].is_array()) << Dump(r);
  bool found = false;
  for (const auto& c : report["checks"]) {
    if (c.value("name", "") != "source connection") continue;
    found = true;
    EXPECT_EQ(c.value("result", ""), "FAIL") << c.dump();
  }
  EXPECT_TRUE(found) << Dump(r);

  auto eq = RunDbRelocate({"check", "--config=" + config.string(), "--output=json"});
  EXPECT_EQ(eq.exit_code, 1) << Dump(eq);
  EXPECT_TRUE(nlohmann::json::accept(eq.out)) << Dump(eq);

  // A command that cannot do its work says why in JSON too (and in the log).
  Write("db_relocate.state/state.json", "[]");
  for (const char* command : {"plan", "status", "verify"}) {
    auto failed = RunDbRelocate({command, "--config", config.string(), "--output", "json"});
    EXPECT_EQ(failed.exit_code, 1) << command << "\n" << Dump(failed);
    nlohmann::json error;
    ASSERT_NO_THROW(error = nlohmann::json::parse(failed.out)) << command << "\n" << Dump(failed);
    EXPECT_FALSE(error.value("error", "").empty()) << command << "\n" << Dump(failed);
    EXPECT_TRUE(Contains(failed.err, error.value("error", "?"))) << command << "\n" << Dump(failed);
  }
}

TEST_F(CliTest, UnknownOutputFormatIsUsageError) {
  fs::path config = Write("config.yaml", UnreachableConfig());
  auto r = RunDbRelocate({"check", "--config", config.string(), "--output", "xml"});
  EXPECT_EQ(r.exit_code, 2) << Dump(r);
  EXPECT_TRUE(r.out.empty()) << Dump(r);
  EXPECT_TRUE(Contains(r.err, "xml")) << Dump(r);
}

// ---------------------------------------------------------------------------------------------
// Secrets

TEST_F(CliTest, PasswordNeverPrinted) {
  const std::string password = "S3cr3t-pw";
  fs::path config = Write("config.yaml", UnreachableConfig(password));
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{}, {"--output", "json"}, {"--log-level", "debug"}}) {
    std::vector<std::string> args = {"check", "--config", config.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = RunDbRelocate(args);
    EXPECT_EQ(r.exit_code, 1) << Dump(r);
    EXPECT_FALSE(Contains(r.out, password)) << "password on stdout\n" << Dump(r);
    EXPECT_FALSE(Contains(r.err, password)) << "password on stderr\n" << Dump(r);
  }

  // Nor in a config error about that very field.
  std::string err = RejectedConfig(
      "provider: postgres\n"
      "src:\n"
      "  password: [\"" +
      password +
      "\"]\n"
      "dst:\n"
      "  host: 10.0.0.2\n");
  EXPECT_TRUE(Contains(err, "src.password")) << err;
  EXPECT_FALSE(Contains(err, password)) << err;
}

TEST_F(CliTest, LiteralPasswordInAFileOthersCanReadIsWarnedAbout) {
  const std::string password = "S3cr3t-readable";
  fs::path config = Write("config.yaml", UnreachableConfig(password));
  fs::permissions(config, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                              fs::perms::others_read);
  auto r = RunDbRelocate({"check", "--config", config.string()});
  EXPECT_EQ(r.exit_code, 1) << Dump(r);
  EXPECT_TRUE(Contains(r.err, config.string() + " holds src.password in plain text "
                                                "and is readable by group and others (mode 0644)"))
      << Dump(r);
  EXPECT_TRUE(Contains(r.err, "chmod 600")) << Dump(r);
  EXPECT_FALSE(Contains(r.err, password)) << Dump(r);

  fs::permissions(config, fs::perms::owner_read | fs::perms::owner_write);
  auto quiet = RunDbRelocate({"check", "--config", config.string()});
  EXPECT_EQ(quiet.exit_code, 1) << Dump(quiet);
  EXPECT_FALSE(Contains(quiet.err, "in plain text")) << Dump(quiet);
}

}  // namespace
}  // namespace dbr::test
