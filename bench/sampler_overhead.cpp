// sampler_overhead: what the E sampler takes from the latency it sits beside (issue 8's target:
// less than 1% at 10 ms), A/B in one process so that both arms share the session, the caches and
// the machine's drift. Blocks of single-stream runs alternate A B B A (without, with, with,
// without, ...); a "with" block runs a Sampler over every source found, read every --interval.
// Prints, as JSON, each arm's median of per-block mean and p50 latency, and the Hodges–Lehmann
// ratio with/without of the block means with its 95% interval.
//   sampler_overhead [MODEL] [--blocks N] [--block-ms N] [--interval-ms N] [--sysfs-root DIR]
//                    [--threads N]
#include <algorithm>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "core/hypothesis.h"
#include "engine/registry.h"
#include "loadgen/results.h"
#include "loadgen/runner.h"
#include "model/model_source.h"
#include "power/sampler.h"

int main(int argc, char** argv) {
  using namespace plaster;
  std::string model = "builtin:resnet8";
  int blocks = 40, block_ms = 1000, interval_ms = 10, threads = 0;
  power::SourceOptions sources;
  int k = 1;
  if (k < argc && argv[k][0] != '-') model = argv[k++];
  for (; k + 1 < argc; k += 2) {
    const std::string flag = argv[k];
    const char* value = argv[k + 1];
    if (flag == "--blocks") blocks = std::atoi(value);
    else if (flag == "--block-ms") block_ms = std::atoi(value);
    else if (flag == "--interval-ms") interval_ms = std::atoi(value);
    else if (flag == "--threads") threads = std::atoi(value);
    else if (flag == "--sysfs-root") sources.root = value;
    else {
      std::cerr << "sampler_overhead: unknown option " << flag << "\n";
      return 2;
    }
  }
  try {
    model::LoadOptions load;
    load.batch = 1;
    const model::Model m = model::LoadModelSource(model, load);
    engine::SessionOptions options;
    options.threads = threads;
    std::unique_ptr<engine::Session> session = engine::FindEngine("torch").Compile(m, options);
    std::vector<engine::Session*> sessions = {session.get()};
    std::string names;
    {
      power::Discovery found = power::DiscoverSources(sources);
      for (const auto& s : found.sources) names += (names.empty() ? "" : ", ") + s->name();
    }
    std::vector<double> mean_with, mean_without, p50_with, p50_without;
    for (int b = 0; b < 2 * blocks; ++b) {
      const bool with = (b % 4 == 1) || (b % 4 == 2);  // A B B A
      std::unique_ptr<power::Sampler> sampler;
      if (with) {
        sampler = std::make_unique<power::Sampler>(power::DiscoverSources(sources).sources,
                                                   interval_ms / 1000.0);
        sampler->Start();
      }
      loadgen::TestSettings t;
      t.scenario = loadgen::Scenario::kSingleStream;
      t.budget_ns = static_cast<int64_t>(block_ms) * 1'000'000;
      const loadgen::ScenarioSummary s = loadgen::Summarize(loadgen::RunScenario(sessions, t));
      if (sampler) sampler->Stop();
      (with ? mean_with : mean_without).push_back(s.latency.moments.mean / 1e6);
      const auto* p50 = s.latency.Find(0.5);
      (with ? p50_with : p50_without).push_back(p50 ? p50->value / 1e6 : 0.0);
    }
    auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    nlohmann::ordered_json j;
    j["model"] = model;
    j["sources"] = names;
    j["interval_ms"] = interval_ms;
    j["blocks_each"] = blocks;
    j["block_ms"] = block_ms;
    j["mean_ms"] = {{"with", median(mean_with)}, {"without", median(mean_without)}};
    j["p50_ms"] = {{"with", median(p50_with)}, {"without", median(p50_without)}};
    if (const auto r = stats::HodgesLehmannRatio(mean_without, mean_with, 0.95)) {
      j["mean_ratio"] = r->estimate;
      if (r->interval.lower && r->interval.upper) {
        j["mean_ratio_95"] = {*r->interval.lower, *r->interval.upper};
      }
    }
    if (const auto r = stats::HodgesLehmannRatio(p50_without, p50_with, 0.95)) {
      j["p50_ratio"] = r->estimate;
      if (r->interval.lower && r->interval.upper) {
        j["p50_ratio_95"] = {*r->interval.lower, *r->interval.upper};
      }
    }
    std::cout << j.dump() << "\n";
  } catch (const Error& e) {
    std::cerr << "sampler_overhead: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
