// plaster latency: the L letter. Single-stream by default (one query at a time), or any
// scenario with --scenario; the latency distribution with intervals, its parts, early stopping.
#include "cli/commands.h"
#include "loadgen/settings.h"

namespace plaster::cli {

void AddLoadOptions(CLI::App* cmd, LoadOptions* o);  // load_command.cpp

CLI::App* AddLatencyCommand(CLI::App& app, LoadOptions* o) {
  CLI::App* cmd = app.add_subcommand(
      "latency",
      "the latency distribution of a model on an engine: percentiles with 95% intervals, the "
      "queue / copy-in / compute / copy-out parts, early stopping (default: single-stream)");
  AddLoadOptions(cmd, o);
  return cmd;
}

}  // namespace plaster::cli
