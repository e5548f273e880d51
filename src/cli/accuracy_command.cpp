// plaster accuracy: the A letter on the user's data for each requested precision, side by side:
// the metric with its 95% interval, the paired difference against fp32 and whether it is real
// (McNemar for classification, paired t for regression), and MLPerf's verdict (≥ 99% of fp32).
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>

#include "accuracy/measure_accuracy.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/table.h"
#include "engine/registry.h"
#include "evaluate/sweep.h"
#include "model/model_source.h"

namespace plaster::cli {
namespace {

std::string Pct(double v) { return fmt::format("{:.2f}%", 100 * v); }
std::string PctInterval(const accuracy::Interval& i) {
  return fmt::format("[{:.2f}, {:.2f}]", 100 * i.low, 100 * i.high);
}
std::string Points(double v) { return fmt::format("{:+.2f}", 100 * v); }


// A table whose first column is left-aligned and the rest right-aligned.
TextTable Table(std::vector<std::string> headers) {
  std::vector<TextTable::Align> align(headers.size(), TextTable::Align::kRight);
  align[0] = TextTable::Align::kLeft;
  return TextTable(std::move(headers), std::move(align));
}

nlohmann::ordered_json IntervalJson(const accuracy::Interval& i) { return {i.low, i.high}; }

}  // namespace

std::optional<double> ReadFraction(const std::string& text) {
  std::string number = text;
  double scale = 1;
  if (!number.empty() && number.back() == '%') {
    number.pop_back();
    scale = 0.01;
  }
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(number, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (number.empty() || used != number.size() || !std::isfinite(v)) return std::nullopt;
  return v * scale;
}

double ParseFraction(const std::string& text, const std::string& what) {
  const std::optional<double> v = ReadFraction(text);
  PLASTER_CHECK(v && *v >= 0 && *v < 1, "{} '{}': expected a fraction below 1 such as 1% or 0.01",
                what, text);
  return *v;
}

CLI::App* AddAccuracyCommand(CLI::App& app, AccuracyOptions* o) {
  CLI::App* cmd = app.add_subcommand(
      "accuracy",
      "the A letter: accuracy on a dataset for each precision, with 95% intervals and the paired "
      "difference against fp32");
  cmd->add_option("model", o->model, "ONNX file")->required();
  cmd->add_option("--data", o->data,
                  ".npz/.npy file, a folder of ONNX test_data_set_* folders, or an image folder "
                  "(one subfolder per class)")
      ->required();
  cmd->add_option("--engine", o->engine, "engine");
  cmd->add_option("--precision", o->precisions, "precisions, comma-separated (fp32 first)");
  cmd->add_option("--batch", o->batch, "samples per session run")
      ->check(CLI::Range(int64_t{1}, int64_t{4096}));
  cmd->add_option("--threads", o->threads, "threads (0: the engine's default)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--limit", o->limit, "at most N samples")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  cmd->add_option("--subset-seed", o->subset_seed,
                  "with --limit: a random subset drawn with this seed instead of the first N");
  cmd->add_option("--preset", o->preset,
                  "image folders: normalisation (imagenet, inception, unit, raw)");
  cmd->add_option("--resize", o->resize,
                  "image folders: the shorter side before the centre crop (0: crop only)")
      ->check(CLI::Range(int64_t{0}, int64_t{65536}));
  cmd->add_option("--max-accuracy-drop", o->max_drop,
                  "the accuracy a lower precision may lose, relative (MLPerf: 1%)");
  cmd->add_option("--shape", o->shapes, "shape of an input, NAME:DxDx... (repeatable)");
  cmd->add_flag("--json", o->json, "write the results as JSON");
  AddCalibrationOptions(cmd, &o->calibration);
  return cmd;
}

int RunAccuracy(const AccuracyOptions& o) {
  const double max_drop = ParseFraction(o.max_drop, "--max-accuracy-drop");
  std::vector<engine::Precision> precisions;
  for (const auto& item : o.precisions) {
    for (const auto& p : evaluate::SplitList(item, "--precision")) {
      precisions.push_back(engine::ParsePrecision(p));
    }
  }
  PLASTER_CHECK(!precisions.empty(), "--precision: no precision given");
  const engine::Engine& eng = engine::FindEngine(o.engine);
  model::LoadOptions load;
  for (const auto& text : o.shapes) load.shapes.push_back(model::ParseShapeOverride(text));
  load.batch = o.batch;
  const model::Model m = model::LoadModelSource(o.model, load);
  accuracy::DatasetOptions data_options;
  data_options.limit = o.limit;
  data_options.subset_seed = o.subset_seed;
  data_options.image_preset = o.preset;
  data_options.resize = o.resize;
  std::unique_ptr<accuracy::Dataset> data =
      accuracy::OpenDataset(o.data, engine::InputSpecs(m), engine::OutputSpecs(m), data_options);

  // The float32 session is the baseline of every delta, and the reference outputs when the
  // dataset has no labels.
  engine::SessionOptions base_options;
  base_options.threads = o.threads;
  base_options.quantization =
      MakeQuantization(o.calibration, m, precisions, o.preset, o.resize);
  std::unique_ptr<engine::Session> base = eng.Compile(m, base_options);
  struct Row {
    engine::Precision precision;
    accuracy::AccuracyResult result;
    std::optional<accuracy::AccuracyDelta> delta;
    engine::PrecisionReport report;
  };
  std::vector<Row> rows;
  std::optional<accuracy::AccuracyResult> baseline;
  for (engine::Precision p : precisions) {
    engine::SessionOptions so = base_options;
    so.precision = p;
    std::unique_ptr<engine::Session> own =
        p == engine::Precision::kFp32 ? nullptr : eng.Compile(m, so);
    engine::Session& session = own ? *own : *base;
    const bool agree = data->label_kind() == accuracy::LabelKind::kNone && own;
    // fp32 is measured once: for its own row, or first as the baseline of a lower precision.
    if (!baseline && (own == nullptr || !agree)) {
      baseline = accuracy::MeasureAccuracy(*base, *data, nullptr);
    }
    Row row{
        p,
        own ? accuracy::MeasureAccuracy(session, *data, agree ? base.get() : nullptr) : *baseline,
        {},
        session.precision_report()};
    if (own && baseline) row.delta = accuracy::CompareAccuracy(*baseline, row.result, max_drop);
    rows.push_back(std::move(row));
  }

  if (o.json) {
    nlohmann::ordered_json j;
    j["schema"] = "plaster.accuracy";
    j["schema_version"] = 1;
    j["model"] = m.display_name();
    j["engine"] = eng.name();
    j["dataset"] = data->Describe();
    j["labels"] = accuracy::LabelKindName(data->label_kind());
    j["samples"] = data->size();
    j["max_accuracy_drop"] = max_drop;
    auto& list = j["precisions"] = nlohmann::ordered_json::array();
    for (const Row& r : rows) {
      nlohmann::ordered_json e;
      e["precision"] = engine::PrecisionName(r.precision);
      e["compute"] = PrecisionJson(r.report);
      if (r.result.top1) {
        e["top1"] = {{"value", r.result.top1->value}, {"ci95", IntervalJson(r.result.top1->ci)}};
        e["top5"] = {{"value", r.result.top5->value}, {"ci95", IntervalJson(r.result.top5->ci)}};
      }
      if (r.result.mse) {
        e["mse"] = {{"value", r.result.mse->mean}, {"ci95", IntervalJson(r.result.mse->ci)}};
        e["mae"] = {{"value", r.result.mae->mean}, {"ci95", IntervalJson(r.result.mae->ci)}};
      }
      if (r.result.agreement) {
        const auto& a = *r.result.agreement;
        const auto top1 = a.Top1Agreement();
        e["agreement"] = {{"top1", top1.value},
                          {"top1_ci95", IntervalJson(top1.ci)},
                          {"max_abs_error", a.max_abs_error()},
                          {"max_rel_error", a.max_rel_error()},
                          {"mean_cosine", a.mean_cosine()},
                          {"min_cosine", a.min_cosine()}};
      }
      if (r.delta) {
        e["delta"] = {{"metric", r.delta->metric},
                      {"fp32", r.delta->baseline},
                      {"difference", r.delta->difference},
                      {"ci95", IntervalJson(r.delta->difference_ci)},
                      {"p_value", r.delta->p_value},
                      {"test", r.delta->test},
                      {"meets_target", r.delta->meets_target}};
      }
      e["seconds"] = r.result.seconds;
      list.push_back(std::move(e));
    }
    std::cout << j.dump(2) << "\n";
    return 0;
  }

  std::cout << fmt::format("plaster accuracy · {} on engine '{}'\n", m.display_name(), eng.name());
  std::cout << fmt::format("  data        {}\n", data->Describe());
  for (const Row& r : rows) PrintPrecision(std::cout, r.report);
  std::cout << "\n";
  const accuracy::LabelKind kind = data->label_kind();
  if (kind == accuracy::LabelKind::kClass) {
    TextTable t =
        Table({"precision", "top-1", "95% CI", "top-5", "Δ top-1 vs fp32 (points)", "95% CI",
               "McNemar p", fmt::format("≥ {:g}% of fp32", 100 * (1 - max_drop))});
    for (const Row& r : rows) {
      const auto& d = r.delta;
      t.AddRow(
          {engine::PrecisionName(r.precision), Pct(r.result.top1->value),
           PctInterval(r.result.top1->ci), Pct(r.result.top5->value),
           d ? Points(d->difference) : "-",
           d ? fmt::format("[{}, {}]", Points(d->difference_ci.low), Points(d->difference_ci.high))
             : "-",
           d ? fmt::format("{:.3g}{}", d->p_value, d->p_value < 0.05 ? " (real)" : " (chance)")
             : "-",
           d ? (d->meets_target ? "yes" : "NO") : "baseline"});
    }
    t.Print(std::cout);
  } else if (kind == accuracy::LabelKind::kTargets) {
    TextTable t = Table({"precision", "MSE", "95% CI", "MAE", "Δ MSE vs fp32", "paired t p",
                         fmt::format("≤ {:g}% of fp32 MSE", 100 * (1 + max_drop))});
    for (const Row& r : rows) {
      const auto& d = r.delta;
      t.AddRow({engine::PrecisionName(r.precision), fmt::format("{:.6g}", r.result.mse->mean),
                fmt::format("[{:.6g}, {:.6g}]", r.result.mse->ci.low, r.result.mse->ci.high),
                fmt::format("{:.6g}", r.result.mae->mean),
                d ? fmt::format("{:+.3g}", d->difference) : "-",
                d ? fmt::format("{:.3g}", d->p_value) : "-",
                d ? (d->meets_target ? "yes" : "NO") : "baseline"});
    }
    t.Print(std::cout);
  } else {
    TextTable t = Table({"precision", "top-1 agreement with fp32", "95% CI", "max abs error",
                         "max rel error", "mean cosine", "min cosine"});
    for (const Row& r : rows) {
      if (!r.result.agreement) {
        t.AddRow({engine::PrecisionName(r.precision), "(the reference)", "-", "-", "-", "-", "-"});
        continue;
      }
      const auto& a = *r.result.agreement;
      const auto top1 = a.Top1Agreement();
      t.AddRow({engine::PrecisionName(r.precision), Pct(top1.value), PctInterval(top1.ci),
                fmt::format("{:.3g}", a.max_abs_error()), fmt::format("{:.3g}", a.max_rel_error()),
                fmt::format("{:.6f}", a.mean_cosine()), fmt::format("{:.6f}", a.min_cosine())});
    }
    t.Print(std::cout);
    std::cout << "(no labels: each precision is compared with the fp32 outputs, sample by "
                 "sample)\n";
  }
  return 0;
}

}  // namespace plaster::cli
