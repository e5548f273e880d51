// plaster energy: a focused E measurement of one configuration. The sources are found, the
// session compiled, idle measured with the session loaded and nothing running, then one run
// (offline by default) whose window gives each source's energy, gross and net of idle, per
// inference.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/table.h"
#include "core/units.h"
#include "engine/registry.h"
#include "core/system_info.h"
#include "evaluate/energy_letter.h"
#include "loadgen/results.h"
#include "loadgen/runner.h"
#include "model/model_source.h"
#include "plaster/version.h"

namespace plaster::cli {
namespace {

using Align = TextTable::Align;

std::string Joules(const std::optional<double>& j) { return j ? FormatSiSmall(*j, "J") : "–"; }
std::string Figure3(double v) { return fmt::format("{:.4g}", v); }

}  // namespace

CLI::App* AddEnergyCommand(CLI::App& app, EnergyOptions* o) {
  CLI::App* cmd = app.add_subcommand(
      "energy", "E: the energy one configuration uses per inference, from every power source");
  cmd->add_option("model", o->model, "ONNX file, or builtin:resnet8")->required();
  cmd->add_option("--engine", o->engine, "engine");
  cmd->add_option("--precision", o->precision, "fp32, bf16, fp16, int8");
  cmd->add_option("--batch", o->batch, "samples per run")->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--threads", o->threads, "threads (0: every usable core)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--scenario", o->scenario, "offline or single-stream")
      ->check(CLI::IsMember({"offline", "single-stream"}));
  cmd->add_option("--duration", o->duration, "how long the measured run lasts");
  cmd->add_option("--shape", o->shapes, "shape of an input, NAME:DxDx... (repeatable)");
  cmd->add_option("--seed", o->seed, "seed of the generated inputs");
  cmd->add_flag("--json", o->json, "write JSON to stdout");
  AddCalibrationOptions(cmd, &o->calibration);
  AddPowerOptions(cmd, &o->power);
  return cmd;
}

int RunEnergy(const EnergyOptions& o) {
  // Options first, so a typo costs no model load.
  const power::SourceOptions source_options = MakeSourceOptions(o.power);
  const double interval = SampleIntervalSeconds(o.power);
  const double idle_s = IdleSeconds(o.power);
  const int64_t duration_ns = ParseDurationNs(o.duration, "--duration");
  PLASTER_CHECK(duration_ns >= 200'000'000, "--duration {}: at least 200 ms", o.duration);
  power::Discovery found = power::DiscoverSources(source_options);
  std::vector<power::Unavailable> unavailable = found.unavailable;

  const engine::Engine& eng = engine::FindEngine(o.engine);
  model::LoadOptions load;
  for (const auto& text : o.shapes) load.shapes.push_back(model::ParseShapeOverride(text));
  load.batch = o.batch;
  const model::Model m = model::LoadModelSource(o.model, load);
  engine::SessionOptions session_options;
  session_options.threads = o.threads;
  session_options.precision = engine::ParsePrecision(o.precision);
  session_options.quantization = MakeQuantization(o.calibration, m, {session_options.precision});
  std::unique_ptr<engine::Session> session = eng.Compile(m, session_options);
  std::vector<engine::Session*> sessions = {session.get()};

  InterruptScope interrupt;
  power::Sampler sampler(std::move(found.sources), interval);
  sampler.Start();
  for (const auto& d : sampler.dropped()) unavailable.push_back(d);
  PLASTER_CHECK(!sampler.sources().empty(),
                "no power source can be read on this machine (plaster power --list says why)");
  const std::vector<power::IdleBaseline> idle =
      sampler.MeasureIdle(static_cast<int64_t>(idle_s * 1e9));

  loadgen::TestSettings t;
  t.scenario = o.scenario == "offline" ? loadgen::Scenario::kOffline
                                       : loadgen::Scenario::kSingleStream;
  t.budget_ns = duration_ns;
  t.sample_seed = o.seed;
  loadgen::RunHooks hooks;
  hooks.stop = StopFlag();
  const loadgen::RunResult run = loadgen::RunScenario(sessions, t, hooks);
  const loadgen::ScenarioSummary s = loadgen::Summarize(run);
  PLASTER_CHECK(s.samples_completed > 0, "the run completed no inference");
  const int64_t start = run.origin_ns, end = run.origin_ns + s.duration_ns;
  const std::vector<power::SourceEnergy> energies = sampler.Window(start, end, idle);
  sampler.Stop();
  std::string because;
  const auto best = power::ChooseBest(energies, &because);
  const std::string config = fmt::format("{}/{}/{}/b{}/t{}", eng.name(), "cpu", o.precision,
                                         o.batch, o.threads > 0 ? o.threads : UsableCores());

  if (o.json) {
    nlohmann::ordered_json j;
    j["kind"] = "energy";
    j["plaster"] = fmt::format("{} (git {})", kVersion, kGitRevision);
    j["model"] = m.display_name();
    j["case"] = config;
    j["samples_per_s"] = s.samples_per_s;
    j["interrupted"] = s.interrupted();
    j["idle"] = evaluate::IdleJson(idle);
    j["window"] = evaluate::EnergyWindowJson(o.scenario == "offline" ? "offline" : "single_stream",
                                             start, end, s.samples_completed, energies);
    j["unavailable"] = nlohmann::ordered_json::array();
    for (const auto& u : unavailable) {
      j["unavailable"].push_back({{"name", u.name}, {"reason", u.reason}});
    }
    std::cout << j.dump(2) << "\n";
    return s.interrupted() ? 130 : 0;
  }

  std::cout << fmt::format("plaster energy · {} · {} · {}, {}, {} inferences ({} /s)\n\n",
                           m.display_name(), config, o.scenario,
                           FormatDurationNs(static_cast<double>(end - start)),
                           FormatCount(s.samples_completed), Figure3(s.samples_per_s));
  TextTable table({"source", "gross", "net of idle", "average W", "idle W", "per inference",
                   "net per inference", "inferences/J", "±"},
                  {Align::kLeft, Align::kRight, Align::kRight, Align::kRight, Align::kRight,
                   Align::kRight, Align::kRight, Align::kRight, Align::kRight});
  for (size_t i = 0; i < energies.size(); ++i) {
    const power::SourceEnergy& e = energies[i];
    const power::InferenceEnergy per = power::Attribute(e, s.samples_completed);
    const double relative =
        e.gross_joules && *e.gross_joules > 0 ? e.gross_uncertainty_joules / *e.gross_joules : 0;
    const auto w = e.AverageWatts();
    table.AddRow({e.source + (e.estimated ? " (estimated)" : "") +
                      (best && *best == i ? " *" : ""),
                  Joules(e.gross_joules), Joules(e.net_joules),
                  w ? fmt::format("{:.2f}", *w) : "–",
                  e.idle_watts ? fmt::format("{:.2f}", *e.idle_watts) : "–",
                  Joules(per.joules_per_inference), Joules(per.net_joules_per_inference),
                  per.inferences_per_joule ? Figure3(*per.inferences_per_joule) : "–",
                  e.gross_joules ? fmt::format("{:.0f}%", relative * 100) : "–"});
  }
  table.Print(std::cout);
  std::cout << "\n";
  if (best) {
    std::cout << fmt::format("  *: E uses {} ({})\n", energies[*best].source, because);
  } else {
    std::cout << fmt::format("  E: unavailable ({})\n", because);
  }
  for (const auto& e : energies) {
    std::cout << fmt::format("  {}: {}\n", e.source, e.description);
    std::cout << fmt::format("    uncertainty: {}\n", e.uncertainty_basis);
    if (!e.window.note.empty()) std::cout << fmt::format("    note: {}\n", e.window.note);
  }
  for (const auto& u : unavailable) {
    std::cout << fmt::format("  unavailable {}: {}\n", u.name, u.reason);
  }
  if (s.interrupted()) {
    std::cout << "INTERRUPTED: the figures cover the run until Ctrl-C\n";
    return 130;
  }
  return 0;
}

}  // namespace plaster::cli
