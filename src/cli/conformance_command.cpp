// plaster conformance: ONNX's backend test suite on an engine; the engine's Programmability record.
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "engine/conformance.h"
#include "engine/registry.h"
#include "evaluate/peak.h"
#include "evaluate/programmability.h"

namespace plaster::cli {
namespace {

namespace fs = std::filesystem;

struct Tally {
  int counts[4] = {0, 0, 0, 0};
  int total() const { return counts[0] + counts[1] + counts[2] + counts[3]; }
};

}  // namespace

CLI::App* AddConformanceCommand(CLI::App& app, ConformanceOptions* o) {
  CLI::App* cmd = app.add_subcommand(
      "conformance", "P: ONNX's backend test cases (libonnx-testdata) on an engine");
  cmd->add_option("folders", o->folders,
                  "suite folders (holding case folders) or case folders; default: node, "
                  "pytorch-converted, pytorch-operator and simple under " +
                      std::string(engine::kOnnxTestDataRoot));
  cmd->add_option("--engine", o->engine,
                  "engines to test, comma-separated (default: every engine but null)");
  cmd->add_flag("--json", o->json, "one JSON object per case, then the totals");
  cmd->add_flag("--verbose", o->verbose, "list passing cases too");
  return cmd;
}

int RunConformance(const ConformanceOptions& o) {
  std::vector<const engine::Engine*> engines;
  if (!o.engine.empty()) {
    for (const auto& name : SplitItems({o.engine}, "--engine")) {
      engines.push_back(&engine::FindEngine(name));
    }
  }
  if (engines.empty()) {
    for (const engine::Engine* e : engine::Engines()) {
      if (e->name() != "null") engines.push_back(e);
    }
  }
  std::vector<fs::path> cases;
  std::vector<fs::path> roots;
  if (o.folders.empty()) {
    roots = engine::DefaultConformanceFolders();
    PLASTER_CHECK(fs::is_directory(roots[0]),
                  "{} not found: install Debian's libonnx-testdata, or name folders",
                  roots[0].string());
  } else {
    for (const auto& f : o.folders) roots.emplace_back(f);
  }
  for (const auto& root : roots) {
    PLASTER_CHECK(fs::is_directory(root), "{}: no such folder", root.string());
    if (fs::exists(root / "model.onnx")) {
      cases.push_back(root);
    } else {
      auto found = engine::ConformanceCases(root);
      PLASTER_CHECK(!found.empty(), "{}: no case folders (with model.onnx) in it", root.string());
      cases.insert(cases.end(), found.begin(), found.end());
    }
  }
  auto line = [](const std::string& label, const Tally& t) {
    const double pct = t.total() ? 100.0 * t.counts[0] / t.total() : 0.0;
    return fmt::format(
        "{:<20} {:>4} cases: {:>4} pass ({:.1f}%), {} fail, {} unsupported, {} error", label,
        t.total(), t.counts[0], pct, t.counts[1], t.counts[2], t.counts[3]);
  };
  std::vector<std::string> summaries;
  for (const engine::Engine* eng : engines) {
    std::map<std::string, Tally> by_suite;
    Tally all;
    for (const auto& dir : cases) {
      // Each case in a process of its own: an engine that crashes costs the case, not the run.
      const engine::CaseResult r = engine::RunConformanceCaseIsolated(*eng, dir);
      by_suite[r.suite].counts[static_cast<int>(r.state)]++;
      all.counts[static_cast<int>(r.state)]++;
      if (o.json) {
        nlohmann::ordered_json j = {{"engine", eng->name()},
                                    {"suite", r.suite},
                                    {"case", r.name},
                                    {"state", engine::CaseStateName(r.state)},
                                    {"detail", r.detail},
                                    {"worst_abs_error", r.worst_abs},
                                    {"worst_rel_error", r.worst_rel},
                                    {"op_types", r.op_types}};
        std::cout << j.dump() << "\n" << std::flush;
      } else if (o.verbose || r.state != engine::CaseState::kPassed) {
        std::cout << fmt::format("{:<8} {:<12} {}/{}{}\n", eng->name(),
                                 engine::CaseStateName(r.state), r.suite, r.name,
                                 r.detail.empty() ? "" : ": " + r.detail)
                  << std::flush;
      }
    }
    std::string summary =
        fmt::format("\nconformance of engine '{}' ({})\n", eng->name(), eng->description());
    for (const auto& [suite, t] : by_suite) summary += line(suite, t) + "\n";
    summaries.push_back(summary + line("all", all) + "\n");
    // The whole default suite is the engine's conformance figure, which P's score reads
    // (Note [The P score] in evaluate/programmability.cpp).
    if (o.folders.empty()) {
      const fs::path cache = evaluate::DefaultPeakCacheDir();
      if (!cache.empty()) {
        evaluate::SaveConformance(cache, eng->name(),
                                  {eng->description(), all.counts[0], all.total(), ""});
        summaries.back() += fmt::format("recorded in {} (the P score of plaster evaluate reads it)\n",
                                        evaluate::ConformanceCacheFile(cache).string());
      }
    }
  }
  if (!o.json) {
    for (const auto& summary : summaries) std::cout << summary;
  }
  return 0;
}

}  // namespace plaster::cli
