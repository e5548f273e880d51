#include "evaluate/calibration_cache.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace plaster::evaluate {
namespace {

constexpr const char* kSchema = "plaster.calibration";

nlohmann::json Settings(const CaseData& d) {
  return {{"data", d.calibration},
          {"limit", d.calibration_limit},
          {"method", d.calibration_method},
          {"percentile", d.calibration_percentile},
          {"preset", d.preset},
          {"resize", d.resize},
          {"int8_tolerance", d.int8_tolerance ? nlohmann::json(*d.int8_tolerance) : nlohmann::json(nullptr)}};
}

}  // namespace

std::optional<engine::QuantizationOptions::Calibrated> ReadCalibrationCache(const CaseData& d) {
  if (d.calibration_cache.empty() || !std::filesystem::exists(d.calibration_cache)) {
    return std::nullopt;
  }
  std::ifstream in(d.calibration_cache);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    Fail("{}: not a calibration cache ({})", d.calibration_cache, OneLine(e.what()));
  }
  PLASTER_CHECK(j.is_object() && j.value("schema", "") == kSchema,
                "{}: not a calibration cache (no \"schema\": \"{}\")", d.calibration_cache, kSchema);
  if (j.value("settings", nlohmann::json()) != Settings(d)) return std::nullopt;
  try {
    engine::QuantizationOptions::Calibrated c;
    c.done = true;
    c.model = j.at("model").get<std::string>();
    c.description = j.at("description").get<std::string>();
    for (const auto& [name, r] : j.at("ranges").items()) {
      c.ranges[name] = {r.at("threshold").get<float>(), r.at("unsigned").get<bool>()};
    }
    if (j.contains("keep_float")) {
      c.keep_float = j.at("keep_float").get<std::map<std::string, std::string>>();
    }
    return c;
  } catch (const nlohmann::json::exception& e) {
    Fail("{}: calibration cache: {}", d.calibration_cache, OneLine(e.what()));
  }
}

void WriteCalibrationCache(const CaseData& d,
                           const engine::QuantizationOptions::Calibrated& calibrated) {
  nlohmann::ordered_json j;
  j["schema"] = kSchema;
  j["settings"] = Settings(d);
  j["model"] = calibrated.model;
  j["description"] = calibrated.description;
  nlohmann::ordered_json ranges = nlohmann::ordered_json::object();
  for (const auto& [name, r] : calibrated.ranges) {
    ranges[name] = {{"threshold", r.threshold}, {"unsigned", r.is_unsigned}};
  }
  j["ranges"] = ranges;
  j["keep_float"] = calibrated.keep_float;
  // Written beside, then renamed: a reader never sees half a file.
  const std::string tmp = d.calibration_cache + ".tmp";
  {
    std::ofstream out(tmp);
    out << j.dump(1) << "\n";
    PLASTER_CHECK(out.good(), "{}: cannot write the calibration cache", tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, d.calibration_cache, ec);
  PLASTER_CHECK(!ec, "{}: cannot write the calibration cache ({})", d.calibration_cache,
                ec.message());
}

}  // namespace plaster::evaluate
