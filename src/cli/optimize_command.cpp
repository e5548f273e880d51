// `plaster optimize`: the search, its record and its report; the work is src/optimize's.
#include <algorithm>
#include <iostream>

#include "cli/commands.h"
#include "core/error.h"
#include "core/clock.h"
#include "optimize/export.h"
#include "optimize/optimize.h"
#include "report/evaluation_report.h"

namespace plaster::cli {

CLI::App* AddOptimizeCommand(CLI::App& app, OptimizeCommandOptions* o) {
  CLI::App* cmd = app.add_subcommand(
      "optimize",
      "the configuration to deploy: the most throughput under a latency bound, within an "
      "accuracy drop, measured on your data");
  cmd->add_option("model", o->model, "ONNX file, or builtin:resnet8")->required();
  AddDataOptions(cmd, &o->data,
                 "the dataset accuracy is measured on (the forms plaster accuracy reads)", true);
  cmd->add_option("--latency-bound", o->latency_bound,
                  "the single-stream p99 latency of one batch to meet (e.g. 7ms)");
  AddSweepOptions(cmd, &o->sweep,
                  "precisions, comma-separated, fp32 among them (default: every one the engine "
                  "offers here)",
                  "batch sizes to climb, ascending, comma-separated");
  cmd->add_option("--budget", o->budget, "time for the whole search: 90s, 5m, 1h");
  cmd->add_option("--accuracy-batch", o->accuracy_batch,
                  "batch of the accuracy cases (default: the largest --batch up to 32)")
      ->check(CLI::Range(int64_t{1}, int64_t{4096}));
  cmd->add_option("--shape", o->shapes, "shape of an input, NAME:DxDx... (repeatable)");
  cmd->add_option("--seed", o->seed, "seed of every generated input and arrival schedule");
  cmd->add_option("--jsonl", o->jsonl,
                  "the record, one line per case as it finishes (default: MODEL.optimize.jsonl "
                  "in the current folder)");
  cmd->add_option("--json", o->json, "also write the whole record as one JSON document");
  cmd->add_option("--export", o->export_path,
                  "write the recommended configuration as a model to deploy (int8: a QDQ ONNX)");
  cmd->add_option("--objective", o->objective,
                  "what the recommendation maximises: throughput (samples/s) or energy "
                  "(inferences per joule, the E letter)");
  AddPowerOptions(cmd, &o->power);
  return cmd;
}

int RunOptimize(const OptimizeCommandOptions& o, const std::vector<std::string>& command_line) {
  optimize::OptimizeOptions e;
  e.model = o.model;
  e.shapes = o.shapes;
  e.space = ParseSweep(o.sweep);
  e.budget_ns = ParseBudget(o.budget);
  e.latency_bound_ns = ParseLatencyBound(o.latency_bound);
  e.seed = o.seed;
  e.accuracy_batch = o.accuracy_batch;
  e.data = ParseCaseData(o.data);
  e.jsonl_path = o.jsonl.empty() ? DefaultRecordPath(o.model, ".optimize.jsonl") : o.jsonl;
  e.command_line = command_line;
  e.objective = optimize::ParseObjective(o.objective);
  e.power_sources = MakeSourceOptions(o.power);
  e.sample_interval_s = SampleIntervalSeconds(o.power);
  e.idle_s = IdleSeconds(o.power);

  if (!o.export_path.empty() && o.data.calibration.data.empty()) {
    const auto& p = e.space.precisions;
    PLASTER_CHECK(!p.empty() && std::find(p.begin(), p.end(), "int8") == p.end(),
                  "--export with int8 in the search needs --calibration DATA (a QDQ file holds "
                  "fixed ranges, not dynamic ones); or search without it: --precision fp32,bf16");
  }

  optimize::OptimizeResult r = optimize::Optimize(e, std::cerr);
  std::string export_error;
  if (!o.export_path.empty() && !r.interrupted) {
    try {
      r.record["export"] = optimize::ExportRecommended(e, r.record, o.export_path);
    } catch (const Error& err) {
      export_error = err.what();
    }
  }
  if (!o.json.empty()) WriteTextFile(o.json, r.record.dump(2) + "\n", "--json");
  std::cout << "\n";
  report::PrintOptimization(r.record, std::cout);
  std::cout << "\nRecord: " << e.jsonl_path << (o.json.empty() ? "" : ", " + o.json) << "\n";
  if (r.interrupted) {
    std::cout << "INTERRUPTED: the record keeps every finished case\n";
    return 130;
  }
  PLASTER_CHECK(export_error.empty(), "{}", export_error);
  return 0;
}

}  // namespace plaster::cli
