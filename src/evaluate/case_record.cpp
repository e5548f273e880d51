#include "evaluate/case_record.h"

#include <cmath>

#include "core/error.h"

namespace plaster::evaluate {

const char* CaseStatusName(CaseStatus status) {
  switch (status) {
    case CaseStatus::kPassed:
      return "passed";
    case CaseStatus::kFailed:
      return "failed";
    case CaseStatus::kUnsupported:
      return "unsupported";
    case CaseStatus::kSkipped:
      return "skipped";
    case CaseStatus::kInterrupted:
      return "interrupted";
  }
  return "failed";
}

CaseRecord::CaseRecord(CaseConfig config) : config_(std::move(config)) {}

std::string CaseRecord::NotYetMeasured(const std::string& letter) {
  if (letter == "A") return "no dataset: --data gives one (plaster accuracy reads the same forms)";
  return "";
}

void CaseRecord::SetLetter(const std::string& letter, const std::string& status,
                           const std::string& reason) {
  nlohmann::ordered_json j = {{"status", status}};
  if (!reason.empty()) j["reason"] = reason;
  for (auto& [name, value] : letters_) {
    if (name == letter) {
      value = std::move(j);
      return;
    }
  }
  letters_.emplace_back(letter, std::move(j));
}

bool CaseRecord::HasLetter(const std::string& letter) const {
  for (const auto& entry : letters_) {
    if (entry.first == letter) return true;
  }
  return false;
}

void CaseRecord::Add(Metric metric) {
  if (metric.value.is_number_float()) {
    // JSON has no NaN or infinity; a figure that came out so is a bug upstream, reported plainly.
    PLASTER_ASSERT(std::isfinite(metric.value.get<double>()));
  }
  metrics_.push_back(std::move(metric));
}

void CaseRecord::AddUnavailable(const std::string& name, const std::string& letter,
                                const std::string& label, const std::string& unit, Better better,
                                const std::string& reason) {
  Metric m;
  m.name = name;
  m.letter = letter;
  m.label = label;
  m.unit = unit;
  m.better = better;
  m.source = "unavailable";
  m.reason = reason;
  metrics_.push_back(std::move(m));
}

void CaseRecord::SetSamples(const std::string& key, std::vector<double> values) {
  samples_[key] = std::move(values);
}

void CaseRecord::SetCurve(const std::string& key, nlohmann::ordered_json points) {
  curves_[key] = std::move(points);
}

nlohmann::ordered_json MetricJson(const Metric& m) {
  nlohmann::ordered_json j;
  j["name"] = m.name;
  j["letter"] = m.letter;
  j["label"] = m.label;
  j["value"] = m.source == "unavailable" ? nlohmann::ordered_json(nullptr) : m.value;
  j["unit"] = m.unit;
  j["better"] = m.better == Better::kLower    ? nlohmann::ordered_json("lower")
                : m.better == Better::kHigher ? nlohmann::ordered_json("higher")
                                              : nlohmann::ordered_json(nullptr);
  j["source"] = m.source;
  if (!m.how.empty()) j["how"] = m.how;
  j["reason"] = m.reason.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(m.reason);
  if (m.has_interval) {
    auto side = [](const std::optional<double>& v) {
      return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
    };
    j["interval"] = {{"lower", side(m.lower)}, {"upper", side(m.upper)}, {"coverage", m.coverage}};
  }
  if (!m.samples.empty()) j["samples"] = m.samples;
  return j;
}

nlohmann::ordered_json CaseRecord::ToJson(CaseStatus status, const std::string& reason,
                                          double budget_s, double elapsed_s) const {
  nlohmann::ordered_json j;
  j["kind"] = "case";
  j["id"] = id();
  j["engine"] = config_.engine;
  j["device"] = engine::DeviceName(config_.device);
  j["precision"] = engine::PrecisionName(config_.precision);
  j["batch"] = config_.batch;
  j["threads"] = config_.threads;
  j["status"] = CaseStatusName(status);
  j["reason"] = reason.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(reason);
  j["budget_s"] = budget_s;
  j["elapsed_s"] = elapsed_s;
  auto& letters = j["letters"] = nlohmann::ordered_json::object();
  for (const char* letter : kLetters) {
    nlohmann::ordered_json state;
    for (const auto& [name, value] : letters_) {
      if (name == letter) state = value;
    }
    if (state.is_null()) {
      std::string why = NotYetMeasured(letter);
      if (why.empty()) {
        why = status == CaseStatus::kPassed ? "not measured in this case"
                                            : std::string("the case ended ") +
                                                  CaseStatusName(status) + " before this letter";
      }
      state = {{"status", "unavailable"}, {"reason", why}};
    }
    letters[letter] = state;
  }
  auto& metrics = j["metrics"] = nlohmann::ordered_json::array();
  for (const auto& m : metrics_) metrics.push_back(MetricJson(m));
  j["samples"] = samples_;
  j["curves"] = curves_;
  j["size_by_op"] = size_by_op_;
  j["roofline"] = roofline_;
  if (!energy_.is_null()) j["energy"] = energy_;
  j["warnings"] = warnings_;
  return j;
}

}  // namespace plaster::evaluate
