// plaster peak: this machine's arithmetic and memory ceilings, measured once and cached.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.h"
#include "core/error.h"
#include "core/table.h"
#include "core/units.h"
#include "evaluate/peak.h"

namespace plaster::cli {
namespace {

using Align = TextTable::Align;
using evaluate::MachinePeak;
using evaluate::PeakFigure;

std::string Rate(const PeakFigure& f) { return f.value ? FormatSi(*f.value, f.unit) : "-"; }

void PrintPeak(const MachinePeak& peak, const std::string& cache, std::ostream& out) {
  out << "plaster peak · " << peak.key.cpu_model << "\n";
  auto line = [&](const char* label, const std::string& text) {
    out << fmt::format("  {:<10}  {}\n", label, text);
  };
  line("machine", fmt::format("{} logical cores, {} CPU flags", peak.key.logical_cores,
                              peak.key.cpu_flags.size()));
  line("measured", fmt::format("{} by plaster {} on {} thread{}{}", peak.measured_utc,
                               peak.key.plaster_version, peak.threads, peak.threads == 1 ? "" : "s",
                               peak.quick ? " (--quick: rough figures)" : ""));
  line("cache", cache);
  out << "\n";

  TextTable table({"precision", "what", "rate", "source"},
                  {Align::kLeft, Align::kLeft, Align::kRight, Align::kLeft});
  for (const auto& p : peak.precisions) {
    const std::string name = engine::PrecisionName(p.precision);
    bool first = true;
    for (const auto& k : p.kernels) {
      const bool is_peak = k.rate.value && p.peak.value && *k.rate.value == *p.peak.value;
      table.AddRow({first ? name : "", k.description + (is_peak ? " (peak)" : ""), Rate(k.rate),
                    k.rate.Source()});
      first = false;
    }
    table.AddRow({first ? name : "", "GEMM", Rate(p.gemm), p.gemm.Source()});
  }
  table.AddRow({"memory", "read", Rate(peak.memory_read), peak.memory_read.Source()});
  table.AddRow({"", "triad", Rate(peak.memory_triad), peak.memory_triad.Source()});
  table.Print(out);

  out << "\n";
  const auto bytes = peak.PeakBytesPerSecond();
  std::string balance;
  for (const auto& p : peak.precisions) {
    if (!p.peak.value || !bytes) continue;
    balance += fmt::format("{}{} {:.1f}", balance.empty() ? "" : ", ",
                           engine::PrecisionName(p.precision), *p.peak.value / *bytes);
  }
  out << fmt::format("{:<10}  {}\n", "Balance",
                     balance.empty()
                         ? std::string("unknown (a peak or the memory bandwidth is unavailable)")
                         : balance +
                               " FLOP/B (peak ÷ memory bandwidth): a model of lower "
                               "intensity is memory-bound");
  for (const auto& note : peak.notes) out << fmt::format("{:<10}  {}\n", "note", note);
}

}  // namespace

CLI::App* AddPeakCommand(CLI::App& app, PeakOptions* o) {
  CLI::App* cmd = app.add_subcommand(
      "peak", "this machine's peak FP32/BF16/INT8 rates and memory bandwidth (cached)");
  cmd->add_flag("--json", o->json, "write the JSON record to stdout");
  cmd->add_flag("--refresh", o->refresh, "measure again even when the cache has this machine");
  cmd->add_option("--threads", o->threads, "threads (0: every core this process may use)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--cache-dir", o->cache_dir,
                  "folder of the cache file peak.json (default: $XDG_CACHE_HOME/plaster, else "
                  "~/.cache/plaster)");
  cmd->add_flag("--quick", o->quick,
                "a rough measurement in about a second (short loops, small arrays, a 512³ "
                "GEMM); cached apart from the full one");
  return cmd;
}

int RunPeak(const PeakOptions& o) {
  evaluate::PeakOptions measure =
      o.quick ? evaluate::PeakOptions::Quick() : evaluate::PeakOptions{};
  measure.threads = o.threads > 0 ? o.threads : evaluate::AvailableCores();
  const std::filesystem::path dir =
      o.cache_dir.empty() ? evaluate::DefaultPeakCacheDir() : std::filesystem::path(o.cache_dir);
  const evaluate::MachineKey key = evaluate::CurrentMachineKey();

  std::optional<MachinePeak> peak;
  std::string status;
  if (dir.empty()) {
    status = "disabled";
  } else if (!o.refresh) {
    std::string warning;
    peak = evaluate::LoadCachedPeak(dir, key, measure.threads, measure.quick, &warning);
    if (!warning.empty()) std::cerr << "plaster: warning: " << warning << "\n";
    if (peak) status = "hit";
  }
  if (!peak) {
    std::cerr << "plaster peak: measuring (about " << (o.quick ? "1" : "5-10") << " s)...\n";
    peak = evaluate::MeasurePeak(measure);
    if (!dir.empty()) {
      try {
        evaluate::SaveCachedPeak(dir, *peak);
        status = o.refresh ? "refreshed" : "stored";
      } catch (const Error& e) {
        std::cerr << "plaster: warning: " << e.what() << "\n";
        status = "not stored";
      }
    }
  }
  const std::string file = dir.empty() ? "" : evaluate::PeakCacheFile(dir).string();
  if (o.json) {
    nlohmann::ordered_json j = evaluate::PeakJson(*peak);
    nlohmann::ordered_json cache;
    cache["file"] = file.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(file);
    cache["status"] = status;
    j["cache"] = std::move(cache);
    std::cout << j.dump(2) << "\n";
  } else {
    std::string cache =
        file.empty()      ? "none (neither XDG_CACHE_HOME nor HOME is set; use --cache-dir)"
        : status == "hit" ? fmt::format("{} (cached; --refresh measures again)", file)
                          : fmt::format("{} ({})", file, status);
    PrintPeak(*peak, cache, std::cout);
  }
  return 0;
}

}  // namespace plaster::cli
