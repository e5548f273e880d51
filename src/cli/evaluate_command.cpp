// `plaster evaluate`: the sweep, the record and the reports; and `plaster evaluate-case`, the
// hidden child that measures one case (Note [Case isolation]). The work is src/evaluate's.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "core/clock.h"
#include "core/error.h"
#include "evaluate/evaluation.h"
#include "evaluate/peak.h"
#include "report/evaluation_report.h"

namespace plaster::cli {

CLI::App* AddEvaluateCommand(CLI::App& app, EvaluateOptions* o) {
  CLI::App* cmd = app.add_subcommand(
      "evaluate", "the PLASTER scorecard: every letter, for every case of a sweep");
  cmd->add_option("model", o->model, "ONNX file, or builtin:resnet8")->required();
  AddSweepOptions(cmd, &o->sweep, "precisions, comma-separated (fp32, bf16, fp16, int8)",
                  "batch sizes, comma-separated");
  cmd->add_option("--latency-bound", o->latency_bound,
                  "the p99 latency to meet (e.g. 7ms): the server peak search, and the "
                  "recommendation");
  cmd->add_option("--budget", o->budget, "time for the whole sweep: 30s, 2m, 1h");
  cmd->add_option("--shape", o->shapes, "shape of an input, NAME:DxDx... (repeatable)");
  cmd->add_option("--seed", o->seed, "seed of every generated input and arrival schedule");
  cmd->add_option("--jsonl", o->jsonl,
                  "the record, one line per case as it finishes (default: MODEL.plaster.jsonl "
                  "in the current folder)");
  cmd->add_flag("--resume", o->resume,
                "keep the finished cases of the --jsonl record and run only the rest");
  cmd->add_option("--json", o->json, "also write the whole record as one JSON document");
  cmd->add_option("--markdown", o->markdown, "also write the scorecard as Markdown");
  cmd->add_option("--csv", o->csv, "also write one CSV row per case");
  cmd->add_option("--html", o->html, "also write a self-contained HTML report with charts");
  AddDataOptions(cmd, &o->data,
                 "the A letter: a dataset each case runs through its session (the forms plaster "
                 "accuracy reads)",
                 false);
  cmd->add_option("--train-data", o->train_data,
                  "the R letter's time-to-accuracy: a labelled training set (.npz), trained on "
                  "in each case, evaluated on --data after every epoch");
  cmd->add_option("--target-accuracy", o->target_accuracy,
                  "with --train-data: the top-1 to reach on --data (e.g. 80%)");
  cmd->add_option("--train-epochs", o->train_epochs, "with --train-data: at most this many")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--lr", o->lr, "with --train-data: SGD's peak learning rate (cosine schedule)")
      ->check(CLI::PositiveNumber);
  AddPowerOptions(cmd, &o->power);
  cmd->add_flag("--no-energy", o->no_energy,
                "leave E out: no idle baseline, no sampler in the cases");
  return cmd;
}

CLI::App* AddEvaluateCaseCommand(CLI::App& app, std::string* spec) {
  CLI::App* cmd = app.add_subcommand("evaluate-case", "");  // internal: no description, hidden
  cmd->group("");
  cmd->add_option("--spec", *spec, "the case, as JSON")->required();
  return cmd;
}

int RunEvaluateCase(const std::string& spec) { return evaluate::RunCaseChild(spec); }

int RunEvaluate(const EvaluateOptions& o, const std::vector<std::string>& command_line) {
  evaluate::EvaluateOptions e;
  e.model = o.model;
  e.shapes = o.shapes;
  e.sweep = ParseSweep(o.sweep);
  e.budget_ns = ParseBudget(o.budget);
  e.latency_bound_ns = ParseLatencyBound(o.latency_bound);
  e.seed = o.seed;
  e.data = ParseCaseData(o.data);
  PLASTER_CHECK(o.train_data.empty() == o.target_accuracy.empty(),
                "--train-data and --target-accuracy go together (the R letter's "
                "time-to-accuracy)");
  if (!o.train_data.empty()) {
    PLASTER_CHECK(!o.data.data.empty(),
                  "--train-data: time-to-accuracy is evaluated on --data, which is missing");
    PLASTER_CHECK(std::filesystem::exists(o.train_data), "--train-data {}: no such file",
                  o.train_data);
    e.data.train_data = o.train_data;
    e.data.target_accuracy = ReadFraction(o.target_accuracy);
    PLASTER_CHECK(e.data.target_accuracy && *e.data.target_accuracy > 0 &&
                      *e.data.target_accuracy <= 1,
                  "--target-accuracy '{}': expected an accuracy such as 80% or 0.8",
                  o.target_accuracy);
    e.data.train_epochs = o.train_epochs;
    e.data.lr = o.lr;
  }
  e.energy = !o.no_energy;
  e.power_sources = MakeSourceOptions(o.power);
  e.sample_interval_s = SampleIntervalSeconds(o.power);
  e.idle_s = IdleSeconds(o.power);
  e.jsonl_path = o.jsonl.empty() ? DefaultRecordPath(o.model, ".plaster.jsonl") : o.jsonl;
  e.resume = o.resume;
  e.command_line = command_line;
  e.peak_cache_dir = evaluate::DefaultPeakCacheDir().string();
  e.progress = ::isatty(STDERR_FILENO) == 1;

  const evaluate::EvaluationResult r = evaluate::Evaluate(e, std::cerr);
  const nlohmann::ordered_json& record = r.record;
  if (!o.json.empty()) WriteTextFile(o.json, record.dump(2) + "\n", "--json");
  if (!o.markdown.empty()) WriteTextFile(o.markdown, report::ScorecardMarkdown(record), "--markdown");
  if (!o.csv.empty()) WriteTextFile(o.csv, report::ScorecardCsv(record), "--csv");
  if (!o.html.empty()) WriteTextFile(o.html, report::EvaluationHtml(record), "--html");
  const bool color = ::isatty(STDOUT_FILENO) == 1 && std::getenv("NO_COLOR") == nullptr;
  report::PrintScorecard(record, std::cout, color);
  std::cout << "\nRecord: " << e.jsonl_path;
  for (const auto* extra : {&o.json, &o.markdown, &o.csv, &o.html}) {
    if (!extra->empty()) std::cout << ", " << *extra;
  }
  std::cout << "\n";
  if (r.interrupted) {
    std::cout << "INTERRUPTED: the record keeps every finished case; --resume runs the rest\n";
    return 130;
  }
  return 0;
}

}  // namespace plaster::cli
