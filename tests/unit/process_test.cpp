#include "util/process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "util/files.h"

namespace dbr {
namespace {

namespace fs = std::filesystem;

ProcessOutput RunOk(const ProcessSpec& spec) {
  auto out = RunProcess(spec);
  EXPECT_TRUE(out.ok()) << out.message();
  return out.ok() ? *out : ProcessOutput{};
}

TEST(RunProcessTest, CapturesBothStreamsAndTheExitCode) {
  ProcessOutput out = RunOk({.argv = {"/bin/sh", "-c", "echo to-out; echo to-err >&2; exit 3"}});
  EXPECT_EQ(out.exit_code, 3);
  EXPECT_EQ(out.out, "to-out\n");
  EXPECT_EQ(out.err, "to-err\n");
}

TEST(RunProcessTest, FindsTheProgramOnPathAndPassesArgumentsUnsplit) {
  ProcessOutput out = RunOk({.argv = {"printf", "%s|", "two words", "$HOME", "*"}});
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(out.out, "two words|$HOME|*|");
}

TEST(RunProcessTest, AddsToTheEnvironmentAndReplacesInIt) {
  setenv("DBR_PROCESS_TEST_KEPT", "inherited", 1);
  setenv("DBR_PROCESS_TEST_REPLACED", "old", 1);
  ProcessOutput out = RunOk(
      {.argv = {"/bin/sh", "-c",
                "echo $DBR_PROCESS_TEST_KEPT $DBR_PROCESS_TEST_REPLACED $DBR_PROCESS_TEST_NEW"},
       .env = {{"DBR_PROCESS_TEST_REPLACED", "new"}, {"DBR_PROCESS_TEST_NEW", "added"}}});
  EXPECT_EQ(out.out, "inherited new added\n");
  unsetenv("DBR_PROCESS_TEST_KEPT");
  unsetenv("DBR_PROCESS_TEST_REPLACED");
}

TEST(RunProcessTest, StandardInputIsEmpty) {
  ProcessOutput out = RunOk({.argv = {"wc", "-c"}});
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(out.out, "0\n");
}

TEST(RunProcessTest, AProgramThatCannotBeRunExitsWith127AndSaysWhy) {
  ProcessOutput missing = RunOk({.argv = {"dbr-no-such-program"}});
  EXPECT_EQ(missing.exit_code, 127);
  EXPECT_EQ(missing.err, "cannot execute dbr-no-such-program: No such file or directory\n");
  // Refused (EACCES), or, for root, who may run it, not a program (ENOEXEC): the reason given.
  ProcessOutput not_executable = RunOk({.argv = {"/etc/hostname"}});
  EXPECT_EQ(not_executable.exit_code, 127);
  EXPECT_EQ(not_executable.err.rfind("cannot execute /etc/hostname: ", 0), 0u)
      << not_executable.err;
  EXPECT_NE(DescribeFailure({.argv = {"dbr-no-such-program"}}, missing)
                .find("exited with code 127: cannot execute"),
            std::string::npos);
}

TEST(RunProcessTest, AKilledProgramReports128PlusItsSignal) {
  ProcessOutput out = RunOk({.argv = {"/bin/sh", "-c", "kill -KILL $$"}});
  EXPECT_EQ(out.exit_code, 128 + 9);
}

TEST(RunProcessTest, OutputGoesToFilesWhenAskedAppended) {
  const fs::path dir = fs::temp_directory_path() / ("dbr-process-test-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const fs::path log = dir / "out.log";
  for (int i = 0; i < 2; ++i) {
    ProcessOutput out = RunOk({.argv = {"/bin/sh", "-c", "echo line; echo problem >&2"},
                               .stdout_file = log,
                               .stderr_file = log});
    EXPECT_EQ(out.out, "");
    EXPECT_EQ(out.err, "");
  }
  EXPECT_EQ(*ReadFile(log), "line\nproblem\nline\nproblem\n");
  EXPECT_EQ(fs::status(log).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  fs::remove_all(dir);
}

// Started from several threads at once, as the copy's workers start pg_restore: each gets its
// own output, none of another's pipes (which would keep a reader waiting for an end of file).
TEST(RunProcessTest, RunsFromManyThreadsAtOnce) {
  std::vector<std::thread> threads;
  std::vector<std::string> outputs(8);
  for (size_t i = 0; i < outputs.size(); ++i)
    threads.emplace_back([&, i] {
      auto out = RunProcess({.argv = {"/bin/sh", "-c", "sleep 0.05; echo " + std::to_string(i)}});
      outputs[i] = out.ok() ? out->out : out.message();
    });
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < outputs.size(); ++i) EXPECT_EQ(outputs[i], std::to_string(i) + "\n");
}

TEST(SpawnDetachedTest, StartsTheProgramInASessionOfItsOwnWritingToItsFiles) {
  const fs::path dir = fs::temp_directory_path() / ("dbr-spawn-test-" + std::to_string(getpid()));
  fs::create_directories(dir);
  auto pid =
      SpawnDetached({.argv = {"/bin/sh", "-c", "echo started; echo $HOME >&2; exec sleep 30"},
                     .env = {{"HOME", "/nowhere"}},
                     .stdout_file = dir / "out",
                     .stderr_file = dir / "err"});
  ASSERT_TRUE(pid.ok()) << pid.message();
  EXPECT_TRUE(ProcessAlive(*pid));
  EXPECT_EQ(getsid(*pid), *pid);  // the leader of a new session
  auto written = [&] {
    auto err = ReadFile(dir / "err");
    return err.ok() && !err->empty();
  };
  for (int i = 0; i < 500 && !written(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(*ReadFile(dir / "out"), "started\n");
  EXPECT_EQ(*ReadFile(dir / "err"), "/nowhere\n");
  ASSERT_EQ(kill(*pid, SIGKILL), 0);
  bool gone = false;
  for (int i = 0; i < 500 && !gone; ++i) {
    gone = !ProcessAlive(*pid);  // a zombie until this process ends: gone all the same
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(gone);
  fs::remove_all(dir);
}

TEST(RunProcessTest, AnOutputFileThatCannotBeOpenedIsAnError) {
  auto out = RunProcess({.argv = {"true"}, .stdout_file = "/nonexistent-dir/out.log"});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.message(),
            "cannot open /nonexistent-dir/out.log for a program's output: No such file or "
            "directory");
  auto pid = SpawnDetached({.argv = {"true"}, .stderr_file = "/nonexistent-dir/err.log"});
  ASSERT_FALSE(pid.ok());
  EXPECT_NE(pid.message().find("cannot open /nonexistent-dir/err.log"), std::string::npos);
}

TEST(SpawnDetachedTest, AProgramThatCannotBeRunIsAnError) {
  auto pid = SpawnDetached({.argv = {"dbr-no-such-program"}});
  ASSERT_FALSE(pid.ok());
  EXPECT_EQ(pid.message(), "cannot execute dbr-no-such-program: No such file or directory");
}

}  // namespace
}  // namespace dbr
