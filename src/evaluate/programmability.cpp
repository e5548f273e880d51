#include "evaluate/programmability.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace plaster::evaluate {
namespace {

namespace fs = std::filesystem;

// Note [The P score]: a weighted sum of parts, each on [0, 1], so that every engine is scored on
// the same absolute scales and a reader can redo the sum from what the record shows:
//   imports as given   25   1 when the engine runs the model unchanged, else 0 (it needs changes:
//                           a re-export, another opset, a rewritten node)
//   nodes              20   share of the model's nodes the engine runs natively
//   op types           15   share of the model's distinct op types whose every node it runs
//   conformance        15   the engine's pass rate on ONNX's backend suite (plaster conformance)
//   cold start         10   load + compile + first inference: 1 at ≤ 100 ms, 0 at ≥ 10 s,
//                           log-linear between (a factor of 10 costs half)
//   cold-start memory   5   peak resident set after the first inference: 1 at ≤ 128 MiB, 0 at
//                           ≥ 4 GiB, log-linear (each doubling costs a fifth)
//   precisions         10   share of fp32, bf16, fp16, int8 the engine offers natively on the
//                           device (an emulated one does not count)
// A model that does not import scores 0 for cold start and its memory: it cannot be deployed.
// A part that was not measured (no conformance run on this machine yet) is left out and the sum is
// rescaled to 100 over the parts measured; the record says which.
constexpr double kColdBestMs = 100, kColdWorstMs = 10'000;
constexpr double kRssBest = 128.0 * (1 << 20), kRssWorst = 4096.0 * (1 << 20);

double LogScale(double value, double best, double worst) {
  if (value <= best) return 1;
  if (value >= worst) return 0;
  return 1 - std::log(value / best) / std::log(worst / best);
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string NowUtc() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

}  // namespace

fs::path ConformanceCacheFile(const fs::path& dir) { return dir / "conformance.json"; }

void SaveConformance(const fs::path& dir, const std::string& engine,
                     const ConformanceSummary& summary) {
  nlohmann::ordered_json all = nlohmann::ordered_json::object();
  const fs::path file = ConformanceCacheFile(dir);
  {
    std::ifstream in(file);
    if (in) {
      try {
        all = nlohmann::ordered_json::parse(in);
      } catch (const nlohmann::json::exception&) {
        all = nlohmann::ordered_json::object();  // a damaged cache is rewritten
      }
    }
  }
  if (!all.is_object()) all = nlohmann::ordered_json::object();
  all[engine] = {{"description", summary.description},
                 {"passed", summary.passed},
                 {"cases", summary.cases},
                 {"when", summary.when.empty() ? NowUtc() : summary.when}};
  std::error_code ec;
  fs::create_directories(dir, ec);
  const fs::path tmp = file.string() + ".tmp";
  {
    std::ofstream out(tmp);
    PLASTER_CHECK(out.good(), "{}: cannot write the conformance cache", tmp.string());
    out << all.dump(2) << "\n";
    PLASTER_CHECK(out.good(), "{}: cannot write the conformance cache", tmp.string());
  }
  fs::rename(tmp, file, ec);
  PLASTER_CHECK(!ec, "{}: {}", file.string(), ec.message());
}

std::optional<ConformanceSummary> LoadConformance(const fs::path& dir, const engine::Engine& engine) {
  if (dir.empty()) return std::nullopt;
  std::ifstream in(ConformanceCacheFile(dir));
  if (!in) return std::nullopt;
  try {
    const auto all = nlohmann::json::parse(in);
    if (!all.is_object() || !all.contains(engine.name())) return std::nullopt;
    const auto& e = all[engine.name()];
    ConformanceSummary s{e.at("description").get<std::string>(), e.at("passed").get<int>(),
                         e.at("cases").get<int>(), e.value("when", "")};
    if (s.description != engine.description() || s.cases <= 0) return std::nullopt;
    return s;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

std::pair<int, int> OpTypeCoverage(const engine::SupportReport& report) {
  std::map<std::string, bool> all_supported;
  for (const auto& n : report.nodes) {
    auto [it, fresh] = all_supported.emplace(n.op_type, n.supported);
    if (!fresh) it->second = it->second && n.supported;
  }
  const auto supported = std::count_if(all_supported.begin(), all_supported.end(),
                                       [](const auto& kv) { return kv.second; });
  return {static_cast<int>(all_supported.size()), static_cast<int>(supported)};
}

ProgrammabilityScore ScoreProgrammability(const ProgrammabilityInputs& in) {
  ProgrammabilityScore s;
  auto share = [](int part, int whole) { return whole > 0 ? static_cast<double>(part) / whole : 1.0; };
  s.parts.push_back({"imports as given", 25, in.imports ? 1.0 : 0.0,
                     in.imports ? "yes" : "no: " + in.changes});
  s.parts.push_back({"nodes", 20, share(in.nodes_supported, in.nodes),
                     fmt::format("{} of {} natively", in.nodes_supported, in.nodes)});
  s.parts.push_back({"op types", 15, share(in.op_types_supported, in.op_types),
                     fmt::format("{} of {}", in.op_types_supported, in.op_types)});
  if (in.conformance) {
    s.parts.push_back({"conformance", 15, in.conformance->pass_rate(),
                       fmt::format("{:.1f}% of ONNX's {} backend cases", 100 * in.conformance->pass_rate(),
                                   in.conformance->cases)});
  } else {
    s.parts.push_back({"conformance", 15, std::nullopt, in.conformance_missing});
  }
  if (!in.imports) {
    s.parts.push_back({"cold start", 10, 0.0, "none: it does not import"});
    s.parts.push_back({"cold-start memory", 5, 0.0, "none: it does not import"});
  } else {
    s.parts.push_back(
        {"cold start", 10,
         in.cold_start_ms ? std::optional<double>(LogScale(*in.cold_start_ms, kColdBestMs, kColdWorstMs))
                          : std::nullopt,
         in.cold_start_ms ? fmt::format("{:.0f} ms", *in.cold_start_ms) : "not measured"});
    s.parts.push_back(
        {"cold-start memory", 5,
         in.cold_start_rss_bytes
             ? std::optional<double>(LogScale(*in.cold_start_rss_bytes, kRssBest, kRssWorst))
             : std::nullopt,
         in.cold_start_rss_bytes ? fmt::format("{:.0f} MiB", *in.cold_start_rss_bytes / (1 << 20))
                                 : "not measured"});
  }
  std::string offered = Join(in.precisions);
  if (!in.emulated.empty()) offered += " (" + Join(in.emulated) + " emulated)";
  s.parts.push_back({"precisions", 10, in.precisions.size() / 4.0,
                     fmt::format("{} of fp32, bf16, fp16, int8: {}", in.precisions.size(), offered)});
  double points = 0;
  for (const auto& p : s.parts) {
    if (!p.value) continue;
    points += p.weight * *p.value;
    s.measured_weight += p.weight;
  }
  s.score = s.measured_weight > 0 ? 100 * points / s.measured_weight : 0;
  return s;
}

std::string ProgrammabilityScore::Formula() const {
  std::string sum;
  double points = 0;
  std::vector<std::string> left_out;
  for (const auto& p : parts) {
    if (!p.value) {
      left_out.push_back(p.name);
      continue;
    }
    points += p.weight * *p.value;
    sum += fmt::format("{}{:g}×{:.2f} ({})", sum.empty() ? "" : " + ", p.weight, *p.value, p.name);
  }
  std::string out = fmt::format("{} = {:.1f}", sum, points);
  if (measured_weight < 100) {
    out += fmt::format(" of {:g}, rescaled to {:.1f} of 100 ({} not measured)", measured_weight, score,
                       Join(left_out));
  }
  return out;
}

}  // namespace plaster::evaluate
