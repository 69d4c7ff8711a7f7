// A TCP proxy on loopback that the tests put between db_relocate (or a server) and a server, to
// cut the network and restore it while a relocation runs.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "util/status.h"

namespace dbr::test {

class FaultProxy {
 public:
  enum class Mode {
    kForward,    // a working network
    kReset,      // a rejecting firewall: connections are reset, new ones refused at once
    kBlackhole,  // a partition: nothing passes either way, nobody is told; when the network is
                 // restored, what was sent meanwhile is delivered, as TCP would retransmit it
  };

  // Listens on a free loopback port and forwards to 127.0.0.1:target_port.
  static Result<std::unique_ptr<FaultProxy>> Start(int target_port);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  int port() const { return port_; }
  void Cut(Mode mode = Mode::kReset) { mode_ = mode; }
  void Restore() { mode_ = Mode::kForward; }
  // Connections accepted so far (to tell that a client reconnected).
  int accepted() const { return accepted_.load(); }

 private:
  FaultProxy() = default;
  void Loop();

  int listen_fd_ = -1;
  int port_ = 0;
  int target_port_ = 0;
  int wake_[2] = {-1, -1};  // a pipe that ends the loop
  std::atomic<Mode> mode_{Mode::kForward};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

}  // namespace dbr::test
