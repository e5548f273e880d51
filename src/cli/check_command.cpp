// plaster check: the model on every engine and precision this machine offers, each compared with
// the torch fp32 reference on the same inputs (Note [Checking engines]).
#include <algorithm>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>

#include "accuracy/metrics.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/table.h"
#include "engine/registry.h"
#include "model/dtype.h"
#include "model/model_source.h"
#include "model/shape.h"

namespace plaster::cli {
namespace {

// Note [Checking engines]: every configuration runs the same `runs` sets of generated inputs
// (seeds seed, seed+1, ...) as the reference, torch at fp32 without graph optimizations (each node
// by its own ATen kernel: the plainest float32 plaster has). Its outputs are compared output by
// output (OutputCheck, on accuracy::Agreement). Whether they agree depends on what the precision
// promises:
//  - fp32: the largest error on the output's scale (max |Δ| ÷ max |reference|) within
//    --max-rel-error (1e-3: float32 kernels that sum in another order differ by ~1e-6);
//  - bf16, fp16, int8: a cosine similarity of at least --min-cosine (0.99) in every sample and, for
//    a classifier's scores ([batch, classes]), the same top-1 in at least --min-top1 of the rows (90%):
//    reduced precision moves every value, and what matters is whether the answer moves.
// Non-float outputs must match exactly, and a NaN or infinity must be where the reference has one.
struct Thresholds {
  double max_rel_error;
  double min_cosine;
  double min_top1;
};

// One output's agreement with the reference over every run: accuracy::Agreement per sample (the
// batch's rows: cosine, top-1, max abs error), and beside it the largest error on the output's
// scale, the non-finite values where the reference has none (or the reverse), and for a
// non-float output the values that differ.
class OutputCheck {
 public:
  void Add(const engine::HostTensor& got, const engine::HostTensor& want) {
    PLASTER_CHECK(got.shape() == want.shape(), "the output has shape {}; the reference's is {}",
                  model::Shape::Of(got.shape()).ToString(), model::Shape::Of(want.shape()).ToString());
    const int64_t n = want.NumElements();
    values_ += n;
    if (got.is_string() || want.is_string() || !model::IsFloatingDtype(want.dtype())) {
      for (int64_t k = 0; k < n; ++k) {
        exact_ += got.is_string() || want.is_string()
                      ? got.strings()[static_cast<size_t>(k)] != want.strings()[static_cast<size_t>(k)]
                      : engine::ValueAt(got, k) != engine::ValueAt(want, k);
      }
      return;
    }
    std::vector<float> a(static_cast<size_t>(n)), r(static_cast<size_t>(n));
    for (int64_t k = 0; k < n; ++k) {
      const double g = engine::ValueAt(got, k), w = engine::ValueAt(want, k);
      if (!std::isfinite(g) || !std::isfinite(w)) {  // counted here, left out of the figures
        non_finite_ += !((std::isnan(g) && std::isnan(w)) || g == w);
        continue;
      }
      a[static_cast<size_t>(k)] = static_cast<float>(g);
      r[static_cast<size_t>(k)] = static_cast<float>(w);
      max_ref_ = std::max(max_ref_, std::fabs(w));
    }
    // A classifier's scores [batch, classes]: a sample is a row. Anything else is one sample per
    // batch entry, and its top-1 is not reported.
    const auto& shape = want.shape();
    scores_ = shape.size() == 2 && shape[1] >= 2;
    const int64_t samples = shape.empty() || shape[0] == 0 ? 1 : shape[0];
    const int64_t each = n / samples;
    for (int64_t s = 0; s < samples; ++s) {
      agreement_.Add(std::span<const float>(a).subspan(static_cast<size_t>(s * each), static_cast<size_t>(each)),
                     std::span<const float>(r).subspan(static_cast<size_t>(s * each), static_cast<size_t>(each)),
                     "output");
    }
  }
  int64_t values() const { return values_; }
  double max_abs_error() const { return agreement_.max_abs_error(); }
  /// max |Δ| ÷ max |reference|: the error on the output's own scale.
  double max_rel_error() const { return max_ref_ > 0 ? max_abs_error() / max_ref_ : max_abs_error(); }
  /// The worst sample's cosine similarity.
  double cosine() const { return agreement_.min_cosine(); }
  bool has_top1() const { return scores_ && agreement_.count() > 0; }
  accuracy::Proportion top1() const { return agreement_.Top1Agreement(); }
  int64_t non_finite_mismatches() const { return non_finite_; }
  int64_t exact_mismatches() const { return exact_; }

 private:
  accuracy::Agreement agreement_;
  double max_ref_ = 0;
  int64_t values_ = 0, non_finite_ = 0, exact_ = 0;
  bool scores_ = false;
};

struct Row {
  std::string engine;
  engine::Precision precision = engine::Precision::kFp32;
  std::string verdict;  // "reference", "agrees", "DISAGREES", "unsupported", "error"
  std::string reason;
  std::vector<std::pair<std::string, OutputCheck>> outputs;
  bool emulated = false;
};

// Why `a` does not agree at `precision`, or "".
std::string Disagreement(const OutputCheck& a, engine::Precision precision,
                         const Thresholds& t) {
  if (a.exact_mismatches() > 0) {
    return fmt::format("{} of {} non-float values differ", a.exact_mismatches(), a.values());
  }
  if (a.non_finite_mismatches() > 0) {
    return fmt::format("{} values are NaN or infinite where the reference's are not, or the "
                       "reverse",
                       a.non_finite_mismatches());
  }
  if (precision == engine::Precision::kFp32) {
    return a.max_rel_error() > t.max_rel_error
               ? fmt::format("max relative error {:.3g} > {:g}", a.max_rel_error(), t.max_rel_error)
               : "";
  }
  if (a.cosine() < t.min_cosine) {
    return fmt::format("cosine {:.5f} < {:g}", a.cosine(), t.min_cosine);
  }
  if (a.has_top1() && a.top1().value < t.min_top1) {
    return fmt::format("top-1 agreement {:.1f}% < {:g}%", 100 * a.top1().value, 100 * t.min_top1);
  }
  return "";
}

std::vector<engine::HostTensor> Inputs(const engine::Session& s, uint64_t seed) {
  std::vector<engine::HostTensor> inputs;
  for (const auto& spec : s.inputs()) inputs.push_back(engine::GenerateInput(spec, seed));
  return inputs;
}

}  // namespace

CLI::App* AddCheckCommand(CLI::App& app, CheckOptions* o) {
  CLI::App* cmd = app.add_subcommand(
      "check",
      "run the model on every engine and precision available and compare each with the torch "
      "fp32 reference: max abs/rel error, cosine, top-1 agreement; exit status 1 on a "
      "disagreement");
  cmd->add_option("model", o->model, "ONNX file, or builtin:resnet8")->required();
  cmd->add_option("--engine", o->engine,
                  "engines to check, comma-separated (default: every engine but null)");
  cmd->add_option("--precision", o->precision,
                  "precisions, comma-separated (default: every one each engine offers)");
  cmd->add_option("--batch", o->batch, "first dimension of every input that leaves it symbolic")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 31));
  cmd->add_option("--shape", o->shapes, "shape of an input, NAME:DxDx... (repeatable)");
  cmd->add_option("--runs", o->runs, "sets of generated inputs (seeds --seed, --seed+1, ...)")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--seed", o->seed, "seed of the first input set");
  cmd->add_option("--threads", o->threads, "threads (0: the engine's default)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--max-rel-error", o->max_rel_error,
                  "fp32: the largest error allowed, relative to the output's scale")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--min-cosine", o->min_cosine,
                  "bf16, fp16, int8: the least cosine similarity allowed")
      ->check(CLI::Range(-1.0, 1.0));
  cmd->add_option("--min-top1", o->min_top1,
                  "bf16, fp16, int8: the least share of rows with the reference's top-1, in %")
      ->check(CLI::Range(0.0, 100.0));
  cmd->add_flag("--json", o->json, "print the comparison as JSON");
  AddCalibrationOptions(cmd, &o->calibration);
  return cmd;
}

int RunCheck(const CheckOptions& o) {
  std::vector<const engine::Engine*> engines;
  if (!o.engine.empty()) {
    for (const auto& name : SplitItems({o.engine}, "--engine")) {
      engines.push_back(&engine::FindEngine(name));
    }
  } else {
    for (const engine::Engine* e : engine::Engines()) {
      if (e->name() != "null") engines.push_back(e);
    }
  }
  std::vector<engine::Precision> wanted;
  if (!o.precision.empty()) {
    for (const auto& name : SplitItems({o.precision}, "--precision")) {
      wanted.push_back(engine::ParsePrecision(name));
    }
  }
  const Thresholds thresholds{o.max_rel_error, o.min_cosine, o.min_top1 / 100};
  model::LoadOptions load;
  for (const auto& text : o.shapes) load.shapes.push_back(model::ParseShapeOverride(text));
  load.batch = o.batch;
  const model::Model m = model::LoadModelSource(o.model, load);

  // The reference (Note [Checking engines]).
  const engine::Engine& torch = engine::FindEngine("torch");
  engine::SessionOptions plain;
  plain.threads = o.threads;
  plain.optimize = false;
  std::unique_ptr<engine::Session> reference;
  try {
    reference = torch.Compile(m, plain);
  } catch (const Error& e) {
    Fail("the reference, torch at fp32, cannot run the model: {}", e.what());
  }
  std::vector<std::vector<engine::HostTensor>> inputs, expected;
  for (int r = 0; r < o.runs; ++r) {
    inputs.push_back(Inputs(*reference, o.seed + static_cast<uint64_t>(r)));
    expected.push_back(reference->Run(inputs.back()));
  }
  reference.reset();

  std::vector<engine::Precision> all_precisions;
  for (const engine::Engine* e : engines) {
    for (engine::Precision p : e->precisions(engine::Device::kCpu)) {
      if (std::find(all_precisions.begin(), all_precisions.end(), p) == all_precisions.end()) {
        all_precisions.push_back(p);
      }
    }
  }
  engine::QuantizationOptions quantization = MakeQuantization(o.calibration, m, all_precisions);

  std::vector<Row> rows;
  rows.push_back({"torch", engine::Precision::kFp32, "reference",
                  "each node by its own ATen kernel (no graph optimizations)", {}, false});
  for (const engine::Engine* e : engines) {
    // Once per engine: support does not depend on the precision (and OpenCV's is an import).
    std::optional<engine::SupportReport> support;
    std::string support_error;
    try {
      support = e->Support(m);
    } catch (const Error& err) {
      support_error = err.what();
    }
    for (engine::Precision p : e->precisions(engine::Device::kCpu)) {
      if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), p) == wanted.end()) continue;
      Row row{e->name(), p, "agrees", "", {}, e->Emulates(engine::Device::kCpu, p)};
      try {
        PLASTER_CHECK(support.has_value(), "{}", support_error);
        if (!support->AllSupported()) {
          int missing = 0;
          std::string first;
          for (const auto& n : support->nodes) {
            if (n.supported) continue;
            if (missing++ == 0) first = fmt::format("node '{}' ({}): {}", n.node, n.op_type, n.reason);
          }
          row.verdict = "unsupported";
          row.reason = fmt::format("{} node(s) unsupported; the first: {}", missing, first);
          rows.push_back(std::move(row));
          continue;
        }
        engine::SessionOptions options;
        options.threads = o.threads;
        options.precision = p;
        options.quantization = quantization;
        auto session = e->Compile(m, options);
        for (const auto& spec : session->outputs()) row.outputs.emplace_back(spec.name, OutputCheck());
        for (size_t r = 0; r < inputs.size(); ++r) {
          const auto got = session->Run(inputs[r]);
          PLASTER_CHECK(got.size() == expected[r].size(), "{} outputs; the reference has {}",
                        got.size(), expected[r].size());
          for (size_t k = 0; k < got.size(); ++k) row.outputs[k].second.Add(got[k], expected[r][k]);
        }
        for (const auto& [name, a] : row.outputs) {
          const std::string why = Disagreement(a, p, thresholds);
          if (why.empty()) continue;
          row.verdict = "DISAGREES";
          row.reason += (row.reason.empty() ? "" : "; ") +
                        (row.outputs.size() > 1 ? "output '" + name + "': " : "") + why;
        }
        if (p != engine::Precision::kFp32) {  // how much of the model really runs in p
          row.reason += (row.reason.empty() ? "" : "; ") + session->precision_report().Summary();
        }
        if (row.emulated) row.reason += (row.reason.empty() ? "" : "; ") + std::string("emulated");
      } catch (const Error& err) {
        const std::string what = err.what();
        row.verdict = what.rfind("unsupported", 0) == 0 ? "unsupported" : "error";
        row.reason = what;
        row.outputs.clear();
      }
      rows.push_back(std::move(row));
    }
  }
  const bool disagrees = std::any_of(rows.begin(), rows.end(),
                                     [](const Row& r) { return r.verdict == "DISAGREES"; });

  const std::string inputs_text =
      fmt::format("{} run(s) of generated inputs, seeds {}..{}", o.runs, o.seed,
                  o.seed + static_cast<uint64_t>(o.runs) - 1);
  if (o.json) {
    nlohmann::ordered_json results = nlohmann::ordered_json::array();
    for (const auto& row : rows) {
      nlohmann::ordered_json outputs = nlohmann::ordered_json::array();
      for (const auto& [name, a] : row.outputs) {
        nlohmann::ordered_json out = {{"name", name},
                                      {"values", a.values()},
                                      {"max_abs_error", a.max_abs_error()},
                                      {"max_rel_error", a.max_rel_error()},
                                      {"cosine", a.cosine()},
                                      {"non_finite_mismatches", a.non_finite_mismatches()},
                                      {"exact_mismatches", a.exact_mismatches()}};
        if (a.has_top1()) {
          const accuracy::Proportion top1 = a.top1();
          out["top1_agreement"] = top1.value;
          out["top1_interval"] = nlohmann::ordered_json::array({top1.ci.low, top1.ci.high});
          out["rows"] = top1.trials;
        }
        outputs.push_back(std::move(out));
      }
      results.push_back({{"engine", row.engine},
                         {"precision", engine::PrecisionName(row.precision)},
                         {"verdict", row.verdict == "DISAGREES" ? "disagrees" : row.verdict},
                         {"reason", row.reason},
                         {"emulated", row.emulated},
                         {"outputs", std::move(outputs)}});
    }
    nlohmann::ordered_json j = {
        {"model", m.display_name()},
        {"inputs", inputs_text},
        {"reference", {{"engine", "torch"}, {"precision", "fp32"}, {"optimize", false}}},
        {"thresholds",
         {{"fp32_max_rel_error", thresholds.max_rel_error},
          {"min_cosine", thresholds.min_cosine},
          {"min_top1_agreement", thresholds.min_top1}}},
        {"agree", !disagrees},
        {"results", std::move(results)}};
    std::cout << j.dump(2) << "\n";
    return disagrees ? 1 : 0;
  }

  std::cout << fmt::format("plaster check · {}: {}, against torch fp32\n", m.display_name(),
                           inputs_text);
  const bool several = std::any_of(rows.begin(), rows.end(),
                                   [](const Row& r) { return r.outputs.size() > 1; });
  std::vector<std::string> header = {"engine", "precision", "verdict"};
  if (several) header.push_back("output");
  for (const char* h : {"max abs", "max rel", "cosine", "top-1", "note"}) header.emplace_back(h);
  std::vector<TextTable::Align> align(header.size(), TextTable::Align::kRight);
  for (size_t k : {size_t{0}, size_t{1}, size_t{2}, header.size() - 1}) align[k] = TextTable::Align::kLeft;
  if (several) align[3] = TextTable::Align::kLeft;
  TextTable table(header, align);
  for (const auto& row : rows) {
    auto cells = [&](const std::string& output, const OutputCheck* a, const std::string& note) {
      std::vector<std::string> c = {row.engine, engine::PrecisionName(row.precision), row.verdict};
      if (several) c.push_back(output);
      if (a) {
        c.push_back(fmt::format("{:.3g}", a->max_abs_error()));
        c.push_back(fmt::format("{:.3g}", a->max_rel_error()));
        c.push_back(fmt::format("{:.6f}", a->cosine()));
        c.push_back(a->has_top1() ? fmt::format("{:.1f}% of {}", 100 * a->top1().value, a->top1().trials)
                                  : "-");
      } else {
        for (int k = 0; k < 4; ++k) c.emplace_back("");
      }
      c.push_back(note);
      return c;
    };
    if (row.outputs.empty()) {
      table.AddRow(cells("", nullptr, row.reason));
      continue;
    }
    for (size_t k = 0; k < row.outputs.size(); ++k) {
      table.AddRow(cells(row.outputs[k].first, &row.outputs[k].second, k == 0 ? row.reason : ""));
    }
  }
  table.Print(std::cout);
  std::cout << fmt::format(
      "\nfp32 agrees within {:g} of the output's scale; bf16, fp16 and int8 with cosine ≥ {:g} "
      "and top-1 the same in ≥ {:g}% of rows\n",
      thresholds.max_rel_error, thresholds.min_cosine, 100 * thresholds.min_top1);
  if (disagrees) std::cout << "some configurations DISAGREE with the reference (exit status 1)\n";
  return disagrees ? 1 : 0;
}

}  // namespace plaster::cli
