#include "mysql/servers.h"

namespace dbr::mysql {
namespace {

mariadb::ConnParams ParamsOf(const ServerConfig& server, const char* label) {
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
  return ParamsOf(config.src, "source");
}

mariadb::ConnParams DestinationParams(const Config& config) {
  return ParamsOf(config.dst, "destination");
}

}  // namespace dbr::mysql
