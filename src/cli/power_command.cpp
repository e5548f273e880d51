// plaster power: every power source on this machine, what it measures, and (without --list)
// what each reads over a short idle stretch.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/table.h"
#include "power/sampler.h"

namespace plaster::cli {
namespace {

using Align = TextTable::Align;

std::string Period(double s) { return FormatDurationNs(s * 1e9); }

}  // namespace

CLI::App* AddPowerCommand(CLI::App& app, PowerOptions* o) {
  CLI::App* cmd = app.add_subcommand(
      "power", "the power sources on this machine (RAPL, hwmon, NVML, a meter, the estimate) and "
               "what each reads now");
  cmd->add_flag("--list", o->list, "list the sources without reading them");
  cmd->add_option("--duration", o->duration, "how long to read them");
  cmd->add_flag("--json", o->json, "write JSON to stdout");
  AddPowerOptions(cmd, &o->power);
  return cmd;
}

int RunPower(const PowerOptions& o) {
  power::Discovery found = power::DiscoverSources(MakeSourceOptions(o.power));
  const double interval = SampleIntervalSeconds(o.power);
  std::vector<power::SourceEnergy> energies;
  double seconds = 0;
  power::Sampler sampler(std::move(found.sources), interval);
  if (!o.list) {
    seconds = static_cast<double>(ParseDurationNs(o.duration, "--duration")) / 1e9;
    if (seconds < 0.1) Fail("--duration: at least 100 ms");
    InterruptScope interrupt;  // Ctrl-C ends the reading early, and what was read is shown
    sampler.Start();
    const int64_t start = NowNs();
    WaitUntilNs(start + static_cast<int64_t>(seconds * 1e9), StopFlag());
    energies = sampler.Window(start, NowNs(), {});
    sampler.Stop();
  }
  std::vector<power::Unavailable> unavailable = found.unavailable;
  for (const auto& d : sampler.dropped()) unavailable.push_back(d);
  std::string reason;
  // An index, not an optional: GCC 12 misreads an optional's use here (-Wmaybe-uninitialized).
  size_t best = SIZE_MAX;
  if (!o.list) best = power::ChooseBest(energies, &reason).value_or(SIZE_MAX);
  const auto& sources = sampler.sources();

  if (o.json) {
    nlohmann::ordered_json j;
    j["kind"] = "power";
    j["read_seconds"] = o.list ? nlohmann::ordered_json() : nlohmann::ordered_json(seconds);
    j["sample_interval_s"] = interval;
    j["sources"] = nlohmann::ordered_json::array();
    for (size_t s = 0; s < sources.size(); ++s) {
      nlohmann::ordered_json js;
      js["name"] = sources[s]->name();
      js["description"] = sources[s]->description();
      js["estimated"] = sources[s]->estimated();
      js["relative_accuracy"] = sources[s]->relative_accuracy();
      js["accuracy_basis"] = sources[s]->accuracy_basis();
      js["domains"] = nlohmann::ordered_json::array();
      for (size_t d = 0; d < sources[s]->domains().size(); ++d) {
        const power::Domain& dom = sources[s]->domains()[d];
        nlohmann::ordered_json jd = {{"name", dom.name},
                                     {"quantity", power::QuantityName(dom.quantity)},
                                     {"in_total", dom.in_total},
                                     {"update_period_s", dom.update_period_s},
                                     {"wrap_j", dom.wrap_j}};
        if (!o.list) {
          const auto& e = energies[s].window.domains[d];
          jd["watts"] = e.joules ? nlohmann::ordered_json(*e.joules / seconds) : nullptr;
          if (!e.problem.empty()) jd["problem"] = e.problem;
        }
        js["domains"].push_back(jd);
      }
      if (!o.list) {
        const auto w = energies[s].AverageWatts();
        js["watts"] = w ? nlohmann::ordered_json(*w) : nullptr;
        if (!energies[s].window.note.empty()) js["note"] = energies[s].window.note;
      }
      j["sources"].push_back(js);
    }
    j["unavailable"] = nlohmann::ordered_json::array();
    for (const auto& u : unavailable) j["unavailable"].push_back({{"name", u.name}, {"reason", u.reason}});
    if (!o.list) {
      j["chosen"] = best != SIZE_MAX ? nlohmann::ordered_json(sources[best]->name()) : nullptr;
      j["chosen_because"] = reason;
    }
    std::cout << j.dump(2) << "\n";
    return 0;
  }

  int estimated = 0;
  for (const auto& s : sources) estimated += s->estimated() ? 1 : 0;
  std::cout << fmt::format("plaster power · {} source(s) ({} measured, {} estimated), {} "
                           "unavailable{}\n\n",
                           sources.size(), sources.size() - estimated, estimated,
                           unavailable.size(),
                           o.list ? "" : fmt::format(" · read for {}", Period(seconds)));
  std::vector<std::string> headers = {"source", "domain", "reads", "updates", "in total"};
  std::vector<Align> align = {Align::kLeft, Align::kLeft, Align::kLeft, Align::kRight, Align::kLeft};
  if (!o.list) {
    headers.push_back("watts");
    align.push_back(Align::kRight);
  }
  headers.push_back("accuracy");
  align.push_back(Align::kRight);
  TextTable table(headers, align);
  for (size_t s = 0; s < sources.size(); ++s) {
    const auto& domains = sources[s]->domains();
    for (size_t d = 0; d < domains.size(); ++d) {
      std::vector<std::string> row = {
          d == 0 ? sources[s]->name() : "", domains[d].name,
          domains[d].quantity == power::Quantity::kEnergy ? "counter" : "power",
          Period(domains[d].update_period_s), domains[d].in_total ? "yes" : "no (inside another)"};
      if (!o.list) {
        const auto& e = energies[s].window.domains[d];
        row.push_back(e.joules ? fmt::format("{:.2f}", *e.joules / seconds) : "? " + e.problem);
      }
      row.push_back(d == 0 ? fmt::format("±{:.0f}%", sources[s]->relative_accuracy() * 100) : "");
      table.AddRow(row);
    }
  }
  table.Print(std::cout);
  std::cout << "\n";
  for (const auto& s : sources) std::cout << fmt::format("  {}: {}\n", s->name(), s->description());
  if (!unavailable.empty()) {
    std::cout << "\n  unavailable\n";
    for (const auto& u : unavailable) std::cout << fmt::format("    {}: {}\n", u.name, u.reason);
  }
  if (!o.list) {
    std::cout << "\n";
    if (best != SIZE_MAX) {
      const auto w = energies[best].AverageWatts();
      std::cout << fmt::format("  E uses: {} ({}); {:.2f} W now{}\n", sources[best]->name(),
                               reason, w.value_or(0),
                               sources[best]->estimated() ? ", estimated" : "");
    } else {
      std::cout << fmt::format("  E: unavailable ({})\n", reason);
    }
  }
  return 0;
}

}  // namespace plaster::cli
