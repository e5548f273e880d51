#include "optimize/export.h"

#include <fmt/format.h>

#include "core/error.h"
#include "engine/registry.h"
#include "evaluate/calibration_cache.h"
#include "evaluate/evaluation.h"
#include "model/model_source.h"
#include "model/qdq_export.h"
#include "plaster/version.h"

namespace plaster::optimize {

nlohmann::ordered_json ExportRecommended(const OptimizeOptions& o,
                                         const nlohmann::ordered_json& record,
                                         const std::string& path) {
  const auto& rec = record.at("recommendation");
  PLASTER_CHECK(rec.at("case").is_string(), "--export {}: nothing to write: {}", path,
                rec.value("reason", std::string()));
  const std::string id = rec["case"].get<std::string>();
  const nlohmann::ordered_json* chosen = nullptr;
  for (const auto& c : record.at("cases")) {
    if (c.value("id", "") == id) chosen = &c;
  }
  PLASTER_CHECK(chosen != nullptr, "--export: the recommended case {} is not in the record (bug)", id);
  const std::string precision = (*chosen)["precision"].get<std::string>();

  model::LoadOptions load;
  for (const auto& text : o.shapes) load.shapes.push_back(model::ParseShapeOverride(text));
  const model::Model m = model::LoadModelSource(o.model, load);

  std::map<std::string, std::string> metadata = {
      {"plaster.version", std::string(kVersion) + " (" + kGitRevision + ")"},
      {"plaster.configuration", id},
      {"plaster.precision", precision},
      {"plaster.batch", std::to_string((*chosen)["batch"].get<int64_t>())},
      {"plaster.threads", std::to_string((*chosen)["threads"].get<int>())},
      {"plaster.recommendation", rec.value("reason", std::string())}};
  if (const auto* p99 = evaluate::FindMetric(*chosen, "latency.p99")) {
    metadata["plaster.latency_p99_ms"] = fmt::format("{:.4g}", (*p99)["value"].get<double>());
  }
  if (const auto* t = evaluate::FindMetric(*chosen, "t.offline")) {
    metadata["plaster.samples_per_s"] = fmt::format("{:.5g}", (*t)["value"].get<double>());
  }
  nlohmann::ordered_json out = {{"path", path}, {"case", id}, {"precision", precision}};
  if (precision == "fp32") {
    model::ExportModel(m, metadata, path);
    out["form"] = "the model as given (float32), with plaster's findings in its metadata";
    return out;
  }
  if (precision == "bf16") {
    metadata["plaster.note"] =
        "the weights are float32 in this file; the measured speed is the engine computing in "
        "bf16 (plaster --precision bf16)";
    model::ExportModel(m, metadata, path);
    out["form"] = "the float32 model; the metadata says to run it in bf16 (ONNX has no portable "
                  "way to ask for bf16 arithmetic)";
    return out;
  }
  PLASTER_CHECK(precision == "int8", "--export: {} is not a precision plaster can write out yet",
                precision);
  PLASTER_CHECK(!o.data.calibration.empty(),
                "--export {}: the recommended int8 is dynamic (ranges measured at each run), "
                "which a QDQ file cannot hold; give --calibration DATA for static int8",
                path);
  // The ranges the search calibrated; the engine, compiled here from them, names the nodes it
  // kept in float32.
  evaluate::CaseData data = o.data;
  data.calibration_cache = CalibrationCachePath(o.jsonl_path);
  const engine::Engine& eng = engine::FindEngine((*chosen)["engine"].get<std::string>());
  engine::SessionOptions options;
  options.device = evaluate::ParseDevice((*chosen)["device"].get<std::string>());
  options.precision = engine::Precision::kInt8;
  options.threads = (*chosen)["threads"].get<int>();
  options.quantization = evaluate::CaseQuantization(data, m, engine::Precision::kInt8);
  const auto session = eng.Compile(m, options);
  const engine::PrecisionReport report = session->precision_report();
  std::set<std::string> keep;
  for (const auto& k : report.kept) keep.insert(k.node);
  std::map<std::string, model::ActivationRange> ranges;
  for (const auto& [name, r] : options.quantization.calibrated->ranges) {
    ranges[name] = {r.threshold, r.is_unsigned};
  }
  // An engine that quantizes inside its own library (opencv: Net::quantize) hands plaster no
  // ranges: there is nothing true to write as QDQ.
  PLASTER_CHECK(!ranges.empty(),
                "--export {}: engine '{}' quantizes to int8 inside its own library and does not give "
                "plaster its activation ranges, so its int8 cannot be written as a QDQ file (the "
                "torch engine's can)",
                path, eng.name());
  metadata["plaster.quantization"] = report.quantization;
  const model::QdqExport q = model::ExportQdq(m, ranges, keep, metadata, path);
  out["form"] = fmt::format(
      "QDQ: {} Conv/MatMul/Gemm with int8 weights (symmetric per channel) and inputs{}", q.quantized,
      q.folded_batchnorms ? fmt::format("; {} BatchNormalization folded", q.folded_batchnorms) : "");
  out["quantization"] = report.quantization;
  out["kept_float"] = q.kept_float;
  return out;
}

}  // namespace plaster::optimize
