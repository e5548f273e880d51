#include <iostream>

#include "cli/commands.h"
#include "model/model_source.h"
#include "core/error.h"
#include "model/size_analysis.h"
#include "report/size_report.h"

namespace plaster::cli {

CLI::App* AddSizeCommand(CLI::App& app, SizeOptions* o) {
  CLI::App* cmd = app.add_subcommand(
      "size", "S: parameters, MACs/FLOPs per node and op type, activation memory and its peak");
  cmd->add_option("model", o->model, "ONNX file, or builtin:resnet8")->required();
  cmd->add_flag("--json", o->json, "write the JSON record (docs/json-size.md) to stdout");
  cmd->add_option("--top", o->top, "rows in the per-node table, by MACs (0 hides it)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000000));
  cmd->add_option("--shape", o->shapes,
                  "shape of an input, NAME:DxDx... (repeatable); dimensions the model leaves "
                  "symbolic are otherwise 1");
  cmd->add_option("--batch", o->batch, "first dimension of every input that leaves it symbolic")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 31));
  return cmd;
}

int RunSize(const SizeOptions& o) {
  model::LoadOptions load;
  for (const auto& text : o.shapes) load.shapes.push_back(model::ParseShapeOverride(text));
  load.batch = o.batch;
  const model::Model m = model::LoadModelSource(o.model, load);
  const model::SizeReport report = model::AnalyzeSize(m);
  if (o.json) {
    std::cout << report::SizeJson(report).dump(2) << "\n";
  } else {
    report::PrintSizeText(report, {o.top}, std::cout);
  }
  return 0;
}

}  // namespace plaster::cli
