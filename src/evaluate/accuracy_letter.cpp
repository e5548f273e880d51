// Note [Accuracy in evaluate]: the A letter of a sweep. Each case's child process runs the
// dataset through the session it measures (after P, before L: the same compiled session, so an
// int8 case's figures come from the very kernels whose speed L and T report) and records the
// metric with its interval, and every sample's result (right or wrong; squared error) under
// `samples`. Differences between precisions are paired comparisons on those per-sample results,
// so they are made by the parent once every case is done: each lower precision against the fp32
// case of the same engine and device, preferring the same batch and threads. They are added to
// the document form of the record (--json, --markdown, ...), not to the JSON Lines record, which
// keeps each case as its child measured it; a --resume recomputes them.

#include "evaluate/accuracy_letter.h"

#include <fmt/format.h>

#include "accuracy/calibration_data.h"
#include "accuracy/measure_accuracy.h"
#include "core/error.h"
#include "evaluate/calibration_cache.h"

namespace plaster::evaluate {

nlohmann::json ToJson(const CaseData& d) {
  return {{"data", d.data},
          {"limit", d.limit ? nlohmann::json(*d.limit) : nlohmann::json(nullptr)},
          {"subset_seed", d.subset_seed ? nlohmann::json(*d.subset_seed) : nlohmann::json(nullptr)},
          {"preset", d.preset},
          {"resize", d.resize},
          {"max_drop", d.max_drop},
          {"calibration", d.calibration},
          {"calibration_method", d.calibration_method},
          {"calibration_percentile", d.calibration_percentile},
          {"calibration_limit", d.calibration_limit},
          {"calibration_cache", d.calibration_cache},
          {"int8_tolerance", d.int8_tolerance ? nlohmann::json(*d.int8_tolerance) : nlohmann::json(nullptr)},
          {"train_data", d.train_data},
          {"target_accuracy",
           d.target_accuracy ? nlohmann::json(*d.target_accuracy) : nlohmann::json(nullptr)},
          {"train_epochs", d.train_epochs},
          {"lr", d.lr}};
}

CaseData CaseDataFromJson(const nlohmann::json& j) {
  try {
    CaseData d;
    d.data = j.at("data").get<std::string>();
    if (!j.at("limit").is_null()) d.limit = j.at("limit").get<int64_t>();
    if (!j.at("subset_seed").is_null()) d.subset_seed = j.at("subset_seed").get<uint64_t>();
    d.preset = j.at("preset").get<std::string>();
    d.resize = j.at("resize").get<int64_t>();
    d.max_drop = j.at("max_drop").get<double>();
    d.calibration = j.at("calibration").get<std::string>();
    d.calibration_method = j.at("calibration_method").get<std::string>();
    d.calibration_percentile = j.at("calibration_percentile").get<double>();
    d.calibration_limit = j.at("calibration_limit").get<int64_t>();
    d.calibration_cache = j.value("calibration_cache", "");
    if (j.contains("int8_tolerance") && !j["int8_tolerance"].is_null()) {
      d.int8_tolerance = j["int8_tolerance"].get<double>();
    }
    d.train_data = j.value("train_data", "");
    if (j.contains("target_accuracy") && !j["target_accuracy"].is_null()) {
      d.target_accuracy = j["target_accuracy"].get<double>();
    }
    d.train_epochs = j.value("train_epochs", 10);
    d.lr = j.value("lr", 0.05);
    return d;
  } catch (const nlohmann::json::exception& e) {
    Fail("case spec: data: {}", e.what());
  }
}

engine::QuantizationOptions CaseQuantization(const CaseData& d, const model::Model& m,
                                             engine::Precision precision) {
  engine::QuantizationOptions q;
  q.method = engine::ParseCalibrationMethod(d.calibration_method);
  q.percentile = d.calibration_percentile;
  q.layer_tolerance = d.int8_tolerance;
  if (precision == engine::Precision::kInt8 && !d.calibration.empty()) {
    q.calibration =
        accuracy::OpenCalibrationData(d.calibration, engine::InputSpecs(m), engine::OutputSpecs(m),
                                      d.calibration_limit, d.preset, d.resize);
    if (auto cached = ReadCalibrationCache(d)) *q.calibrated = std::move(*cached);
  }
  return q;
}

namespace {

Metric Number(std::string name, std::string label, double value, std::string unit, Better better,
              std::string how) {
  Metric m;
  m.name = std::move(name);
  m.letter = "A";
  m.label = std::move(label);
  m.value = value;
  m.unit = std::move(unit);
  m.better = better;
  m.how = std::move(how);
  return m;
}

void SetInterval(Metric& m, double lower, double upper) {
  m.lower = lower;
  m.upper = upper;
  m.coverage = 0.95;
  m.has_interval = true;
}

}  // namespace

void MeasureAccuracyLetter(const CaseData& d, const model::Model& m, const engine::Engine& eng,
                           const engine::SessionOptions& options, engine::Session& session,
                           CaseRecord& record) {
  accuracy::DatasetOptions o;
  o.limit = d.limit;
  o.subset_seed = d.subset_seed;
  o.image_preset = d.preset;
  o.resize = d.resize;
  std::unique_ptr<accuracy::Dataset> data;
  try {
    data = accuracy::OpenDataset(d.data, session.inputs(), session.outputs(), o);
  } catch (const Error& e) {
    throw e.WithContext("--data");
  }
  std::unique_ptr<engine::Session> reference;
  if (data->label_kind() == accuracy::LabelKind::kNone &&
      options.precision != engine::Precision::kFp32) {
    engine::SessionOptions fp32 = options;
    fp32.precision = engine::Precision::kFp32;
    fp32.quantization = {};
    reference = eng.Compile(m, fp32);
  }
  const accuracy::AccuracyResult r = accuracy::MeasureAccuracy(session, *data, reference.get());
  const std::string how = data->Describe();
  if (r.top1) {
    Metric top1 = Number("accuracy.top1", "top-1", 100 * r.top1->value, "%", Better::kHigher,
                         how + "; Wilson interval");
    SetInterval(top1, 100 * r.top1->ci.low, 100 * r.top1->ci.high);
    top1.samples = "accuracy.top1_correct";
    record.Add(std::move(top1));
    std::vector<double> correct;
    for (bool c : r.top1_correct) correct.push_back(c ? 1.0 : 0.0);
    record.SetSamples("accuracy.top1_correct", std::move(correct));
  }
  if (r.top5) {
    Metric top5 = Number("accuracy.top5", "top-5", 100 * r.top5->value, "%", Better::kHigher,
                         how + "; Wilson interval");
    SetInterval(top5, 100 * r.top5->ci.low, 100 * r.top5->ci.high);
    record.Add(std::move(top5));
  }
  if (r.mse) {
    Metric mse = Number("accuracy.mse", "MSE", r.mse->mean, "", Better::kLower,
                        how + "; Student's t interval");
    if (r.mse->interval_known) SetInterval(mse, r.mse->ci.low, r.mse->ci.high);
    mse.samples = "accuracy.squared_error";
    record.Add(std::move(mse));
    record.SetSamples("accuracy.squared_error", r.squared_error);
  }
  if (r.mae) {
    Metric mae = Number("accuracy.mae", "MAE", r.mae->mean, "", Better::kLower,
                        how + "; Student's t interval");
    if (r.mae->interval_known) SetInterval(mae, r.mae->ci.low, r.mae->ci.high);
    record.Add(std::move(mae));
  }
  if (r.agreement) {
    const auto top1 = r.agreement->Top1Agreement();
    Metric agree = Number("accuracy.agreement_top1", "top-1 agreement with fp32",
                          100 * top1.value, "%", Better::kHigher,
                          how + "; no labels: against an fp32 session of the same engine");
    SetInterval(agree, 100 * top1.ci.low, 100 * top1.ci.high);
    record.Add(std::move(agree));
    record.Add(Number("accuracy.min_cosine", "smallest cosine with fp32",
                      r.agreement->min_cosine(), "", Better::kHigher, how));
    record.Add(Number("accuracy.max_abs_error", "largest absolute error vs fp32",
                      r.agreement->max_abs_error(), "", Better::kLower, how));
  } else if (!r.top1 && !r.mse) {
    record.SetLetter("A", "unavailable",
                     "the data has no labels, and this case is fp32: the reference itself");
    return;
  }
  record.SetLetter("A", "measured");
}

namespace {

// The per-sample results a case recorded, as MeasureAccuracy's result (what CompareAccuracy
// reads); nullopt when it has none.
std::optional<accuracy::AccuracyResult> Recorded(const nlohmann::ordered_json& c) {
  const auto& samples = c["samples"];
  accuracy::AccuracyResult r;
  if (samples.contains("accuracy.top1_correct")) {
    r.kind = accuracy::LabelKind::kClass;
    int64_t right = 0;
    for (const auto& v : samples["accuracy.top1_correct"]) {
      r.top1_correct.push_back(v.get<double>() != 0);
      right += r.top1_correct.back() ? 1 : 0;
    }
    r.samples = static_cast<int64_t>(r.top1_correct.size());
    r.top1 = accuracy::WilsonProportion(right, r.samples);
    return r;
  }
  if (samples.contains("accuracy.squared_error")) {
    r.kind = accuracy::LabelKind::kTargets;
    r.squared_error = samples["accuracy.squared_error"].get<std::vector<double>>();
    r.samples = static_cast<int64_t>(r.squared_error.size());
    r.mse = accuracy::MeanWithInterval(r.squared_error);
    return r;
  }
  return std::nullopt;
}

}  // namespace

void AddAccuracyDeltas(nlohmann::ordered_json& cases, double max_drop) {
  auto same = [](const nlohmann::ordered_json& a, const nlohmann::ordered_json& b,
                 const char* key) { return a[key] == b[key]; };
  for (auto& c : cases) {
    if (c["status"] != "passed" || c["precision"] == "fp32") continue;
    const auto result = Recorded(c);
    if (!result) continue;
    // The fp32 case to compare with: same engine and device; the same batch and threads too
    // where the sweep has one.
    const nlohmann::ordered_json* base = nullptr;
    int best = -1;
    for (const auto& b : cases) {
      if (b["status"] != "passed" || b["precision"] != "fp32" || !same(b, c, "engine") ||
          !same(b, c, "device") || !Recorded(b)) {
        continue;
      }
      const int score = (same(b, c, "batch") ? 2 : 0) + (same(b, c, "threads") ? 1 : 0);
      if (score > best) {
        best = score;
        base = &b;
      }
    }
    auto& metrics = c["metrics"];
    if (!base) {
      Metric none;
      none.name = "accuracy.delta";
      none.letter = "A";
      none.label = "Δ vs fp32";
      none.source = "unavailable";
      none.reason = "no fp32 case of this engine with accuracy to compare with (add fp32 to "
                    "--precision)";
      metrics.push_back(MetricJson(none));
      continue;
    }
    const auto baseline = Recorded(*base);
    const auto d = accuracy::CompareAccuracy(*baseline, *result, max_drop);
    if (!d) continue;  // different sample counts: the data changed between the cases
    const bool classes = d->metric == "top-1";
    const double unit = classes ? 100 : 1;  // points for accuracy
    Metric delta = Number(
        "accuracy.delta", classes ? "Δ top-1 vs fp32" : "Δ MSE vs fp32", unit * d->difference,
        classes ? "points" : "", classes ? Better::kHigher : Better::kLower,
        fmt::format("paired against case {} on the same {} samples; {} p = {:.3g} ({})",
                    (*base)["id"].get<std::string>(), result->samples, d->test, d->p_value,
                    d->p_value < 0.05 ? "real" : "chance"));
    SetInterval(delta, unit * d->difference_ci.low, unit * d->difference_ci.high);
    metrics.push_back(MetricJson(delta));
    Metric verdict;
    verdict.name = "accuracy.meets_target";
    verdict.letter = "A";
    verdict.label = fmt::format("≥ {:g}% of fp32", 100 * (1 - max_drop));
    verdict.value = d->meets_target;
    verdict.unit = "bool";
    verdict.better = Better::kHigher;
    const bool ok = d->meets_target;
    verdict.how = classes ? fmt::format("MLPerf's rule: top-1 {:.2f}% {} {:g}% of fp32's {:.2f}%",
                                        100 * d->value, ok ? "≥" : "<", 100 * (1 - max_drop),
                                        100 * d->baseline)
                          : fmt::format("MSE {:.4g} {} {:g}% of fp32's {:.4g}", d->value,
                                        ok ? "≤" : ">", 100 * (1 + max_drop), d->baseline);
    metrics.push_back(MetricJson(verdict));
  }
}

}  // namespace plaster::evaluate
