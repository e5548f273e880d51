// plaster throughput: the T letter. Offline samples/s by default (optionally searching batch size
// and sessions); with --latency-bound, the highest server arrival rate whose p99 meets it.
#include "cli/commands.h"

namespace plaster::cli {

void AddLoadOptions(CLI::App* cmd, LoadOptions* o);  // load_command.cpp

CLI::App* AddThroughputCommand(CLI::App& app, LoadOptions* o) {
  CLI::App* cmd = app.add_subcommand(
      "throughput",
      "throughput of a model on an engine: offline samples/s (default), or with --latency-bound "
      "the highest server rate whose p99 meets the bound, with the curve of the rates tried");
  AddLoadOptions(cmd, o);
  cmd->add_flag("--search", o->search,
                "offline: try batch sizes 1, 2, 4, ... up to --max-batch and 1..--sessions "
                "sessions; report the best (under --latency-bound, if given)");
  cmd->add_option("--max-batch", o->max_batch, "the offline search's largest batch")
      ->check(CLI::Range(int64_t{1}, int64_t{4096}));
  return cmd;
}

}  // namespace plaster::cli
