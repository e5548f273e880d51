// Note [The optimizer's search]: `plaster optimize` measures in two stages, each case in its own
// process (Note [Case isolation]), and spends its budget where a configuration can still win.
//
// 1. Accuracy, once per engine × device × precision: a case that runs the whole dataset through
//    a session at one batch (the largest candidate up to 32, so the pass is quick) and measures
//    nothing else (CaseSpec::timing). Accuracy is a property of the engine's arithmetic in a
//    precision, not of the batch or the thread count: the same weights, the same kernels, the
//    same calibrated ranges. (Dynamic int8 is the exception in principle: it quantizes each run
//    in that run's own range, so a batch of other samples rounds slightly differently.) Each
//    lower precision is then paired against fp32 on the same samples (Note [Accuracy in
//    evaluate]); one that loses more than --max-accuracy-drop cannot be recommended, and its
//    configurations are not timed. Nor are those of a precision the engine only emulates
//    (Engine::Emulates: the torch engine's fp16 on CPU), whose speed is not the precision's;
//    they are searched only when --precision names them, for their accuracy.
// 2. Throughput and latency, one batch ladder per engine × device × precision × threads that
//    survived: batches in ascending order, each a case that measures single-stream latency (one
//    query = one batch) and offline throughput. A ladder stops (search.h, StopLadder) when a case
//    fails, when its p99 is over the bound (a larger batch takes longer), or when two batches in
//    a row no longer raise the throughput. The ladders share what is left of the budget the way
//    evaluate's cases do (Note [Case budget]): each case gets (time left) / (cases still
//    planned), so the rungs a ladder skips give their time to the others.
//
// The int8 cases share one calibration through a cache file beside the record (Note
// [Calibration cache]); it is deleted when a search begins, so a model retrained under the same
// name is calibrated again. The front and the recommendation are computed from the timed cases,
// each with its precision's accuracy (search.h).

#include "optimize/optimize.h"

#include <fmt/format.h>

#include <filesystem>
#include <map>
#include <set>

#include "core/clock.h"
#include "core/error.h"
#include "core/hypothesis.h"
#include "core/interrupt.h"
#include "core/system_info.h"
#include "core/units.h"
#include "engine/registry.h"
#include "evaluate/case_record.h"
#include "evaluate/evaluation.h"
#include "evaluate/measure_case.h"
#include "optimize/search.h"

namespace plaster::optimize {
namespace {

using evaluate::CaseConfig;
using evaluate::FindMetric;
using nlohmann::ordered_json;

// The least a timed case gets; less, and the rest of the search is skipped with the reason.
constexpr int64_t kMinTimedCaseNs = 1'500'000'000;

// One engine × device × precision.
struct Variant {
  std::string engine;
  engine::Device device;
  engine::Precision precision;
  std::string Key() const {
    return fmt::format("{}/{}/{}", engine, engine::DeviceName(device), engine::PrecisionName(precision));
  }
};

// What stage 1 found for one variant.
struct Verdict {
  bool measured = false;  // the accuracy case passed with a figure
  std::string metric;     // "top-1", "MSE", "top-1 agreement with fp32"
  double value = 0;
  bool higher_is_better = true;
  bool meets = false;
  std::string summary;  // "82.45% (Δ +0.15 points, p = 0.55: chance)"
  std::string reason;   // why it is excluded, when it is
};

double Value(const ordered_json& metric) { return metric["value"].get<double>(); }

// Throughput as people read it: 48302, 22.5.
std::string Rate(double v) { return v >= 100 ? fmt::format("{:.0f}", v) : fmt::format("{:.3g}", v); }

// The verdict of every variant from its accuracy case (lines already paired by
// AddAccuracyDeltas).
Verdict Judge(const ordered_json& line, double max_drop) {
  Verdict v;
  if (line["status"] != "passed") {
    v.reason = "its accuracy case did not pass: " + line.value("reason", std::string("?"));
    return v;
  }
  const bool fp32 = line["precision"] == "fp32";
  if (const auto* top1 = FindMetric(line, "accuracy.top1")) {
    v.metric = "top-1";
    v.value = Value(*top1);
    v.summary = fmt::format("{:.2f}%", v.value);
  } else if (const auto* mse = FindMetric(line, "accuracy.mse")) {
    v.metric = "MSE";
    v.value = Value(*mse);
    v.higher_is_better = false;
    v.summary = fmt::format("MSE {:.4g}", v.value);
  } else if (const auto* agree = FindMetric(line, "accuracy.agreement_top1")) {
    v.metric = "top-1 agreement with fp32";
    v.value = Value(*agree);
    v.summary = fmt::format("{:.2f}% agreement", v.value);
    v.measured = true;
    v.meets = v.value >= 100 * (1 - max_drop);
    if (!v.meets) {
      v.reason = fmt::format("top-1 agrees with fp32 on {:.2f}% of the samples, under {:g}%",
                             v.value, 100 * (1 - max_drop));
    }
    return v;
  } else if (fp32) {
    // Unlabelled data: fp32 is the reference itself.
    v.metric = "top-1 agreement with fp32";
    v.value = 100;
    v.summary = "reference";
    v.measured = true;
    v.meets = true;
    return v;
  } else {
    v.reason = "its accuracy case measured no accuracy figure";
    return v;
  }
  v.measured = true;
  if (fp32) {
    v.meets = true;
    v.summary += " (reference)";
    return v;
  }
  const auto* delta = FindMetric(line, "accuracy.delta");
  const auto* target = [&]() -> const ordered_json* {
    for (const auto& m : line["metrics"]) {
      if (m.value("name", "") == "accuracy.meets_target" && m.contains("value")) return &m;
    }
    return nullptr;
  }();
  if (!delta || !target) {
    v.reason = "no fp32 accuracy to compare it with";
    return v;
  }
  const bool points = v.metric == "top-1";
  v.summary += fmt::format(" (Δ {:+.2f}{}", Value(*delta), points ? " points" : "");
  if (delta->contains("interval") && (*delta)["interval"]["lower"].is_number()) {
    v.summary += fmt::format(" [{:+.2f}, {:+.2f}]", (*delta)["interval"]["lower"].get<double>(),
                             (*delta)["interval"]["upper"].get<double>());
  }
  v.summary += ")";
  v.meets = (*target)["value"].get<bool>();
  if (!v.meets) v.reason = "it loses too much accuracy: " + (*target).value("how", std::string());
  return v;
}

}  // namespace

std::string CalibrationCachePath(const std::string& jsonl_path) {
  return jsonl_path + ".calibration.json";
}

OptimizeResult Optimize(const OptimizeOptions& o, std::ostream& log) {
  PLASTER_CHECK(!o.data.data.empty(),
                "plaster optimize needs --data: the accuracy side of the trade is measured on "
                "your data (labels give accuracy; without them, agreement with fp32)");
  PLASTER_CHECK(!o.jsonl_path.empty(), "the JSON Lines record needs a path (--jsonl)");
  const SystemInfo sys = ReadSystemInfo();
  evaluate::SweepOptions space = o.space;
  for (const auto& name : space.engines) engine::FindEngine(name);  // a typo fails here
  if (space.precisions.empty()) {
    // Every precision each engine offers on each device, in the engines' order, but those it
    // only emulates: their speed is not theirs (an explicit --precision still measures their
    // accuracy).
    std::vector<std::string> all;
    for (const auto& name : space.engines) {
      for (const auto& d : space.devices) {
        const engine::Engine& eng = engine::FindEngine(name);
        for (auto p : eng.precisions(evaluate::ParseDevice(d))) {
          if (eng.Emulates(evaluate::ParseDevice(d), p)) continue;
          const std::string text = engine::PrecisionName(p);
          if (std::find(all.begin(), all.end(), text) == all.end()) all.push_back(text);
        }
      }
    }
    space.precisions = all;
  }
  PLASTER_CHECK(std::find(space.precisions.begin(), space.precisions.end(), "fp32") !=
                    space.precisions.end(),
                "--precision {}: must include fp32, the reference every accuracy drop is "
                "measured from",
                fmt::join(space.precisions, ","));
  for (size_t i = 1; i < space.batches.size(); ++i) {
    PLASTER_CHECK(space.batches[i] > space.batches[i - 1],
                  "--batch: give the batch sizes in ascending order (each ladder climbs them; "
                  "{} comes after {})",
                  space.batches[i], space.batches[i - 1]);
  }
  const std::vector<CaseConfig> all_cases = evaluate::ExpandSweep(space, sys.logical_cores);
  int64_t accuracy_batch = o.accuracy_batch;
  if (accuracy_batch == 0) {
    accuracy_batch = space.batches.front();
    for (int64_t b : space.batches) {
      if (b <= 32) accuracy_batch = b;
    }
  }
  PLASTER_CHECK(accuracy_batch >= 1 && accuracy_batch <= 4096,
                "--accuracy-batch {}: must be 1 to 4096", accuracy_batch);

  // The variants, and the thread counts (resolved) of each ladder.
  std::vector<Variant> variants;
  std::vector<int> threads;
  for (const auto& c : all_cases) {
    const Variant v{c.engine, c.device, c.precision};
    if (std::none_of(variants.begin(), variants.end(),
                     [&](const Variant& w) { return w.Key() == v.Key(); })) {
      variants.push_back(v);
    }
    if (std::find(threads.begin(), threads.end(), c.threads) == threads.end()) {
      threads.push_back(c.threads);
    }
  }
  const int most_threads = *std::max_element(threads.begin(), threads.end());

  evaluate::EvaluateOptions eo;
  eo.model = o.model;
  eo.shapes = o.shapes;
  eo.sweep = space;
  eo.budget_ns = o.budget_ns;
  eo.latency_bound_ns = o.latency_bound_ns;
  eo.seed = o.seed;
  eo.command_line = o.command_line;
  ordered_json context = evaluate::EvaluationContext(eo, all_cases);  // loads the model: fails early
  const std::optional<double> bound_ms =
      o.latency_bound_ns ? std::optional<double>(static_cast<double>(*o.latency_bound_ns) / 1e6)
                         : std::nullopt;
  // E's idle baseline, before the budget starts (set-up, as in evaluate).
  std::string energy_summary;
  const evaluate::CaseEnergy energy =
      evaluate::PrepareEnergy(o.power_sources, o.sample_interval_s, o.idle_s, &energy_summary);
  log << energy_summary << "\n";
  if (o.objective == Objective::kEnergy && !energy.enabled) {
    Fail("--objective energy: {}", energy.why);
  }
  context["energy"] = {{"idle", evaluate::IdleJson(energy.idle)}, {"why", energy.why}};
  context["optimization"] = {
      {"objective", ObjectiveName(o.objective)},
      {"latency_bound_ms", bound_ms ? ordered_json(*bound_ms) : ordered_json(nullptr)},
      {"max_accuracy_drop", o.data.max_drop},
      {"accuracy_batch", accuracy_batch},
      {"data", o.data.data},
      {"calibration", o.data.calibration.empty() ? ordered_json(nullptr)
                                                 : ordered_json(o.data.calibration)}};

  evaluate::CaseData data = o.data;
  data.calibration_cache = CalibrationCachePath(o.jsonl_path);
  std::filesystem::remove(data.calibration_cache);  // Note [The optimizer's search]

  // The budget starts once the engines' libraries and the model are loaded (as evaluate's).
  const int64_t start_ns = NowNs();
  auto left_ns = [&] { return o.budget_ns - (NowNs() - start_ns); };
  InterruptScope interrupt;
  OptimizeResult result;
  evaluate::JsonlWriter jsonl(o.jsonl_path, false);
  jsonl.Write(context);
  ordered_json cases = ordered_json::array();
  auto keep = [&](ordered_json line, const std::string& role, const std::string& what) {
    line["role"] = role;
    jsonl.Write(line);
    log << fmt::format("{} {}: {}{} ({:.1f} s)\n", role == "accuracy" ? "accuracy" : "timing",
                       line["id"].get<std::string>(), line["status"].get<std::string>(),
                       line["status"] == "passed" ? (what.empty() ? "" : ", " + what)
                                                  : ": " + line.value("reason", std::string()),
                       line.value("elapsed_s", 0.0));
    line.erase("kind");
    cases.push_back(line);
    if (line["status"] == "interrupted") result.interrupted = true;
  };
  auto offered = [](const Variant& v) -> std::optional<std::string> {
    const engine::Engine& eng = engine::FindEngine(v.engine);
    const auto devices = eng.devices();
    if (std::find(devices.begin(), devices.end(), v.device) == devices.end()) {
      return fmt::format("engine '{}' does not offer {}", v.engine, engine::DeviceName(v.device));
    }
    const auto precisions = eng.precisions(v.device);
    if (std::find(precisions.begin(), precisions.end(), v.precision) == precisions.end()) {
      return fmt::format("engine '{}' does not offer {} on {}", v.engine,
                         engine::PrecisionName(v.precision), engine::DeviceName(v.device));
    }
    return std::nullopt;
  };
  auto spec_for = [&](const CaseConfig& c, int64_t budget) {
    evaluate::CaseSpec spec;
    spec.model = o.model;
    spec.shapes = o.shapes;
    spec.config = c;
    spec.budget_ns = budget;
    spec.seed = o.seed;
    spec.data = data;
    spec.energy = energy;
    return spec;
  };
  const int64_t planned_rungs =
      static_cast<int64_t>(space.batches.size() * threads.size());

  // Stage 1: accuracy.
  std::map<std::string, Verdict> verdicts;
  ordered_json accuracy_lines = ordered_json::array();  // as measured, without "kind"
  // The accuracy lines so far, each lower precision paired against its fp32 case.
  auto paired = [&] {
    ordered_json lines = accuracy_lines;
    evaluate::AddAccuracyDeltas(lines, o.data.max_drop);
    return lines;
  };
  for (size_t k = 0; k < variants.size(); ++k) {
    const Variant& v = variants[k];
    Verdict& verdict = verdicts[v.Key()];
    if (auto why = offered(v)) {
      verdict.reason = *why;
      continue;
    }
    if (StopRequested()) {
      result.interrupted = true;
      verdict.reason = "the search was interrupted before its accuracy case";
      continue;
    }
    const CaseConfig c{v.engine, v.device, v.precision, accuracy_batch, most_threads};
    // The dataset is not cut short: the case may use the rest of the budget (--limit bounds it).
    const int64_t cases_left = static_cast<int64_t>(variants.size() - k) * (1 + planned_rungs);
    evaluate::CaseSpec spec = spec_for(c, std::max<int64_t>(left_ns(), 0) / cases_left);
    spec.data.data = o.data.data;
    spec.timing = false;
    ordered_json line = evaluate::RunCaseInChild(spec, std::max<int64_t>(left_ns(), 0) + 30'000'000'000,
                                                 nullptr, nullptr);
    line["id"] = line["id"].get<std::string>() + "/accuracy";
    accuracy_lines.push_back(line);
    accuracy_lines.back().erase("kind");
    verdict = Judge(paired().back(), o.data.max_drop);
    keep(line, "accuracy", verdict.measured ? verdict.summary : "");
  }
  // A precision judged before fp32's case existed is judged again now that it does.
  for (const auto& line : paired()) {
    const std::string key = fmt::format("{}/{}/{}", line["engine"].get<std::string>(),
                                        line["device"].get<std::string>(),
                                        line["precision"].get<std::string>());
    verdicts[key] = Judge(line, o.data.max_drop);
  }

  // Stage 2: the ladders of the variants that may win.
  struct Ladder {
    Variant variant;
    int threads = 1;
    std::vector<Rung> rungs;
    std::vector<std::string> ids;
    std::string stopped;  // why it stopped early; empty: it climbed every batch
  };
  std::vector<Ladder> ladders;
  ordered_json excluded = ordered_json::array();
  for (const auto& v : variants) {
    const Verdict& verdict = verdicts[v.Key()];
    std::string reason = verdict.reason.empty() ? "no accuracy" : verdict.reason;
    const bool emulated = engine::FindEngine(v.engine).Emulates(v.device, v.precision);
    if (verdict.measured && verdict.meets && emulated) {
      reason = fmt::format("engine '{}' emulates {} on {}: its accuracy is measured, its speed "
                           "is not {}'s",
                           v.engine, engine::PrecisionName(v.precision),
                           engine::DeviceName(v.device), engine::PrecisionName(v.precision));
    }
    if (!verdict.measured || !verdict.meets || emulated) {
      excluded.push_back({{"variant", v.Key()}, {"reason", reason}});
      log << fmt::format("{}: not timed: {}\n", v.Key(), reason);
      continue;
    }
    for (int t : threads) ladders.push_back({v, t, {}, {}, ""});
  }
  int64_t rungs_left = static_cast<int64_t>(ladders.size() * space.batches.size());
  for (auto& ladder : ladders) {
    for (size_t r = 0; r < space.batches.size(); ++r) {
      const int64_t batch = space.batches[r];
      if (StopRequested()) {
        result.interrupted = true;
        ladder.stopped = "the search was interrupted";
        break;
      }
      const int64_t share = std::max<int64_t>(left_ns(), 0) / std::max<int64_t>(rungs_left, 1);
      if (share < kMinTimedCaseNs) {
        ladder.stopped = fmt::format("the budget ran out before batch {} ({:.1f} s a case left)",
                                     batch, static_cast<double>(share) / 1e9);
        break;
      }
      --rungs_left;
      const CaseConfig c{ladder.variant.engine, ladder.variant.device, ladder.variant.precision,
                         batch, ladder.threads};
      evaluate::CaseSpec spec = spec_for(c, share);
      spec.data.data.clear();  // accuracy was stage 1's
      const ordered_json line =
          evaluate::RunCaseInChild(spec, share + share / 4 + 10'000'000'000, nullptr, nullptr);
      Rung rung;
      rung.batch = batch;
      const auto* p99 = FindMetric(line, "latency.p99");
      const auto* offline = FindMetric(line, "t.offline");
      rung.passed = line["status"] == "passed" && p99 && offline;
      if (p99) rung.p99_ms = Value(*p99);
      if (offline) rung.samples_per_s = Value(*offline);
      if (const auto* per_joule = FindMetric(line, "e.inferences_per_joule")) {
        rung.inferences_per_joule = Value(*per_joule);
        rung.energy_estimated = (*per_joule)["source"] == "estimated";
      }
      rung.failure = line["status"] == "passed" ? "no latency or throughput measured"
                                                : line.value("reason", std::string());
      ladder.rungs.push_back(rung);
      ladder.ids.push_back(line["id"].get<std::string>());
      keep(line, "timing",
           rung.passed ? fmt::format("p99 {:.3g} ms, {} samples/s", rung.p99_ms,
                                     Rate(rung.samples_per_s))
                       : "");
      if (line["status"] == "interrupted") {
        ladder.stopped = "the search was interrupted";
        break;
      }
      if (auto stop = StopLadder(ladder.rungs, bound_ms)) {
        if (r + 1 < space.batches.size()) {
          ladder.stopped = *stop;
          rungs_left -= static_cast<int64_t>(space.batches.size() - r - 1);
          log << fmt::format("{}/t{}: stops: {}\n", ladder.variant.Key(), ladder.threads, *stop);
        }
        break;
      }
    }
  }

  // The front and the recommendation.
  std::vector<Point> points;
  std::vector<std::string> point_variants;
  for (const auto& ladder : ladders) {
    const Verdict& verdict = verdicts[ladder.variant.Key()];
    for (size_t r = 0; r < ladder.rungs.size(); ++r) {
      if (!ladder.rungs[r].passed) continue;
      points.push_back({ladder.ids[r], verdict.value, verdict.higher_is_better, verdict.meets,
                        ladder.rungs[r].samples_per_s, ladder.rungs[r].p99_ms,
                        ladder.rungs[r].inferences_per_joule, ladder.rungs[r].energy_estimated});
      point_variants.push_back(ladder.variant.Key());
    }
  }
  const std::vector<size_t> front = ParetoFront(points, bound_ms, o.objective);
  const std::optional<size_t> chosen = Recommend(points, front, o.objective);

  ordered_json optimization = context["optimization"];
  ordered_json accuracy = ordered_json::array();
  for (const auto& v : variants) {
    const Verdict& verdict = verdicts[v.Key()];
    ordered_json a = {{"variant", v.Key()},
                      {"metric", verdict.metric},
                      {"value", verdict.measured ? ordered_json(verdict.value) : ordered_json(nullptr)},
                      {"summary", verdict.summary},
                      {"meets_target", verdict.measured && verdict.meets}};
    if (!verdict.reason.empty()) a["reason"] = verdict.reason;
    accuracy.push_back(a);
  }
  optimization["accuracy"] = accuracy;
  optimization["excluded"] = excluded;
  ordered_json ladder_json = ordered_json::array();
  for (const auto& ladder : ladders) {
    ordered_json batches = ordered_json::array();
    for (const auto& r : ladder.rungs) batches.push_back(r.batch);
    ladder_json.push_back(
        {{"variant", ladder.variant.Key()},
         {"threads", ladder.threads},
         {"batches", batches},
         {"stopped", ladder.stopped.empty() ? ordered_json(nullptr) : ordered_json(ladder.stopped)}});
  }
  optimization["ladders"] = ladder_json;
  ordered_json front_json = ordered_json::array();
  for (size_t i : front) {
    const Point& p = points[i];
    front_json.push_back({{"case", p.id},
                          {"accuracy", p.accuracy},
                          {"samples_per_s", p.samples_per_s},
                          {"p99_ms", p.p99_ms},
                          {"inferences_per_joule", p.inferences_per_joule > 0
                                                       ? ordered_json(p.inferences_per_joule)
                                                       : ordered_json(nullptr)},
                          {"meets_accuracy", p.meets_accuracy}});
  }
  optimization["front"] = front_json;
  ordered_json recommendation;
  if (chosen) {
    const Point& p = points[*chosen];
    const Verdict& verdict = verdicts[point_variants[*chosen]];
    std::string reason =
        o.objective == Objective::kEnergy
            ? fmt::format("the most inferences per joule ({:.4g}/J{}, at {} samples/s) ",
                          p.inferences_per_joule, p.energy_estimated ? ", estimated" : "",
                          Rate(p.samples_per_s))
            : fmt::format("the most throughput ({} samples/s) ", Rate(p.samples_per_s));
    reason += bound_ms ? fmt::format("whose p99 latency ({:.3g} ms) meets the bound {:.3g} ms",
                                     p.p99_ms, *bound_ms)
                       : fmt::format("(p99 latency {:.3g} ms; no bound was set)", p.p99_ms);
    reason += verdict.summary == "reference"
                  ? ", the accuracy reference itself"
                  : fmt::format(", at {} {}", verdict.metric, verdict.summary);
    if (point_variants[*chosen].find("/fp32") == std::string::npos) {
      reason += fmt::format(" within {:g}% of fp32", 100 * o.data.max_drop);
    }
    recommendation = {{"case", p.id}, {"reason", reason}};
    // Note [Is the winner really faster]: the next fastest configuration that is also eligible
    // (within the bound, meeting the accuracy target), set against the winner on their per-batch
    // offline rates: the Hodges–Lehmann ratio with its 95% interval, as `plaster compare` does.
    // When the interval holds 1, the two are not told apart on this machine, and the reason says so.
    // Energy has one figure per case (no per-batch samples to test): the runner-up is named
    // with its figure, untested, and the reason says so.
    std::optional<size_t> next;
    if (o.objective == Objective::kEnergy) {
      for (size_t i = 0; i < points.size(); ++i) {
        const Point& q = points[i];
        if (i == *chosen || !q.meets_accuracy || q.inferences_per_joule <= 0 ||
            (bound_ms && q.p99_ms > *bound_ms)) {
          continue;
        }
        if (!next || q.inferences_per_joule > points[*next].inferences_per_joule) next = i;
      }
      if (next) {
        const Point& q = points[*next];
        recommendation["reason"] =
            reason + fmt::format("; {:.2f}× the next, {} ({:.4g}/J): one energy figure per case, "
                                 "so not tested for significance",
                                 p.inferences_per_joule / q.inferences_per_joule, q.id,
                                 q.inferences_per_joule);
        recommendation["runner_up"] = {{"case", q.id}, {"samples_per_s", q.samples_per_s}};
      }
      next.reset();
    }
    for (size_t i = 0; i < points.size() && o.objective == Objective::kThroughput; ++i) {
      const Point& q = points[i];
      if (i == *chosen || !q.meets_accuracy || (bound_ms && q.p99_ms > *bound_ms)) continue;
      if (!next || q.samples_per_s > points[*next].samples_per_s) next = i;
    }
    if (next) {
      auto rates = [&](const std::string& id) {
        std::vector<double> v;
        for (const auto& c : cases) {
          if (c["id"] == id && c.contains("samples") &&
              c["samples"].contains("offline_samples_per_s")) {
            v = c["samples"]["offline_samples_per_s"].get<std::vector<double>>();
          }
        }
        return v;
      };
      const Point& q = points[*next];
      const auto ratio = stats::HodgesLehmannRatio(rates(q.id), rates(p.id), 0.95);
      ordered_json runner = {{"case", q.id}, {"samples_per_s", q.samples_per_s}};
      if (ratio && ratio->interval.lower && ratio->interval.upper) {
        const bool apart = *ratio->interval.lower > 1.0;
        runner["ratio"] = ratio->estimate;
        runner["interval"] = {*ratio->interval.lower, *ratio->interval.upper};
        runner["distinguishable"] = apart;
        recommendation["reason"] =
            reason + fmt::format("; {:.2f}× the next, {} ({} samples/s), 95% interval "
                                 "[{:.2f}, {:.2f}]{}",
                                 ratio->estimate, q.id, Rate(q.samples_per_s), *ratio->interval.lower,
                                 *ratio->interval.upper,
                                 apart ? "" : ": not told apart on this machine, either will do");
      }
      recommendation["runner_up"] = runner;
    }
  } else if (points.empty()) {
    recommendation = {{"case", nullptr}, {"reason", "no configuration was timed"}};
  } else if (front.empty()) {
    const auto fastest = std::min_element(points.begin(), points.end(), [](const Point& a, const Point& b) {
      return a.p99_ms < b.p99_ms;
    });
    recommendation = {{"case", nullptr},
                      {"reason", fmt::format("no configuration's p99 latency meets the bound "
                                             "{:.3g} ms; the lowest was {:.3g} ms ({})",
                                             bound_ms.value_or(0), fastest->p99_ms, fastest->id)}};
  } else {
    recommendation = {{"case", nullptr},
                      {"reason", "no configuration on the front meets the accuracy target"}};
  }
  optimization["recommended"] = recommendation["case"];
  optimization["budget_s"] = static_cast<double>(o.budget_ns) / 1e9;
  optimization["elapsed_s"] = static_cast<double>(NowNs() - start_ns) / 1e9;

  ordered_json record;
  record["schema"] = "plaster.evaluation";
  record["schema_version"] = evaluate::kEvaluationSchemaVersion;
  ordered_json ctx = context;
  ctx.erase("kind");
  ctx.erase("optimization");
  record["context"] = ctx;
  evaluate::AddAccuracyDeltas(cases, o.data.max_drop);
  record["cases"] = cases;
  record["recommendation"] = recommendation;
  record["optimization"] = optimization;
  if (StopRequested()) result.interrupted = true;
  result.record = std::move(record);
  return result;
}

}  // namespace plaster::optimize
