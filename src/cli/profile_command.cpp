// plaster profile: time every node (or fused group) over repeated runs, with the Size analysis's
// MACs beside each, like trtexec's --dumpProfile. This is how we find what is slow.
#include <algorithm>
#include <iostream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "cli/commands.h"
#include "core/error.h"
#include "core/table.h"
#include "core/units.h"
#include "engine/registry.h"
#include "model/model_source.h"
#include "model/size_analysis.h"

namespace plaster::cli {
namespace {

int64_t Median(std::vector<int64_t> v) {
  PLASTER_ASSERT(!v.empty());
  std::sort(v.begin(), v.end());
  return v[(v.size() - 1) / 2];  // the lower median: a sample that was measured
}

std::string Ms(int64_t ns) { return fmt::format("{:.3f}", static_cast<double>(ns) / 1e6); }

std::string Rate(int64_t flops, int64_t ns) {
  if (flops <= 0 || ns <= 0) return "-";
  return fmt::format("{:.1f}", static_cast<double>(flops) / static_cast<double>(ns));
}

}  // namespace

CLI::App* AddProfileCommand(CLI::App& app, ProfileOptions* o) {
  CLI::App* cmd = app.add_subcommand(
      "profile",
      "time every node over repeated runs: time, share, MACs and GFLOP/s per node and op type");
  cmd->add_option("model", o->model, "ONNX file, or builtin:resnet8")->required();
  cmd->add_option("--engine", o->engine, "engine to profile");
  cmd->add_option("--runs", o->runs, "timed runs (medians are reported)")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--warmup", o->warmup, "untimed runs first")->check(CLI::Range(0, 100000));
  cmd->add_option("--top", o->top, "rows in the per-node table")->check(CLI::Range(0, 1000000));
  cmd->add_option("--precision", o->precision,
                  "fp32, bf16 or int8 (the engine lists what it offers on this machine)");
  cmd->add_option("--threads", o->threads, "threads (0: the engine's default)")
      ->check(CLI::Range(0, 1024));
  cmd->add_flag("--json", o->json, "write the profile as JSON");
  cmd->add_flag("--no-optimize", o->no_optimize,
                "run every node by its own kernel (no fusion), to check or measure the engine's "
                "graph optimizations");
  cmd->add_option("--shape", o->shapes, "shape of an input, NAME:DxDx... (repeatable)");
  cmd->add_option("--batch", o->batch, "first dimension of every input that leaves it symbolic")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 31));
  AddCalibrationOptions(cmd, &o->calibration);
  return cmd;
}

void PrintPrecision(std::ostream& out, const engine::PrecisionReport& report) {
  if (report.requested == engine::Precision::kFp32) return;
  out << fmt::format("  precision   {}; {}\n", report.Summary(), report.hardware);
  if (!report.quantization.empty()) out << fmt::format("              {}\n", report.quantization);
  for (const auto& node : report.kept) {
    out << fmt::format("              kept in fp32: '{}' ({}): {}\n", node.node, node.op_type,
                       node.reason);
  }
}

nlohmann::ordered_json PrecisionJson(const engine::PrecisionReport& report) {
  nlohmann::ordered_json j;
  j["requested"] = engine::PrecisionName(report.requested);
  j["hardware"] = report.hardware;
  j["compute_nodes"] = report.compute_nodes;
  if (!report.quantization.empty()) j["quantization"] = report.quantization;
  auto& kept = j["kept_in_fp32"] = nlohmann::ordered_json::array();
  for (const auto& node : report.kept) {
    kept.push_back({{"node", node.node}, {"op_type", node.op_type}, {"reason", node.reason}});
  }
  return j;
}

int RunProfile(const ProfileOptions& o) {
  const engine::Engine& eng = engine::FindEngine(o.engine);
  model::LoadOptions load;
  for (const auto& text : o.shapes) load.shapes.push_back(model::ParseShapeOverride(text));
  load.batch = o.batch;
  const model::Model m = model::LoadModelSource(o.model, load);
  const model::SizeReport size = model::AnalyzeSize(m);
  std::unordered_map<std::string, const model::NodeSize*> by_name;
  for (const auto& n : size.nodes) by_name[n.name] = &n;

  engine::SessionOptions options;
  options.threads = o.threads;
  options.optimize = !o.no_optimize;
  options.precision = engine::ParsePrecision(o.precision);
  options.quantization = MakeQuantization(o.calibration, m, {options.precision});
  auto session = eng.Compile(m, options);
  std::vector<engine::HostTensor> inputs;
  for (const auto& spec : session->inputs()) inputs.emplace_back(spec.dtype, spec.shape);
  for (int k = 0; k < o.warmup; ++k) session->Run(inputs);

  std::vector<engine::StepTime> steps;
  std::vector<std::vector<int64_t>> samples;
  std::vector<int64_t> totals;
  for (int r = 0; r < o.runs; ++r) {
    std::vector<engine::StepTime> run = session->Profile(inputs);
    if (r == 0) {
      steps = run;
      samples.resize(run.size());
    }
    PLASTER_ASSERT(run.size() == steps.size());
    int64_t total = 0;
    for (size_t k = 0; k < run.size(); ++k) {
      samples[k].push_back(run[k].duration_ns);
      total += run[k].duration_ns;
    }
    totals.push_back(total);
  }

  struct Row {
    const engine::StepTime* step;
    int64_t median_ns;
    std::string op_type;
    int64_t macs = 0, flops = 0;
  };
  std::vector<Row> rows;
  std::map<std::string, Row> by_op;
  int64_t sum_ns = 0;
  for (size_t k = 0; k < steps.size(); ++k) {
    Row row{&steps[k], Median(samples[k]), "", 0, 0};
    for (const auto& name : steps[k].nodes) {
      auto it = by_name.find(name);
      if (it == by_name.end()) continue;
      if (row.op_type.empty()) row.op_type = it->second->op_type;
      if (it->second->cost.counted()) {
        row.macs += it->second->cost.macs;
        row.flops += it->second->cost.flops();
      }
    }
    if (steps[k].kernel.rfind("none:", 0) == 0) {  // a step that computes nothing (a QDQ pair)
      row.macs = 0;
      row.flops = 0;
    }
    if (steps[k].nodes.empty()) {  // an engine that times only the whole run
      row.macs = size.macs;
      row.flops = size.flops;
    }
    if (!steps[k].fused.empty()) row.op_type = steps[k].fused + " (fused)";
    if (row.op_type.empty()) row.op_type = "(whole model)";
    sum_ns += row.median_ns;
    auto& op = by_op[row.op_type];
    op.op_type = row.op_type;
    op.median_ns += row.median_ns;
    op.macs += row.macs;
    op.flops += row.flops;
    op.step = nullptr;
    rows.push_back(row);
  }
  const int64_t total_ns = Median(totals);
  // Nodes no step runs: folded into constants at compile time, or a QDQ pair's QuantizeLinear an
  // int8 kernel stands for. (A fused step runs several nodes: they are covered, not folded.)
  std::set<std::string> covered;
  for (const auto& st : steps) covered.insert(st.nodes.begin(), st.nodes.end());
  const size_t folded = steps.size() > 1 && size.nodes.size() > covered.size()
                            ? size.nodes.size() - covered.size()
                            : 0;

  if (o.json) {
    nlohmann::ordered_json j;
    j["schema"] = "plaster.profile";
    j["schema_version"] = 1;
    j["model"] = m.display_name();
    j["engine"] = eng.name();
    j["precision"] = PrecisionJson(session->precision_report());
    j["runs"] = o.runs;
    j["warmup"] = o.warmup;
    j["median_run_ns"] = total_ns;
    j["flops"] = size.flops;
    j["folded_nodes"] = folded;
    auto& list = j["steps"] = nlohmann::ordered_json::array();
    for (const auto& r : rows) {
      list.push_back({{"label", r.step->label},
                      {"nodes", r.step->nodes},
                      {"op_type", r.op_type},
                      {"kernel", r.step->kernel},
                      {"median_ns", r.median_ns},
                      {"macs", r.macs},
                      {"flops", r.flops}});
    }
    auto& ops = j["op_types"] = nlohmann::ordered_json::array();
    for (const auto& [name, r] : by_op) {
      ops.push_back(
          {{"op_type", name}, {"median_ns", r.median_ns}, {"macs", r.macs}, {"flops", r.flops}});
    }
    std::cout << j.dump(2) << "\n";
    return 0;
  }

  std::cout << fmt::format("plaster profile · {} on engine '{}', {} runs after {} warm-up\n",
                           m.display_name(), eng.name(), o.runs, o.warmup);
  PrintPrecision(std::cout, session->precision_report());
  std::cout << fmt::format("  run         median {} ms (sum of the steps); {} FLOPs → {} GFLOP/s\n",
                           Ms(total_ns), FormatSi(static_cast<double>(size.flops), ""),
                           Rate(size.flops, total_ns));
  if (folded > 0) {
    std::cout << fmt::format(
        "  folded      {} of {} nodes need no step at run time (computed when the model was "
        "compiled, or skipped)\n",
        folded,
        size.nodes.size());
  }
  std::vector<Row> top = rows;
  std::stable_sort(top.begin(), top.end(),
                   [](const Row& a, const Row& b) { return a.median_ns > b.median_ns; });
  top.resize(std::min(top.size(), static_cast<size_t>(o.top)));
  if (!top.empty()) {
    std::cout << fmt::format("\nTop {} of {} steps by median time\n", top.size(), rows.size());
    TextTable t({"step", "op", "ms", "share", "MACs", "GFLOP/s", "kernel"},
                {TextTable::Align::kLeft, TextTable::Align::kLeft, TextTable::Align::kRight,
                 TextTable::Align::kRight, TextTable::Align::kRight, TextTable::Align::kRight,
                 TextTable::Align::kLeft});
    for (const auto& r : top) {
      t.AddRow({r.step->label, r.op_type, Ms(r.median_ns),
                fmt::format("{:.1f}%", 100.0 * static_cast<double>(r.median_ns) /
                                           static_cast<double>(std::max<int64_t>(sum_ns, 1))),
                FormatSi(static_cast<double>(r.macs), ""), Rate(r.flops, r.median_ns),
                r.step->kernel.empty() ? "-" : r.step->kernel});
    }
    t.Print(std::cout);
  }
  std::vector<Row> ops;
  for (const auto& [name, r] : by_op) ops.push_back(r);
  std::stable_sort(ops.begin(), ops.end(),
                   [](const Row& a, const Row& b) { return a.median_ns > b.median_ns; });
  std::cout << "\nBy op type\n";
  TextTable t({"op", "ms", "share", "MACs", "GFLOP/s"},
              {TextTable::Align::kLeft, TextTable::Align::kRight, TextTable::Align::kRight,
               TextTable::Align::kRight, TextTable::Align::kRight});
  for (const auto& r : ops) {
    t.AddRow({r.op_type, Ms(r.median_ns),
              fmt::format("{:.1f}%", 100.0 * static_cast<double>(r.median_ns) /
                                         static_cast<double>(std::max<int64_t>(sum_ns, 1))),
              FormatSi(static_cast<double>(r.macs), ""), Rate(r.flops, r.median_ns)});
  }
  t.Print(std::cout);
  return 0;
}

}  // namespace plaster::cli
