#include "proxy/haproxy_runtime.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "util/parse.h"
#include "util/text.h"

namespace dbr {
namespace {

// Closes the descriptor on every return path.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

std::vector<std::string> Split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::string field;
  std::istringstream in(line);
  if (sep == ' ') {
    while (in >> field) out.push_back(field);
    return out;
  }
  size_t start = 0;
  while (true) {
    size_t end = line.find(sep, start);
    out.push_back(line.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

bool ToInt(const std::string& s, int* out) {
  auto n = ParseInt(s, INT32_MIN, INT32_MAX);
  if (n) *out = static_cast<int>(*n);
  return n.has_value();
}

}  // namespace

Result<std::string> HAProxyCommand(const std::filesystem::path& socket, const std::string& command,
                                   std::chrono::milliseconds timeout) {
  const std::string where = "HAProxy runtime API " + socket.string();
  const std::string hint = "; is HAProxy running with `stats socket " + socket.string() +
                           " level admin` in its global section (cutover.admin names that socket)?";
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket.string().size() >= sizeof(addr.sun_path))
    return Status::Error(where + ": the path is longer than the " +
                         std::to_string(sizeof(addr.sun_path) - 1) +
                         " bytes a unix socket path may have; choose a shorter cutover.admin");
  std::memcpy(addr.sun_path, socket.c_str(), socket.string().size());

  Fd fd;
  fd.fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd.fd < 0) return Status::Error(where + ": cannot create a socket: " + strerror(errno));
  if (connect(fd.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 &&
      errno != EINPROGRESS)
    return Status::Error(where + ": cannot connect: " + strerror(errno) + hint);

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto wait_for = [&](short events) -> Status {
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return Status::Error(where + ": no answer to `" + command + "` within " +
                             std::to_string(timeout.count()) + " ms; is HAProxy overloaded?");
      pollfd p{fd.fd, events, 0};
      int n = poll(&p, 1, static_cast<int>(left.count()));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::Error(where + ": poll failed: " + strerror(errno));
      if (n > 0) return Status::Ok();
    }
  };

  const std::string line = command + "\n";
  size_t sent = 0;
  while (sent < line.size()) {
    DBR_RETURN_IF_ERROR(wait_for(POLLOUT));
    ssize_t n = send(fd.fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0)
      return Status::Error(where + ": cannot send `" + command + "`: " + strerror(errno) + hint);
    sent += static_cast<size_t>(n);
  }

  std::string reply;
  char buf[16384];
  while (true) {
    DBR_RETURN_IF_ERROR(wait_for(POLLIN));
    ssize_t n = recv(fd.fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0)
      return Status::Error(where + ": cannot read the reply to `" + command +
                           "`: " + strerror(errno));
    if (n == 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  return reply;
}

Status CheckEmptyReply(const std::filesystem::path& socket, const std::string& command,
                       const std::string& reply) {
  std::string text = Trim(reply);
  if (text.empty()) return Status::Ok();
  return Status::Error("HAProxy runtime API " + socket.string() + " refused `" + command +
                       "`: " + text);
}

std::string HAProxyServerState::Describe() const {
  if (ready()) return "ready";
  if (maint()) return "maint";
  return "drain";
}

Result<std::vector<HAProxyServerState>> ParseServersState(const std::string& reply) {
  auto bad = [&](const std::string& why) {
    std::string text = Trim(reply);
    if (text.size() > 300) text = text.substr(0, 300) + "...";
    return Status::Error("unexpected `show servers state` reply from HAProxy (" + why +
                         "): " + text);
  };
  std::vector<std::string> columns;
  std::vector<HAProxyServerState> servers;
  bool seen_version = false;
  for (const std::string& line : SplitLines(reply)) {
    if (Trim(line).empty()) continue;
    if (!seen_version) {
      // The first line is the format version; HAProxy 1.6 to 2.9 write "1".
      if (Trim(line) != "1") return bad("expected format version 1");
      seen_version = true;
      continue;
    }
    if (line[0] == '#') {
      columns = Split(line.substr(1), ' ');
      continue;
    }
    if (columns.empty()) return bad("no header line");
    std::vector<std::string> fields = Split(line, ' ');
    if (fields.size() < columns.size()) return bad("a line has fewer fields than the header");
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < columns.size(); ++i) row[columns[i]] = fields[i];
    HAProxyServerState s;
    s.backend = row["be_name"];
    s.name = row["srv_name"];
    s.addr = row["srv_addr"];
    if (s.backend.empty() || s.name.empty() || !ToInt(row["srv_port"], &s.port) ||
        !ToInt(row["srv_op_state"], &s.op_state) || !ToInt(row["srv_admin_state"], &s.admin_state))
      return bad("missing or non-numeric columns");
    servers.push_back(s);
  }
  if (!seen_version) return bad("empty reply");
  return servers;
}

Result<std::vector<std::map<std::string, std::string>>> ParseStatCsv(const std::string& reply) {
  std::vector<std::string> columns;
  std::vector<std::map<std::string, std::string>> rows;
  for (const std::string& line : SplitLines(reply)) {
    if (Trim(line).empty()) continue;
    if (line.rfind("# ", 0) == 0) {
      columns = Split(line.substr(2), ',');
      continue;
    }
    if (columns.empty())
      return Status::Error("unexpected `show stat` reply from HAProxy (no header line): " +
                           Trim(reply).substr(0, 300));
    std::vector<std::string> fields = Split(line, ',');
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < columns.size() && i < fields.size(); ++i)
      if (!columns[i].empty()) row[columns[i]] = fields[i];
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace dbr
