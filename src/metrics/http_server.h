// A minimal HTTP/1.1 server for one page: GET /metrics answers the text the callback renders,
// anything else 404. One thread, one connection at a time, `Connection: close`.
//
// The port may be held by another process for a while (see metrics/endpoint.h): the thread then
// tries to bind again every `retry` until it can, and serves from then on.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "model/timings.h"
#include "util/status.h"

namespace dbr::metrics {

class HttpServer {
 public:
  using Render = std::function<std::string()>;
  // `listen` is host:port ("127.0.0.1:9187", "[::1]:9187"); an error only when it is malformed.
  static Result<std::unique_ptr<HttpServer>> Start(
      const std::string& listen, Render render,
      std::chrono::milliseconds retry = Timings::Default().metrics.bind_retry);
  ~HttpServer();  // stops serving and closes the port
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  bool serving() const { return listening_.load(); }

 private:
  HttpServer(std::string host, std::string port, Render render, std::chrono::milliseconds retry);
  void Loop();
  bool TryBind();  // true when bound; logs why not (once per cause)
  void Serve(int client);

  std::string host_, port_;
  Render render_;
  std::chrono::milliseconds retry_;
  int listen_fd_ = -1;
  std::string last_bind_error_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> listening_{false};
  std::thread thread_;
};

}  // namespace dbr::metrics
