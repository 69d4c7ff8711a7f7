#include "harness/fault_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <list>
#include <vector>

namespace dbr::test {
namespace {

constexpr size_t kMaxBuffered = 1 << 20;  // per direction: stop reading beyond this

struct Side {
  int fd = -1;
  std::string out;  // bytes waiting to be written to fd
};

struct Pair {
  Side client, server;
};

void SetNonBlocking(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// Closes with an RST instead of a FIN: what a rejecting firewall or a dropped route looks like.
void Reset(int& fd) {
  if (fd < 0) return;
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd);
  fd = -1;
}

int ConnectLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  SetNonBlocking(fd);
  return fd;
}

// Moves what `from` has to read into `to.out`; false when `from` is finished (EOF or error).
bool Pump(Side& from, Side& to) {
  char buf[65536];
  ssize_t n = read(from.fd, buf, sizeof buf);
  if (n > 0) {
    to.out.append(buf, static_cast<size_t>(n));
    return true;
  }
  return n < 0 && (errno == EAGAIN || errno == EINTR);
}

// Writes what is waiting for `side`; false on a write error.
bool Flush(Side& side) {
  while (!side.out.empty()) {
    ssize_t n = write(side.fd, side.out.data(), side.out.size());
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    side.out.erase(0, static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<FaultProxy>> FaultProxy::Start(int target_port) {
  std::unique_ptr<FaultProxy> p(new FaultProxy());
  p->target_port_ = target_port;
  p->listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  if (p->listen_fd_ < 0) return Status::Error(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  setsockopt(p->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(p->listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(p->listen_fd_, 64) != 0 ||
      getsockname(p->listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return Status::Error(std::string("fault proxy: ") + std::strerror(errno));
  SetNonBlocking(p->listen_fd_);
  p->port_ = ntohs(addr.sin_port);
  if (pipe(p->wake_) != 0) return Status::Error(std::string("pipe: ") + std::strerror(errno));
  p->thread_ = std::thread([raw = p.get()] { raw->Loop(); });
  return p;
}

FaultProxy::~FaultProxy() {
  if (thread_.joinable()) {
    (void)!write(wake_[1], "x", 1);
    thread_.join();
  }
  for (int fd : {listen_fd_, wake_[0], wake_[1]})
    if (fd >= 0) close(fd);
}

void FaultProxy::Loop() {
  std::list<Pair> pairs;
  while (true) {
    const Mode mode = mode_.load();
    if (mode == Mode::kReset) {
      for (auto& p : pairs) {
        Reset(p.client.fd);
        Reset(p.server.fd);
      }
      pairs.clear();
    }
    if (mode == Mode::kForward) {
      for (auto it = pairs.begin(); it != pairs.end();) {
        if (it->server.fd < 0) it->server.fd = ConnectLoopback(target_port_);
        if (it->server.fd < 0) {  // the server is down: the client sees its connection reset
          Reset(it->client.fd);
          it = pairs.erase(it);
        } else {
          ++it;
        }
      }
    }

    std::vector<pollfd> fds = {{wake_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    std::vector<std::pair<Pair*, bool>> owners;  // bool: the client side
    if (mode == Mode::kForward) {
      for (auto& p : pairs) {
        for (bool is_client : {true, false}) {
          Side& self = is_client ? p.client : p.server;
          Side& other = is_client ? p.server : p.client;
          short events = 0;
          if (other.out.size() < kMaxBuffered) events |= POLLIN;
          if (!self.out.empty()) events |= POLLOUT;
          fds.push_back({self.fd, events, 0});
          owners.emplace_back(&p, is_client);
        }
      }
    }
    if (poll(fds.data(), fds.size(), 50) < 0 && errno != EINTR) return;
    if (fds[0].revents != 0) break;
    if (fds[1].revents & POLLIN) {
      while (true) {
        int fd = accept(listen_fd_, nullptr, nullptr);
        if (fd < 0) break;
        ++accepted_;
        SetNonBlocking(fd);
        if (mode_.load() == Mode::kReset) {
          Reset(fd);
          continue;
        }
        Pair p;
        p.client.fd = fd;
        pairs.push_back(std::move(p));
      }
    }
    std::vector<Pair*> finished;
    for (size_t i = 2; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      auto [pair, is_client] = owners[i - 2];
      Side& self = is_client ? pair->client : pair->server;
      Side& other = is_client ? pair->server : pair->client;
      bool alive = true;
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) alive = Pump(self, other);
      if (alive && (fds[i].revents & POLLOUT)) alive = Flush(self);
      if (!alive) finished.push_back(pair);
    }
    for (auto it = pairs.begin(); it != pairs.end();) {
      bool done = false;
      for (Pair* f : finished) done = done || f == &*it;
      if (!done) {
        ++it;
        continue;
      }
      // Deliver what the finished side said last (a Terminate message, an error), then close.
      for (Side* s : {&it->client, &it->server}) {
        if (s->fd < 0) continue;
        (void)Flush(*s);
        close(s->fd);
      }
      it = pairs.erase(it);
    }
  }
  for (auto& p : pairs) {
    Reset(p.client.fd);
    Reset(p.server.fd);
  }
}

}  // namespace dbr::test
