// A small client for HAProxy's runtime API (the `stats socket` of the managed or user's HAProxy):
// one command per connection, the reply read until HAProxy closes it, and parsers for the two
// replies haproxy.cpp reads (`show servers state` and `show stat`).
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "util/status.h"

namespace dbr {

// Connects to the unix socket, sends `command` and returns everything HAProxy writes before it
// closes the connection (non-interactive mode: one command, then EOF). The error names the
// socket and what the user can check.
Result<std::string> HAProxyCommand(const std::filesystem::path& socket, const std::string& command,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(5));

// Commands that change state (`set server ... state`, `shutdown sessions server`) answer with an
// empty line on success and with a sentence ("No such server.") on failure; the error names the
// command, the socket and HAProxy's reply.
Status CheckEmptyReply(const std::filesystem::path& socket, const std::string& command,
                       const std::string& reply);

// One line of `show servers state <backend>`.
struct HAProxyServerState {
  std::string backend;
  std::string name;
  std::string addr;
  int port = 0;
  int op_state = 0;     // 0 stopped, 1 starting, 2 running, 3 stopping
  int admin_state = 0;  // bit field: 0x01 forced maint, 0x02 inherited maint, 0x04 `disabled` in
                        // the config, 0x08/0x10 drain, 0x20 DNS maint, 0x40 hostname maint
  // 0x04 alone is not maintenance: HAProxy 2.6 sets it with 0x01 for a server `disabled` in the
  // config and leaves it set after `set server ... state ready` (admin state 4 while serving).
  static constexpr int kMaintBits = 0x01 | 0x02 | 0x20 | 0x40;
  static constexpr int kDrainBits = 0x08 | 0x10;
  // Takes new connections: no maintenance and no drain bit set.
  bool ready() const { return (admin_state & (kMaintBits | kDrainBits)) == 0; }
  bool maint() const { return (admin_state & kMaintBits) != 0; }
  std::string Describe() const;  // "ready", "maint", "drain"
};

// Parses `show servers state` output (format version 1; the header line names the columns).
Result<std::vector<HAProxyServerState>> ParseServersState(const std::string& reply);

// Parses `show stat` CSV output: one map (column name -> value) per proxy or server line.
Result<std::vector<std::map<std::string, std::string>>> ParseStatCsv(const std::string& reply);

}  // namespace dbr
