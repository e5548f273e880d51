#include "evaluate/energy_letter.h"

#include <fmt/format.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/units.h"

namespace plaster::evaluate {

// Note [Energy in evaluate]
// Idle is a property of the machine, not of a case, so the parent measures it once (--idle, 2 s
// by default) before the first case starts, with its own sampler, and hands the baselines to
// every case. Each child discovers the sources again (a sampler cannot cross a fork) and starts
// sampling after P, S and A, so that its threads never touch the cold start; it stops before R.
// Each measuring run is a window aligned with the run's own clock origin: [origin, origin +
// duration], on the clock latencies use. The offline window is E's headline (the case's most
// inferences per second, so the cheapest joules per inference it offers); single-stream is shown
// beside it. Among several sources the scorecard uses power::ChooseBest's, and the record keeps
// every source's figures with the reason for the choice. A figure from the TDP estimate is
// "estimated" in its metric and in the letter, never "measured".

namespace {

nlohmann::json SourceOptionsJson(const power::SourceOptions& o) {
  return {{"root", o.root},
          {"tdp_w", o.tdp_w ? nlohmann::json(*o.tdp_w) : nlohmann::json(nullptr)},
          {"command", o.command},
          {"command_interval_s", o.command_interval_s},
          {"file", o.file},
          {"gpu", o.gpu ? nlohmann::json(*o.gpu) : nlohmann::json(nullptr)},
          {"nvml_library", o.nvml_library},
          {"cpus", o.cpus},
          {"estimate", o.estimate}};
}

power::SourceOptions SourceOptionsFromJson(const nlohmann::json& j) {
  power::SourceOptions o;
  o.root = j.at("root").get<std::string>();
  if (!j.at("tdp_w").is_null()) o.tdp_w = j.at("tdp_w").get<double>();
  o.command = j.at("command").get<std::string>();
  o.command_interval_s = j.at("command_interval_s").get<double>();
  o.file = j.at("file").get<std::string>();
  if (!j.at("gpu").is_null()) o.gpu = j.at("gpu").get<int>();
  o.nvml_library = j.at("nvml_library").get<std::string>();
  o.cpus = j.at("cpus").get<std::vector<int>>();
  o.estimate = j.at("estimate").get<bool>();
  return o;
}

nlohmann::ordered_json OrNull(const std::optional<double>& v) {
  return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}

nlohmann::ordered_json SourceJson(const power::SourceEnergy& e, int64_t inferences) {
  const power::InferenceEnergy per = power::Attribute(e, inferences);
  nlohmann::ordered_json j;
  j["source"] = e.source;
  j["estimated"] = e.estimated;
  j["description"] = e.description;
  j["gross_j"] = OrNull(e.gross_joules);
  j["net_j"] = OrNull(e.net_joules);
  j["watts"] = OrNull(e.AverageWatts());
  j["idle_watts"] = OrNull(e.idle_watts);
  j["uncertainty_j"] = e.gross_uncertainty_joules;
  j["net_uncertainty_j"] = e.net_uncertainty_joules;
  j["uncertainty_basis"] = e.uncertainty_basis;
  j["joules_per_inference"] = OrNull(per.joules_per_inference);
  j["net_joules_per_inference"] = OrNull(per.net_joules_per_inference);
  j["sample_interval_s"] = e.interval_s;
  j["too_short"] = e.window.too_short;
  j["note"] = e.window.note;
  j["domains"] = nlohmann::ordered_json::array();
  for (const auto& d : e.window.domains) {
    j["domains"].push_back({{"domain", d.domain},
                            {"joules", OrNull(d.joules)},
                            {"readings", d.readings},
                            {"problem", d.problem}});
  }
  return j;
}

Metric EnergyMetric(std::string name, std::string label, double value, std::string unit,
                    Better better, bool estimated, std::string how) {
  Metric m;
  m.name = std::move(name);
  m.letter = "E";
  m.label = std::move(label);
  m.value = value;
  m.unit = std::move(unit);
  m.better = better;
  m.source = estimated ? "estimated" : "measured";
  m.how = std::move(how);
  return m;
}

}  // namespace

nlohmann::json ToJson(const CaseEnergy& e) {
  return {{"enabled", e.enabled},
          {"why", e.why},
          {"sources", SourceOptionsJson(e.sources)},
          {"sample_interval_s", e.sample_interval_s},
          {"idle", nlohmann::json(IdleJson(e.idle))}};
}

CaseEnergy CaseEnergyFromJson(const nlohmann::json& j) {
  try {
    CaseEnergy e;
    e.enabled = j.at("enabled").get<bool>();
    e.why = j.at("why").get<std::string>();
    e.sources = SourceOptionsFromJson(j.at("sources"));
    e.sample_interval_s = j.at("sample_interval_s").get<double>();
    for (const auto& b : j.at("idle")) {
      e.idle.push_back({b.at("source").get<std::string>(), b.at("watts").get<double>(),
                        b.at("seconds").get<double>(), b.at("uncertainty_watts").get<double>()});
    }
    return e;
  } catch (const nlohmann::json::exception& ex) {
    Fail("case spec: energy: {}", ex.what());
  }
}

CaseEnergy PrepareEnergy(const power::SourceOptions& sources, double sample_interval_s,
                         double idle_s, std::string* summary) {
  CaseEnergy e;
  e.sources = sources;
  e.sample_interval_s = sample_interval_s;
  power::Discovery found = power::DiscoverSources(sources);
  power::Sampler sampler(std::move(found.sources), sample_interval_s);
  sampler.Start();
  if (sampler.sources().empty()) {
    e.why = "no power source on this machine (plaster power --list says why)";
    if (summary) *summary = "E: unavailable: " + e.why;
    return e;
  }
  e.idle = sampler.MeasureIdle(static_cast<int64_t>(idle_s * 1e9));
  sampler.Stop();
  e.enabled = true;
  if (summary) {
    std::string parts;
    for (const auto& b : e.idle) {
      parts += fmt::format("{}{} {:.2f} W", parts.empty() ? "" : ", ", b.source, b.watts);
    }
    *summary = fmt::format("E: idle baseline over {}: {}", FormatDurationNs(idle_s * 1e9),
                           parts.empty() ? "none could be measured" : parts);
  }
  return e;
}

nlohmann::ordered_json EnergyWindowJson(const std::string& scenario, int64_t start_ns,
                                        int64_t end_ns, int64_t inferences,
                                        const std::vector<power::SourceEnergy>& energies) {
  std::string because;
  const auto best = power::ChooseBest(energies, &because);
  nlohmann::ordered_json w;
  w["scenario"] = scenario;
  w["seconds"] = static_cast<double>(end_ns - start_ns) / 1e9;
  w["inferences"] = inferences;
  w["chosen"] = best ? nlohmann::ordered_json(energies[*best].source) : nullptr;
  w["chosen_because"] = because;
  w["sources"] = nlohmann::ordered_json::array();
  for (const auto& e : energies) w["sources"].push_back(SourceJson(e, inferences));
  return w;
}

nlohmann::ordered_json IdleJson(const std::vector<power::IdleBaseline>& idle) {
  nlohmann::ordered_json j = nlohmann::ordered_json::array();
  for (const auto& b : idle) {
    j.push_back({{"source", b.source},
                 {"watts", b.watts},
                 {"seconds", b.seconds},
                 {"uncertainty_watts", b.uncertainty_watts}});
  }
  return j;
}

EnergyLetter::EnergyLetter(const CaseEnergy& energy) : energy_(energy) {
  if (!energy_.enabled) {
    unavailable_ = energy_.why.empty() ? "not measured" : energy_.why;
    return;
  }
  try {
    power::Discovery found = power::DiscoverSources(energy_.sources);
    sampler_ = std::make_unique<power::Sampler>(std::move(found.sources), energy_.sample_interval_s);
    sampler_->Start();
    if (sampler_->sources().empty()) {
      unavailable_ = "no power source could be read in the case's process";
      sampler_.reset();
    }
  } catch (const Error& e) {
    unavailable_ = e.what();
    sampler_.reset();
  }
}

EnergyLetter::~EnergyLetter() {
  if (sampler_) sampler_->Stop();
}

void EnergyLetter::AddWindow(const std::string& scenario, int64_t start_ns, int64_t end_ns,
                             int64_t inferences, CaseRecord& record) {
  if (!sampler_ || end_ns <= start_ns) return;
  const std::vector<power::SourceEnergy> energies = sampler_->Window(start_ns, end_ns, energy_.idle);
  std::string because;
  const auto best = power::ChooseBest(energies, &because);
  windows_.push_back(EnergyWindowJson(scenario, start_ns, end_ns, inferences, energies));
  record.SetEnergy(windows_);
  const bool offline = scenario == "offline";
  if (!best) {
    if (offline) {
      unavailable_ = fmt::format("{} for the offline window{}", because,
                                 energies.empty() || energies[0].window.note.empty()
                                     ? ""
                                     : ": " + energies[0].window.note);
    }
    return;
  }
  const power::SourceEnergy& e = energies[*best];
  const power::InferenceEnergy per = power::Attribute(e, inferences);
  const double gross = *e.gross_joules;
  const double relative = gross > 0 ? e.gross_uncertainty_joules / gross : 0;
  const std::string where =
      fmt::format("{} over the {} run ({}, {} inferences)",
                  e.estimated ? "the TDP estimate" : e.source, offline ? "offline" : "single-stream",
                  FormatDurationNs(static_cast<double>(end_ns - start_ns)), FormatCount(inferences));
  const std::string plus_minus =
      fmt::format("±{:.0f}% in all ({})", relative * 100, e.uncertainty_basis);
  if (e.window.too_short) record.Warn(fmt::format("E ({}): {}", scenario, e.window.note));
  if (!offline) {
    if (per.joules_per_inference) {
      record.Add(EnergyMetric("e.single_stream_joules_per_inference",
                              "energy per inference, single-stream", *per.joules_per_inference, "J",
                              Better::kLower, e.estimated,
                              fmt::format("gross: {}; {}", where, plus_minus)));
    }
    return;
  }
  state_ = e.estimated ? "estimated" : "measured";
  if (per.joules_per_inference) {
    record.Add(EnergyMetric("e.joules_per_inference", "energy per inference",
                            *per.joules_per_inference, "J", Better::kLower, e.estimated,
                            fmt::format("gross (idle included): {}; {}", where, plus_minus)));
    record.Add(EnergyMetric("e.inferences_per_joule", "inferences per joule",
                            *per.inferences_per_joule, "inferences/J", Better::kHigher,
                            e.estimated,
                            fmt::format("gross: inferences per second per watt; {}", where)));
  }
  if (e.net_joules) {
    const double net_relative =
        std::abs(*e.net_joules) > 0 ? e.net_uncertainty_joules / std::abs(*e.net_joules) : 0;
    if (per.net_joules_per_inference) {
      record.Add(EnergyMetric(
          "e.net_joules_per_inference", "energy per inference net of idle",
          *per.net_joules_per_inference, "J", Better::kLower, e.estimated,
          fmt::format("{} minus idle ({:.3g} W × the window); ±{:.0f}%", where, *e.idle_watts,
                      net_relative * 100)));
    } else {
      record.AddUnavailable("e.net_joules_per_inference", "E", "energy per inference net of idle",
                            "J", Better::kLower,
                            fmt::format("the run used no more than idle ({:.3g} J net, ±{:.3g} J): "
                                        "below what {} can tell apart",
                                        *e.net_joules, e.net_uncertainty_joules, e.source));
    }
  }
  record.Add(EnergyMetric("e.average_watts", "average power", gross / e.window.seconds(), "W",
                          Better::kNone, e.estimated, fmt::format("{}; {}", where, plus_minus)));
  if (e.idle_watts) {
    record.Add(EnergyMetric("e.idle_watts", "idle power", *e.idle_watts, "W", Better::kNone,
                            e.estimated,
                            fmt::format("{} with plaster idle, over {} before the first case",
                                        e.estimated ? "the TDP estimate" : e.source,
                                        FormatDurationNs(e.idle_seconds * 1e9))));
  }
}

void EnergyLetter::Finish(CaseRecord& record) {
  if (sampler_) sampler_->Stop();
  if (!state_.empty()) {
    record.SetLetter("E", state_,
                     state_ == "estimated" ? "no sensor on this machine: the TDP estimate" : "");
  } else {
    record.SetLetter("E", "unavailable",
                     unavailable_.empty() ? "no offline run to attribute energy to" : unavailable_);
  }
}

}  // namespace plaster::evaluate
