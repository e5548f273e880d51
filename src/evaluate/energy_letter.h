#pragma once
/// The E letter in `evaluate` and `energy` (Note [Energy in evaluate] in energy_letter.cpp): the
/// parent discovers the power sources and measures the idle baseline once, before any case; each
/// case's child samples the sources while L and T run and turns the windows of those runs into
/// joules per inference, inferences per joule and watts, gross and net of idle.

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "evaluate/case_record.h"
#include "power/sampler.h"

namespace plaster::evaluate {

/// What a case's child needs for E (part of CaseSpec).
struct CaseEnergy {
  bool enabled = false;  ///< false: E is unavailable with `why`
  std::string why;
  power::SourceOptions sources;
  double sample_interval_s = 0.01;
  std::vector<power::IdleBaseline> idle;
};
nlohmann::json ToJson(const CaseEnergy& e);
/// plaster::Error naming a missing or mistyped field.
CaseEnergy CaseEnergyFromJson(const nlohmann::json& j);

/// The parent's part: finds the sources (plaster::Error for options that cannot work) and
/// measures idle for idle_s with nothing running. `summary` gets one line for the console.
CaseEnergy PrepareEnergy(const power::SourceOptions& sources, double sample_interval_s,
                         double idle_s, std::string* summary);

/// One window's record: its scenario, length, inferences, every source's figures
/// (gross/net joules, watts, idle, uncertainty, per inference, per domain) and the choice.
nlohmann::ordered_json EnergyWindowJson(const std::string& scenario, int64_t start_ns,
                                        int64_t end_ns, int64_t inferences,
                                        const std::vector<power::SourceEnergy>& energies);

/// The idle baselines as JSON (the evaluation's header and `plaster energy` record them; the
/// case spec carries them so).
nlohmann::ordered_json IdleJson(const std::vector<power::IdleBaseline>& idle);

/// The child's part: a sampler over the case's measuring runs.
class EnergyLetter {
 public:
  /// Starts the sampler (when E is enabled and a source can be read).
  explicit EnergyLetter(const CaseEnergy& energy);
  ~EnergyLetter();
  EnergyLetter(const EnergyLetter&) = delete;
  EnergyLetter& operator=(const EnergyLetter&) = delete;

  /// A run's window [start_ns, end_ns] with `inferences` samples computed in it: "offline" is
  /// E's headline, "single_stream" is shown beside it.
  void AddWindow(const std::string& scenario, int64_t start_ns, int64_t end_ns,
                 int64_t inferences, CaseRecord& record);
  /// Stops the sampler and sets the letter's state (measured, estimated or unavailable).
  void Finish(CaseRecord& record);

 private:
  CaseEnergy energy_;
  std::unique_ptr<power::Sampler> sampler_;
  std::string unavailable_;  ///< why E is not measured, when it is not
  nlohmann::ordered_json windows_ = nlohmann::ordered_json::array();
  std::string state_;  ///< "measured" or "estimated" after the offline window
};

}  // namespace plaster::evaluate
