// Argument parsing only: turns the command line into a Config and a command to run.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "config/config.h"
#include "config/reference.h"
#include "core/state_servers.h"
#include "model/servers.h"
#include "util/log.h"

namespace {

// The long option names `app` and its commands know ("config", "log-level", ...).
std::set<std::string> LongOptionNames(CLI::App& app) {
  std::set<std::string> names;
  auto add = [&](const CLI::App* a) {
    for (const CLI::Option* o : a->get_options())
      names.insert(o->get_lnames().begin(), o->get_lnames().end());
  };
  add(&app);
  for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) add(sub);
  return names;
}

// The Go original took `-config DIR`; accept single-dash long options (`-config FILE`,
// `-config=FILE`, `-log-level debug`) by rewriting them to the double-dash form CLI11 knows.
// Only names of options: a value that starts with a dash (`--output -report.html`) is kept.
std::vector<std::string> NormalizeArgs(int argc, char** argv, const std::set<std::string>& longs) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.size() > 2 && a[0] == '-' && a[1] != '-' && longs.contains(a.substr(1, a.find('=') - 1)))
      a = "-" + a;
    args.push_back(a);
  }
  std::reverse(args.begin(), args.end());  // CLI11 takes them in reverse order
  return args;
}

int RunCommand(int argc, char** argv) {
  dbr::log::SetLevel("info");
  CLI::App app{
      "db_relocate moves or major-version-upgrades a live PostgreSQL database with no downtime.\n"
      "Exit codes: 0 success, 1 a check or step failed, 2 bad usage or bad configuration."};
  app.name("db_relocate");
  app.require_subcommand(1);
  app.fallthrough();

  std::string config_path = "config.yaml";
  std::string log_level;
  std::string help_topic;
  dbr::cli::CommandOptions options;

  const std::string config_keys_hint =
      "The config file's keys, with their types and defaults: db_relocate help config";
  app.footer(config_keys_hint);
  auto add_config = [&](CLI::App* sub) {
    sub->footer(config_keys_hint);
    sub->add_option("--config", config_path,
                    "YAML config file, or a directory holding config.yaml (default ./config.yaml)");
    sub->add_option("--log-level", log_level,
                    "debug, info, warn, error or fatal (overrides "
                    "log_level in the config)");
  };
  auto add_output = [&](CLI::App* sub) {
    sub->add_option("--output", options.output, "text or json")
        ->check(CLI::IsMember({"text", "json"}));
  };

  // Every command that takes a config: its handler, and whether it reads the relocation's state
  // (then the state must belong to the config's servers before it starts).
  struct Command {
    const char* name;
    const char* help;
    int (*handler)(const dbr::Config&, const dbr::cli::CommandOptions&);
    bool reads_state = false;
    bool json_output = false;
  };
  using namespace dbr::cli;
  const Command commands[] = {
      {"check", "Run the pre-flight checks against the source (and destination)", Check, false,
       true},
      {"plan", "Print what run and cutover would do (scope, sizes, copy, switch); changes nothing",
       Plan, false, true},
      {"run", "Relocate: snapshot, restore, replicate and catch up", Run, true},
      {"status", "Show the relocation's step, copy progress, replication lag and heartbeat",
       ShowStatus, true, true},
      {"verify", "Compare every table between source and destination while replication runs",
       Verify, true, true},
      {"cutover", "Move the application's traffic to the destination", Cutover, true},
      {"rollback", "Move the application's traffic back to the source", Rollback, true},
      {"proxy", "Start or reload a managed proxy and show where it sends traffic", Proxy},
      {"cleanup", "Remove what the relocation created (--dry-run lists it)", Cleanup, true},
      {"report", "Write an HTML report: steps, copy throughput, lag, cut-over, verify", MakeReport},
      {"heartbeat", "", Heartbeat},  // internal: the writer `run` starts
  };
  for (const auto& c : commands) {
    CLI::App* sub = app.add_subcommand(c.name, c.help);
    add_config(sub);
    if (c.json_output) add_output(sub);
    if (std::string(c.name) == "cleanup") {
      sub->add_flag("--dry-run", options.dry_run, "List what would be dropped");
      sub->add_option("--delete-instance", options.delete_instance,
                      "Also delete this Cloud SQL instance, which the relocation made (named, "
                      "never implied)")
          ->check(CLI::Validator(
              [](const std::string& name) {
                return name.empty() ? std::string("names no instance") : std::string();
              },
              "NAME", "non-empty"));
      sub->add_flag("--source-gone", options.source_gone,
                    "After a cut-over, the source is gone for good: clean the destination alone");
    }
    if (std::string(c.name) == "report")
      sub->add_option("--output", options.report_file,
                      "HTML file (default <state_dir>/report.html)");
    if (std::string(c.name) == "proxy")
      sub->add_flag("--stop", options.stop, "Stop the proxy db_relocate manages");
    if (std::string(c.name) == "heartbeat") sub->group("");
  }
  app.add_subcommand("version", "Print the version");
  app.add_subcommand("help", "This help; `help config` lists the config file's keys")
      ->add_option("topic", help_topic, "config: the config file's keys")
      ->check(CLI::IsMember({"config"}));

  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
      known = known || sub->get_name() == argv[1];
    if (!known) {
      std::cerr << "error: unknown command \"" << argv[1]
                << "\"; commands: check, plan, run, status, verify, cutover, rollback, proxy, "
                   "cleanup, report, version, help (see --help)\n";
      return dbr::cli::kExitUsage;
    }
  }
  std::vector<std::string> args = NormalizeArgs(argc, argv, LongOptionNames(app));
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : dbr::cli::kExitUsage;
  }

  CLI::App* chosen = app.get_subcommands().front();
  std::string name = chosen->get_name();
  if (name == "version") {
    std::cout << "db_relocate " << DBR_VERSION << "\n";
    return 0;
  }
  if (name == "help") {
    std::cout << (help_topic == "config" ? dbr::ConfigKeysHelp() : app.help());
    return 0;
  }
  if (!log_level.empty() && !dbr::log::IsValidLevel(log_level)) {
    std::cerr << "error: --log-level " << log_level
              << " is not one of debug, info, warn, error, fatal\n";
    return dbr::cli::kExitUsage;
  }
  auto config = dbr::LoadConfig(config_path);
  if (!config.ok()) {
    std::cerr << "error: " << config.message() << "\n";
    return dbr::cli::kExitUsage;
  }
  dbr::log::SetLevel(log_level.empty() ? config->log_level : log_level);
  for (const auto& warning : dbr::ConfigWarnings(*config)) dbr::log::warn("{}", warning);
  if (auto mine = dbr::CheckStateBelongsToConfig(*config); !mine.ok()) {
    std::cerr << "error: " << mine.message() << "\n";
    return dbr::cli::kExitUsage;
  }
  dbr::UseRecordedDestination(*config);  // after the check: it compares the config's own
  for (const auto& c : commands) {
    if (name != c.name) continue;
    if (c.reads_state)
      if (int rc = CheckStateServers(*config, name); rc != kExitOk) return rc;
    return c.handler(*config, options);
  }
  std::cerr << "error: unknown command " << name << "\n";
  return dbr::cli::kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  // Errors are values throughout; an exception escaping from a library (yaml-cpp, nlohmann::json,
  // the standard library) still ends with a message and exit 1, never with a core dump.
  try {
    return RunCommand(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "error: unexpected failure: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "error: unexpected failure (unknown exception)\n";
  }
  return 1;
}
