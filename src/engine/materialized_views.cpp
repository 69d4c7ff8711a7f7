#include "engine/materialized_views.h"

#include "model/scope.h"
#include "pg/quote.h"

namespace dbr {

Result<int> RefreshMaterializedViews(pg::Connection& reference, pg::Connection& target,
                                     const Config& config) {
  DBR_ASSIGN_OR_RETURN(ScopeListing scope, ListScope(reference, config));
  auto views = reference.Query(
      "SELECT schemaname, matviewname FROM pg_matviews WHERE schemaname = ANY($1::text[]) AND "
      "ispopulated ORDER BY 1, 2",
      {pg::TextArrayLiteral(scope.schemas)});
  if (!views.ok()) return views.status();
  int refreshed = 0;
  for (int i = 0; i < views->rows(); ++i) {
    if (scope.Of(views->Get(i, 0), views->Get(i, 1)) == Coverage::kOut) continue;
    const std::string name = pg::QualifiedName(views->Get(i, 0), views->Get(i, 1));
    DBR_RETURN_IF_ERROR(target.Exec("REFRESH MATERIALIZED VIEW " + name)
                            .Wrap("refreshing materialized view " + name));
    ++refreshed;
  }
  return refreshed;
}

}  // namespace dbr
