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
  cmd->add_option("--data", o->data,
                  "the dataset accuracy is measured on (the forms plaster accuracy reads)")
      ->required();
  cmd->add_option("--latency-bound", o->latency_bound,
                  "the single-stream p99 latency of one batch to meet (e.g. 7ms)");
  cmd->add_option("--max-accuracy-drop", o->max_drop,
                  "the accuracy a lower precision may lose against fp32, relative (MLPerf: 1%)");
  cmd->add_option("--engine", o->engines, "engines, comma-separated");
  cmd->add_option("--device", o->devices, "devices, comma-separated (cpu, cuda)");
  cmd->add_option("--precision", o->precisions,
                  "precisions, comma-separated, fp32 among them (default: every one the engine "
                  "offers here)");
  cmd->add_option("--batch", o->batches, "batch sizes to climb, ascending, comma-separated");
  cmd->add_option("--threads", o->threads,
                  "threads per session, comma-separated (0: every usable core)");
  cmd->add_option("--budget", o->budget, "time for the whole search: 90s, 5m, 1h");
  cmd->add_option("--accuracy-batch", o->accuracy_batch,
                  "batch of the accuracy cases (default: the largest --batch up to 32)")
      ->check(CLI::Range(int64_t{1}, int64_t{4096}));
  cmd->add_option("--limit", o->limit, "--data: at most N samples")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  cmd->add_option("--subset-seed", o->subset_seed,
                  "--data with --limit: a random subset drawn with this seed");
  cmd->add_option("--preset", o->preset,
                  "image folders: normalisation (imagenet, inception, unit, raw)");
  cmd->add_option("--resize", o->resize, "image folders: the shorter side before the crop")
      ->check(CLI::Range(int64_t{0}, int64_t{65536}));
  cmd->add_option("--shape", o->shapes, "shape of an input, NAME:DxDx... (repeatable)");
  cmd->add_option("--seed", o->seed, "seed of every generated input and arrival schedule");
  cmd->add_option("--jsonl", o->jsonl,
                  "the record, one line per case as it finishes (default: MODEL.optimize.jsonl "
                  "in the current folder)");
  cmd->add_option("--json", o->json, "also write the whole record as one JSON document");
  cmd->add_option("--export", o->export_path,
                  "write the recommended configuration as a model to deploy (int8: a QDQ ONNX)");
  AddCalibrationOptions(cmd, &o->calibration);
  return cmd;
}

int RunOptimize(const OptimizeCommandOptions& o, const std::vector<std::string>& command_line) {
  optimize::OptimizeOptions e;
  e.model = o.model;
  e.shapes = o.shapes;
  e.space.engines = SplitItems(o.engines, "--engine");
  e.space.devices = SplitItems(o.devices, "--device");
  e.space.precisions = SplitItems(o.precisions, "--precision");
  e.space.batches = WholeNumbers(o.batches, "--batch");
  e.space.threads.clear();
  for (int64_t t : WholeNumbers(o.threads, "--threads")) {
    PLASTER_CHECK(t >= 0 && t <= 1024, "--threads {}: must be 0 (every core) to 1024", t);
    e.space.threads.push_back(static_cast<int>(t));
  }
  e.budget_ns = ParseDurationNs(o.budget, "--budget");
  PLASTER_CHECK(e.budget_ns >= 1'000'000'000, "--budget '{}': at least 1s, please", o.budget);
  if (!o.latency_bound.empty()) {
    e.latency_bound_ns = ParseDurationNs(o.latency_bound, "--latency-bound");
    PLASTER_CHECK(*e.latency_bound_ns > 0, "--latency-bound '{}': must be above 0",
                  o.latency_bound);
  }
  e.seed = o.seed;
  e.accuracy_batch = o.accuracy_batch;
  e.data.data = o.data;
  e.data.limit = o.limit;
  e.data.subset_seed = o.subset_seed;
  e.data.preset = o.preset;
  e.data.resize = o.resize;
  e.data.max_drop = ParseFraction(o.max_drop, "--max-accuracy-drop");
  e.data.calibration = o.calibration.data;
  e.data.calibration_method = o.calibration.method;
  engine::ParseCalibrationMethod(o.calibration.method);  // a typo fails here, not in every case
  e.data.calibration_percentile = o.calibration.percentile;
  e.data.calibration_limit = o.calibration.limit;
  e.data.int8_tolerance = ParseTolerance(o.calibration);
  e.jsonl_path = o.jsonl.empty() ? DefaultRecordPath(o.model, ".optimize.jsonl") : o.jsonl;
  e.command_line = command_line;

  if (!o.export_path.empty() && o.calibration.data.empty()) {
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
