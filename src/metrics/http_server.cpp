#include "metrics/http_server.h"

#include <fmt/format.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "metrics/exposition.h"
#include "util/host_port.h"
#include "util/log.h"

namespace dbr::metrics {
namespace {

constexpr size_t kMaxRequestBytes = 8192;

void SendAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the client went away
    done += static_cast<size_t>(n);
  }
}

std::string Response(int code, const char* reason, const char* type, const std::string& body,
                     bool with_body) {
  return fmt::format(
             "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: "
             "close\r\n\r\n",
             code, reason, type, body.size()) +
         (with_body ? body : "");
}

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& listen, Render render,
                                                      std::chrono::milliseconds retry) {
  auto address = ParseHostPort(listen);
  if (!address.ok()) return address.status().Wrap("metrics.listen");
  return std::unique_ptr<HttpServer>(
      new HttpServer(address->host, std::to_string(address->port), std::move(render), retry));
}

HttpServer::HttpServer(std::string host, std::string port, Render render,
                       std::chrono::milliseconds retry)
    : host_(std::move(host)),
      port_(std::move(port)),
      render_(std::move(render)),
      retry_(retry),
      thread_([this] { Loop(); }) {}

HttpServer::~HttpServer() {
  stop_ = true;
  thread_.join();
}

bool HttpServer::TryBind() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string error;
  if (int rc = getaddrinfo(host_.c_str(), port_.c_str(), &hints, &found); rc != 0) {
    error = gai_strerror(rc);
  } else {
    for (addrinfo* a = found; a != nullptr && listen_fd_ < 0; a = a->ai_next) {
      int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) {
        error = strerror(errno);
        continue;
      }
      // Lets a new owner bind while connections of the last one linger in TIME_WAIT; never a
      // second listener (that would be SO_REUSEPORT).
      int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 16) == 0) {
        listen_fd_ = fd;
      } else {
        error = errno == EADDRINUSE ? "in use" : strerror(errno);
        close(fd);
      }
    }
    freeaddrinfo(found);
  }
  if (listen_fd_ >= 0) {
    log::info("metrics: serving http://{}:{}/metrics", host_, port_);
    last_bind_error_.clear();
    listening_ = true;
    return true;
  }
  if (error != last_bind_error_) {
    if (error == "in use")
      log::info("metrics: {}:{} is in use (by another process of this relocation?); retrying",
                host_, port_);
    else
      log::warn("metrics: cannot listen on {}:{}: {}; retrying", host_, port_, error);
    last_bind_error_ = error;
  }
  return false;
}

void HttpServer::Loop() {
  while (!stop_) {
    if (listen_fd_ < 0 && !TryBind()) {
      const std::chrono::milliseconds check = Timings::Default().metrics.stop_check;
      for (auto waited = std::chrono::milliseconds(0); waited < retry_ && !stop_; waited += check)
        RealClock().SleepFor(check);
      continue;
    }
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0 || (p.revents & POLLIN) == 0) continue;
    int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    Serve(client);
    close(client);
  }
  if (listen_fd_ >= 0) close(listen_fd_);
  listening_ = false;
}

void HttpServer::Serve(int client) {
  timeval timeout{2, 0};
  setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  std::string request;
  char buf[2048];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < kMaxRequestBytes) {
    ssize_t n = recv(client, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    request.append(buf, static_cast<size_t>(n));
  }
  const std::string line = request.substr(0, request.find("\r\n"));
  const size_t sp1 = line.find(' '), sp2 = line.find(' ', sp1 + 1);
  if (sp1 == std::string::npos || sp2 == std::string::npos) {
    SendAll(client, Response(400, "Bad Request", "text/plain", "bad request\n", true));
    return;
  }
  const std::string method = line.substr(0, sp1);
  std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  target = target.substr(0, target.find('?'));
  if ((method == "GET" || method == "HEAD") && target == "/metrics") {
    std::string body;
    try {
      body = render_();
    } catch (const std::exception& e) {
      SendAll(client, Response(500, "Internal Server Error", "text/plain",
                               std::string(e.what()) + "\n", true));
      return;
    }
    SendAll(client, Response(200, "OK", kContentType, body, method == "GET"));
    return;
  }
  SendAll(client,
          Response(404, "Not Found", "text/plain", "not found; try /metrics\n", method != "HEAD"));
}

}  // namespace dbr::metrics
