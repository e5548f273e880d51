// plaster run: one inference on given or generated inputs, outputs written as .npy.
#include <onnx/onnx_pb.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>

#include "cli/commands.h"
#include "core/error.h"
#include "core/table.h"
#include "engine/registry.h"
#include "engine/tensor_file.h"
#include "model/dtype.h"
#include "model/model_source.h"

namespace plaster::cli {
namespace {

namespace fs = std::filesystem;

std::string Summary(const engine::HostTensor& t) {
  if (t.dtype() != onnx::TensorProto::FLOAT || t.NumElements() == 0) return "";
  const float* d = t.data_as<float>();
  double lo = d[0], hi = d[0], sum = 0;
  int64_t non_finite = 0;
  for (int64_t k = 0; k < t.NumElements(); ++k) {
    if (!std::isfinite(d[k])) {
      ++non_finite;
      continue;
    }
    lo = std::min<double>(lo, d[k]);
    hi = std::max<double>(hi, d[k]);
    sum += d[k];
  }
  std::string s = fmt::format("min {:.4g}  max {:.4g}  mean {:.4g}", lo, hi,
                              sum / static_cast<double>(t.NumElements()));
  if (non_finite > 0) s += fmt::format("  ({} not finite)", non_finite);
  return s;
}

}  // namespace

CLI::App* AddRunCommand(CLI::App& app, RunOptions* o) {
  CLI::App* cmd = app.add_subcommand(
      "run", "one inference on given or generated inputs; outputs written as NAME.npy");
  cmd->add_option("model", o->model, "ONNX file, or builtin:resnet8")->required();
  cmd->add_option("--engine", o->engine, "engine to run it on")->required();
  cmd->add_option("--input", o->inputs,
                  "NAME=FILE (.npy or ONNX TensorProto .pb), repeatable; inputs not given are "
                  "generated (floats: seeded normal; integers and bools: zero)");
  cmd->add_option("--output-dir", o->output_dir, "write every output as DIR/<name>.npy");
  cmd->add_option("--precision", o->precision,
                  "fp32, bf16 or int8 (the engine lists what it offers on this machine)");
  cmd->add_option("--threads", o->threads, "threads (0: the engine's default)")
      ->check(CLI::Range(0, 1024));
  cmd->add_flag("--no-optimize", o->no_optimize,
                "run every node by its own kernel (no fusion), to check or measure the engine's "
                "graph optimizations");
  cmd->add_option("--shape", o->shapes, "shape of an input, NAME:DxDx... (repeatable)");
  cmd->add_option("--batch", o->batch, "first dimension of every input that leaves it symbolic")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 31));
  cmd->add_option("--seed", o->seed, "seed for generated inputs");
  AddCalibrationOptions(cmd, &o->calibration);
  return cmd;
}

int RunRun(const RunOptions& o) {
  const engine::Engine& eng = engine::FindEngine(o.engine);
  std::map<std::string, engine::HostTensor> given;
  for (const auto& text : o.inputs) {
    const size_t eq = text.find('=');
    PLASTER_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < text.size(),
                  "--input '{}': expected NAME=FILE", text);
    const std::string name = text.substr(0, eq);
    PLASTER_CHECK(!given.count(name), "--input names '{}' twice", name);
    given.emplace(name, engine::ReadTensorFile(text.substr(eq + 1)));
  }
  model::LoadOptions load;
  for (const auto& text : o.shapes) load.shapes.push_back(model::ParseShapeOverride(text));
  load.batch = o.batch;
  // A given input fixes its own shape, unless --shape says otherwise.
  for (const auto& [name, tensor] : given) {
    bool shaped = false;
    for (const auto& s : load.shapes) shaped = shaped || s.input == name;
    if (!shaped) load.shapes.push_back({name, tensor.shape(), "--input"});
  }
  const model::Model m = model::LoadModelSource(o.model, load);
  engine::SessionOptions options;
  options.threads = o.threads;
  options.optimize = !o.no_optimize;
  options.precision = engine::ParsePrecision(o.precision);
  options.quantization = MakeQuantization(o.calibration, m, {options.precision});
  auto session = eng.Compile(m, options);

  std::vector<engine::HostTensor> inputs;
  std::vector<std::string> origin;
  for (const auto& spec : session->inputs()) {
    auto it = given.find(spec.name);
    if (it != given.end()) {
      inputs.push_back(std::move(it->second));
      given.erase(it);
      origin.push_back("given");
    } else {
      inputs.push_back(engine::GenerateInput(spec, o.seed));
      origin.push_back(fmt::format("generated (seed {})", o.seed));
    }
  }
  PLASTER_CHECK(given.empty(), "--input names '{}', which is not an input of the model",
                given.begin()->first);
  const std::vector<engine::HostTensor> outputs = session->Run(inputs);

  std::cout << fmt::format("plaster run · {} on engine '{}'{}\n", m.display_name(), eng.name(),
                           o.precision == "fp32" ? "" : ", " + o.precision);
  PrintPrecision(std::cout, session->precision_report());
  if (!o.output_dir.empty()) fs::create_directories(o.output_dir);
  TextTable table({"", "name", "tensor", "values", "source"},
                  {TextTable::Align::kLeft, TextTable::Align::kLeft, TextTable::Align::kLeft,
                   TextTable::Align::kLeft, TextTable::Align::kLeft});
  for (size_t k = 0; k < inputs.size(); ++k) {
    table.AddRow(
        {"input", session->inputs()[k].name, inputs[k].Describe(), Summary(inputs[k]), origin[k]});
  }
  for (size_t k = 0; k < outputs.size(); ++k) {
    const std::string& name = session->outputs()[k].name;
    std::string where = "-";
    if (!o.output_dir.empty()) {
      // Output names may hold characters a file name cannot; keep the safe ones.
      std::string file = name;
      for (char& c : file) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.')
          c = '_';
      }
      const fs::path path = fs::path(o.output_dir) / (file + ".npy");
      engine::WriteNpy(path, outputs[k]);
      where = path.string();
    }
    table.AddRow({"output", name, outputs[k].Describe(), Summary(outputs[k]), where});
  }
  table.Print(std::cout);
  return 0;
}

}  // namespace plaster::cli
