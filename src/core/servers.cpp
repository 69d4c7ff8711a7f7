#include "core/servers.h"

#include "core/names.h"

namespace dbr {
namespace {

pg::ConnParams FromServer(const ServerConfig& s, const char* label) {
  pg::ConnParams p;
  p.label = label;
  p.host = s.host;
  p.port = s.port;
  p.user = s.user;
  p.password = s.password;
  p.dbname = s.name;
  p.application_name = names::kApplicationName;
  p.sslmode = s.sslmode;
  p.sslrootcert = s.sslrootcert;
  return p;
}

}  // namespace

pg::ConnParams SourceParams(const Config& config) {
  return FromServer(config.src, "source");
}
pg::ConnParams DestinationParams(const Config& config) {
  return FromServer(config.dst, "destination");
}

std::string OtherSide(const std::string& side) {
  return side == "dst" ? "src" : "dst";
}
const char* SideName(const std::string& side) {
  return side == "dst" ? "destination" : "source";
}
const ServerConfig& ServerOf(const Config& config, const std::string& side) {
  return side == "dst" ? config.dst : config.src;
}
pg::ConnParams ParamsOf(const Config& config, const std::string& side) {
  return side == "dst" ? DestinationParams(config) : SourceParams(config);
}

}  // namespace dbr
