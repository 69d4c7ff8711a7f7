#include "mysql/servers.h"

#include "model/names.h"
#include "mysql/identity.h"

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

RelocationNames NamesOf(const Config& config) {
  constexpr const char* kBase = "db_relocate";
  const std::string& from = config.src.name;
  const std::string& to = config.dst.name;
  // The arrow is no plain character: a renaming relocation's names are always hashed, and no two
  // pairs of databases share one.
  const std::string tag = from == to ? from : from + "->" + to;
  std::string name = names::SlotName(kBase, tag);
  // A database named "identity" would take the name of the server's marker (mysql/identity.h).
  if (name == kIdentityDatabase) name = names::SlotName(kBase, tag + "->" + tag);
  return {name, name};
}

std::vector<std::string> ReplicatedDatabases(const Config& config, Side side) {
  return {DatabaseOn(config, side), NamesOf(config).database};
}

std::optional<DatabaseRewrite> RewriteInto(const Config& config, Side side) {
  const std::string& from = DatabaseOn(config, Other(side));
  const std::string& to = DatabaseOn(config, side);
  if (from == to) return std::nullopt;
  return DatabaseRewrite{from, to};
}

}  // namespace dbr::mysql
