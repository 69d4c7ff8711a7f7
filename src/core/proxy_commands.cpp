#include "core/proxy_commands.h"

#include <fmt/format.h>

#include "model/run_state.h"
#include "proxy/proxy.h"
#include "util/files.h"
#include "util/log.h"

namespace dbr {

Status ProvisionProxy(const Config& config) {
  auto proxy = MakeProxy(config);
  if (!proxy.ok()) return proxy.status();
  StateStore store(config.state_dir);
  auto state = store.Load();
  if (!state.ok()) return state.status();
  const Side active = state->primary;
  if (!config.cutover.manage) {
    auto ps = (*proxy)->Inspect();
    if (!ps.ok()) return ps.status();
    if (!ps->running)
      return Status::Error(
          fmt::format("the proxy ({}) does not answer: {}", (*proxy)->name(), ps->detail));
    return Status::Ok();
  }
  return (*proxy)->Provision(BackendOf(config, active), BackendOf(config, Other(active)));
}

Status ProvisionProxyOutsideSwitches(const Config& config) {
  DBR_RETURN_IF_ERROR(HasCutoverBlock(config));
  DBR_RETURN_IF_ERROR(EnsureDirectory(config.state_dir));
  auto lock = StateStore(config.state_dir).Lock();
  if (!lock.ok()) {
    log::warn("the proxy is left as it is: {}", lock.message());
    return Status::Ok();
  }
  auto state = StateStore(config.state_dir).Load();
  if (!state.ok()) return state.status();
  if (state->switching) {
    const SwitchRecord& record = *state->switching;
    auto proxy = MakeProxy(config);
    if (!proxy.ok()) return proxy.status();
    auto inspected = (*proxy)->Inspect();
    if (config.cutover.manage && inspected.ok() && !inspected->running) {
      // The switch's command cannot go on without a proxy to read. Started for the primary
      // where that is where the application may write: before the proxy pointed at the new
      // side, once switched, or once an undo sent it back.
      const bool known =
          record.stage == SwitchStage::kPrepared || record.stage == SwitchStage::kPaused ||
          record.stage == SwitchStage::kSwitched || record.undo != UndoProgress::kNone;
      if (!known)
        return Status::Error(fmt::format(
            "the managed proxy is not running, and the interrupted {} stopped at stage {}, "
            "where the application may have been sent to either side: start the proxy by hand "
            "({}), sending the application to the side it wrote to last, then run `db_relocate "
            "{}` again",
            SwitchName(record.to), record.stage, config.cutover.config_file,
            SwitchCommand(record.to)));
      log::warn("{}: starting the managed proxy for the {}", record.Interrupted(),
                SideName(state->primary));
      return ProvisionProxy(config);
    }
    log::warn("the proxy is left as it is: {}; `db_relocate {}` finishes or undoes it",
              record.Interrupted(), SwitchCommand(record.to));
    return Status::Ok();
  }
  return ProvisionProxy(config);
}

Status StopManagedProxy(const Config& config) {
  auto proxy = MakeProxy(config);
  if (!proxy.ok()) return proxy.status();
  if (!config.cutover.manage)
    return Status::BadConfig(
        "cutover.manage is false: db_relocate did not start this proxy and "
        "does not stop it");
  return (*proxy)->StopManaged();
}

Result<std::string> DescribeProxy(const Config& config) {
  auto proxy = MakeProxy(config);
  if (!proxy.ok()) return proxy.status();
  auto ps = (*proxy)->Inspect();
  if (!ps.ok()) return ps.status();
  StateStore store(config.state_dir);
  auto state = store.Load();
  const Side primary = state.ok() ? state->primary : Side::kSource;
  std::string out = fmt::format("proxy: {} ({}), listening on {}\n", (*proxy)->name(),
                                config.cutover.manage ? "managed by db_relocate" : "not managed",
                                config.cutover.listen);
  out += fmt::format("  state: {}\n", !ps->running ? "not running"
                                      : ps->paused ? "paused"
                                                   : "running");
  out += fmt::format("  sends traffic to: {}\n", !ps->active ? std::string("neither database")
                                                             : std::string(SideName(*ps->active)));
  out += fmt::format("  application writes should go to: {}\n", SideName(primary));
  out += "  " + ps->detail + "\n";
  return out;
}

}  // namespace dbr
