// The one way db_relocate starts other programs (pg_dump, pg_restore, the detached heartbeat
// writer). Arguments are passed as a vector, never through a shell; secrets go through `env`,
// which other users cannot read, never through argv, which `ps` shows to everyone.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "util/status.h"

namespace dbr {

struct ProcessSpec {
  std::vector<std::string> argv;           // argv[0] is the program (path or PATH name)
  std::map<std::string, std::string> env;  // added to (or replacing in) our environment
  std::filesystem::path stdout_file;       // empty: captured into ProcessOutput::out
  std::filesystem::path stderr_file;       // empty: captured into ProcessOutput::err
};

struct ProcessOutput {
  int exit_code = -1;  // 128+signal when killed by a signal
  std::string out;
  std::string err;
};

// Runs to completion and returns what it printed. A program that is not there or cannot be
// executed exits 127 with the reason in `err`, as in a shell; an error Status when there were not
// the resources to start it (processes, memory, descriptors) or its output file cannot be opened.
Result<ProcessOutput> RunProcess(const ProcessSpec& spec);

// Starts `spec` in a new session, detached from us (it outlives this process); returns its pid,
// or an error when it cannot be run. Its stdout and stderr go to the spec's files (or /dev/null).
Result<pid_t> SpawnDetached(const ProcessSpec& spec);

// True when a process with this pid exists (and is not a zombie).
bool ProcessAlive(pid_t pid);

// Short human form for messages: the program name and its first failing stderr lines.
std::string DescribeFailure(const ProcessSpec& spec, const ProcessOutput& out);

}  // namespace dbr
