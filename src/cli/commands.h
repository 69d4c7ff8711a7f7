// One function per command. Each returns the process exit code: 0 success, 1 a check or step
// failed, 2 bad usage or bad configuration.
#pragma once

#include <string>

#include "config/config.h"

namespace dbr::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

struct CommandOptions {
  std::string output = "text";  // text | json (check, plan, status, verify)
  bool dry_run = false;         // cleanup
  std::string delete_instance;  // cleanup: the cloud instance the relocation made, to delete
  bool source_gone = false;     // cleanup: the source is gone for good; the destination alone
  bool stop = false;            // proxy: stop a managed proxy
  std::string report_file;      // report: where to write it (default <state_dir>/report.html)
};

// Before a command that reads the relocation's state (run, status, verify, cutover, rollback,
// cleanup) does anything: kExitUsage when the state belongs to other servers than the config's,
// kExitFailed when a replication slot the state needs is lost and `command` cannot go on without
// it (all but status and cleanup); else kExitOk (core/state_servers.h). `check` reports the same
// as a check of its own.
int CheckStateServers(const Config& config, const std::string& command);

// A command that could not do its work: `what` logged, and with `--output json` printed as
// {"error": what} too, so a reader of the JSON gets JSON; kExitFailed.
int Failed(const CommandOptions& options, const std::string& what);

int Check(const Config& config, const CommandOptions& options);
// What run and cutover would do, read from the servers; changes nothing.
int Plan(const Config& config, const CommandOptions& options);
int Run(const Config& config, const CommandOptions& options);
// Removes what the relocation created, in either direction, and a managed proxy's old backend.
int Cleanup(const Config& config, const CommandOptions& options);
// Compares every table (and schema object) in scope between the two sides while replication
// runs; 1 when anything differs (issue #6).
int Verify(const Config& config, const CommandOptions& options);
int ShowStatus(const Config& config, const CommandOptions& options);
// Moves the application's traffic to the destination, or back to the source (issue #4).
int Cutover(const Config& config, const CommandOptions& options);
int Rollback(const Config& config, const CommandOptions& options);
// Provisions a managed proxy (or checks an unmanaged one) and shows where it sends traffic;
// with `stop`, stops a managed one.
int Proxy(const Config& config, const CommandOptions& options);
// Writes the HTML report of the relocation (also written at the end of run, cutover, rollback).
int MakeReport(const Config& config, const CommandOptions& options);
// The detached heartbeat writer that `run` starts (hidden command).
int Heartbeat(const Config& config, const CommandOptions& options);

}  // namespace dbr::cli
