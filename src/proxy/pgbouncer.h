// PgBouncer as the proxy: PAUSE the database (in-flight transactions finish, new ones
// wait), rewrite its [databases] entry and RELOAD, then RESUME. Needs pool_mode transaction (or
// statement) for PAUSE to complete while clients stay connected.
#pragma once

#include <memory>

#include "proxy/proxy.h"

namespace dbr {

std::unique_ptr<Proxy> MakePgBouncer(const Config& config);

}  // namespace dbr
