// The proxy outside a switch: started with `run`, shown and stopped by `db_relocate proxy`.
#pragma once

#include <string>

#include "config/config.h"
#include "util/status.h"

namespace dbr {

// With cutover.manage: writes the proxy's config pointing at the current primary and starts or
// reloads it. Without: checks that the proxy answers.
Status ProvisionProxy(const Config& config);

// `db_relocate proxy`: ProvisionProxy, unless another command of this relocation runs or a switch
// is recorded unfinished (the proxy may be held or pointed mid-switch: only the switch's own
// command may move it then). Then it changes nothing and says why; but a managed proxy that is
// not running is started for the state's primary, where the stage says the application may
// write there (else an error says what to do).
Status ProvisionProxyOutsideSwitches(const Config& config);

// Stops a managed proxy (the application loses its way in: for when it no longer uses it).
Status StopManagedProxy(const Config& config);

// What the proxy does now, for `db_relocate proxy`.
Result<std::string> DescribeProxy(const Config& config);

}  // namespace dbr
