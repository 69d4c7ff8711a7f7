#include "mysql/servers.h"

#include "mysql/heartbeat.h"

namespace dbr::mysql {
namespace {

mariadb::ConnParams ParamsOfServer(const ServerConfig& server, const char* label) {
  mariadb::ConnParams p;
  p.label = label;
  p.host = server.host;
  p.port = server.port;
  p.user = server.user;
  p.password = server.password;
  return p;
}

}  // namespace

mariadb::ConnParams SourceParams(const Config& config) {
  return ParamsOfServer(config.src, "source");
}

mariadb::ConnParams DestinationParams(const Config& config) {
  return ParamsOfServer(config.dst, "destination");
}

mariadb::ConnParams ParamsOf(const Config& config, Side side) {
  return side == Side::kSource ? SourceParams(config) : DestinationParams(config);
}

const std::string& DatabaseOn(const Config& config, Side side) {
  return side == Side::kSource ? config.src.name : config.dst.name;
}

std::vector<std::string> ReplicatedDatabases(const Config& config, Side side) {
  return {DatabaseOn(config, side), kOwnDatabase};
}

std::optional<DatabaseRewrite> RewriteInto(const Config& config, Side side) {
  const std::string& from = DatabaseOn(config, Other(side));
  const std::string& to = DatabaseOn(config, side);
  if (from == to) return std::nullopt;
  return DatabaseRewrite{from, to};
}

}  // namespace dbr::mysql
