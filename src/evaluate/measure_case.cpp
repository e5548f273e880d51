#include "evaluate/measure_case.h"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>

#include "core/clock.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/units.h"
#include "engine/registry.h"
#include "evaluate/calibration_cache.h"
#include "evaluate/case_record.h"
#include "evaluate/learning_letter.h"
#include "evaluate/peak.h"
#include "evaluate/programmability.h"
#include "evaluate/roofline.h"
#include "loadgen/peak_search.h"
#include "loadgen/results.h"
#include "model/model_source.h"
#include "model/size_analysis.h"

namespace plaster::evaluate {

nlohmann::json ToJson(const CaseSpec& s) {
  return {{"model", s.model},
          {"shapes", s.shapes},
          {"engine", s.config.engine},
          {"device", engine::DeviceName(s.config.device)},
          {"precision", engine::PrecisionName(s.config.precision)},
          {"batch", s.config.batch},
          {"threads", s.config.threads},
          {"budget_ns", s.budget_ns},
          {"latency_bound_ns",
           s.latency_bound_ns ? nlohmann::json(*s.latency_bound_ns) : nlohmann::json(nullptr)},
          {"seed", s.seed},
          {"peak", s.peak},
          {"data", ToJson(s.data)},
          {"timing", s.timing},
          {"energy", ToJson(s.energy)}};
}

CaseSpec CaseSpecFromJson(const nlohmann::json& j) {
  try {
    CaseSpec s;
    s.model = j.at("model").get<std::string>();
    s.shapes = j.at("shapes").get<std::vector<std::string>>();
    s.config.engine = j.at("engine").get<std::string>();
    s.config.device = ParseDevice(j.at("device").get<std::string>());
    s.config.precision = ParsePrecision(j.at("precision").get<std::string>());
    s.config.batch = j.at("batch").get<int64_t>();
    s.config.threads = j.at("threads").get<int>();
    s.budget_ns = j.at("budget_ns").get<int64_t>();
    if (!j.at("latency_bound_ns").is_null()) {
      s.latency_bound_ns = j.at("latency_bound_ns").get<int64_t>();
    }
    s.seed = j.at("seed").get<uint64_t>();
    s.peak = j.at("peak");
    s.data = CaseDataFromJson(j.at("data"));
    s.timing = j.value("timing", true);
    if (j.contains("energy")) s.energy = CaseEnergyFromJson(j.at("energy"));
    return s;
  } catch (const nlohmann::json::exception& e) {
    Fail("case spec: {}", e.what());
  }
}

int64_t PeakRssBytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

namespace {

double Ms(double ns) { return ns / 1e6; }

// Raw samples go into the record at 0.1 µs resolution (the clock's own is ~20–40 ns per read, and
// a shorter number keeps a record of 100,000 queries near 1 MB), at most kMaxSamples of them: the
// first ones, in the order measured.
constexpr size_t kMaxSamples = 100'000;
double RoundedMs(double ns) { return std::round(ns / 100.0) / 1e4; }

Metric Figure(std::string name, std::string letter, std::string label, nlohmann::ordered_json value,
              std::string unit, Better better, std::string how) {
  Metric m;
  m.name = std::move(name);
  m.letter = std::move(letter);
  m.label = std::move(label);
  m.value = std::move(value);
  m.unit = std::move(unit);
  m.better = better;
  m.how = std::move(how);
  return m;
}

// The latency metrics of a single-stream run (ms), each percentile with its interval, and the
// raw samples behind them.
void AddLatency(CaseRecord& record, const loadgen::RunResult& run,
                const loadgen::ScenarioSummary& s) {
  std::vector<double> ms;
  ms.reserve(std::min(run.records.size(), kMaxSamples));
  for (const auto& r : run.records) {
    if (ms.size() == kMaxSamples) {
      record.Warn(fmt::format("L: the record keeps the first {} of {} latency samples",
                              FormatCount(kMaxSamples), FormatCount(run.records.size())));
      break;
    }
    ms.push_back(RoundedMs(static_cast<double>(r.finished_ns - r.scheduled_ns)));
  }
  record.SetSamples("latency_ms", std::move(ms));
  const std::string how = fmt::format("single-stream, {} queries in {}", FormatCount(s.queries_completed),
                                      FormatDurationNs(static_cast<double>(s.duration_ns)));
  Metric mean = Figure("latency.mean", "L", "mean latency", Ms(s.latency.moments.mean), "ms",
                       Better::kLower, how);
  mean.samples = "latency_ms";
  record.Add(mean);
  for (const auto& p : s.latency.percentiles) {
    const std::string name = stats::PercentileName(p.p);
    Metric m = Figure("latency." + name, "L", name + " latency", Ms(p.value), "ms", Better::kLower,
                      how);
    m.has_interval = true;
    if (p.interval.lower) m.lower = Ms(*p.interval.lower);
    if (p.interval.upper) m.upper = Ms(*p.interval.upper);
    m.coverage = p.interval.coverage;
    m.samples = "latency_ms";
    record.Add(m);
  }
  Metric max = Figure("latency.max", "L", "max latency", Ms(s.latency.moments.max), "ms",
                      Better::kLower, how);
  max.samples = "latency_ms";
  record.Add(max);
  record.Add(Figure("latency.cv", "L", "latency CV", s.latency.moments.cv, "ratio", Better::kLower,
                    how));
  for (const auto& w : s.warnings) record.Warn("L: " + w);
}

nlohmann::ordered_json CurveJson(const loadgen::PeakResult& r) {
  nlohmann::ordered_json points = nlohmann::ordered_json::array();
  for (const auto& p : r.curve) {
    points.push_back({{"rate_qps", p.rate_qps},
                      {"batch", std::max<int64_t>(p.batch, 1)},
                      {"sessions", std::max(p.sessions, 1)},
                      {"samples_per_s", p.samples_per_s},
                      {"latency_ms", Ms(p.latency_ns)},
                      {"passed", p.passed}});
  }
  return points;
}

// The S letter from the static analysis: per batch, as the case runs it.
void AddSize(CaseRecord& record, const model::SizeReport& size) {
  const std::string how = "Size analysis of the model at this batch";
  record.Add(Figure("s.parameters", "S", "parameters", size.parameters, "count", Better::kLower,
                    how));
  record.Add(Figure("s.weight_bytes", "S", "weights", size.weight_bytes, "B", Better::kLower, how));
  if (size.file_bytes) {
    record.Add(Figure("s.file_bytes", "S", "file size", static_cast<int64_t>(*size.file_bytes),
                      "B", Better::kLower, "the ONNX file (and its external data)"));
  } else {
    record.AddUnavailable("s.file_bytes", "S", "file size", "B", Better::kLower,
                          "the model is built into plaster, not read from a file");
  }
  record.Add(Figure("s.flops", "S", "FLOPs per batch", size.flops, "FLOP", Better::kLower,
                    how + " (1 MAC = 2 FLOPs)"));
  record.Add(Figure("s.macs", "S", "MACs per batch", size.macs, "MAC", Better::kLower, how));
  record.Add(Figure("s.peak_activation_bytes", "S", "peak activations", size.peak_activation_bytes,
                    "B", Better::kLower, how + " (live tensors over the execution order)"));
  if (auto intensity = size.intensity()) {
    record.Add(Figure("s.intensity", "S", "arithmetic intensity", *intensity, "FLOP/B",
                      Better::kNone, how + " (FLOPs / bytes each node reads and writes)"));
  } else {
    record.AddUnavailable("s.intensity", "S", "arithmetic intensity", "FLOP/B", Better::kNone,
                          "some tensor's size is unknown");
  }
  std::map<std::string, int64_t> params;
  for (const auto& n : size.nodes) params[n.op_type] += n.weight_elements;
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const auto& op : size.op_types) {
    rows.push_back({{"op_type", op.op_type},
                    {"nodes", op.nodes},
                    {"flops", op.flops},
                    {"parameters", params[op.op_type]}});
  }
  record.SetSizeByOp(std::move(rows));
}

// The roofline point of the case, when the machine's peak for its precision is known (filled in
// with evaluate/roofline.h).
bool AddRoofline(CaseRecord& record, const CaseSpec& spec, const model::SizeReport& size,
                 double achieved_flops) {
  if (spec.peak.is_null()) return false;
  const auto intensity = size.intensity();
  if (!intensity) return false;
  const MachinePeak peak = PeakFromJson(spec.peak);
  const auto roof = ComputeRoofline(peak, spec.config.precision, *intensity, achieved_flops);
  if (!roof) return false;
  record.SetRoofline(RooflineJson(*roof));
  record.Add(Figure("t.peak_fraction", "T", "share of the machine's peak", 100 * roof->fraction,
                    "%", Better::kHigher,
                    fmt::format("achieved FLOP/s ÷ the {} peak at {} thread(s) ({}); the model is "
                                "{}-bound here (intensity {:.3g} FLOP/B, balance {:.3g})",
                                engine::PrecisionName(spec.config.precision), peak.threads,
                                FormatSi(roof->peak_flops, "FLOP/s"), BoundName(roof->bound),
                                roof->intensity, roof->balance)));
  return true;
}

// Where the budget goes once the cold start is done (Note [Case budget] in evaluation.cpp): R
// takes 15% for training throughput, half for a time-to-accuracy run; L and T share the rest.
struct Shares {
  double latency, offline, server, learning;
};
Shares SplitBudget(bool server, bool time_to_accuracy) {
  const double learning = time_to_accuracy ? 0.50 : 0.15;
  const double rest = 1 - learning;
  return server ? Shares{0.40 * rest, 0.25 * rest, 0.35 * rest, learning}
                : Shares{0.55 * rest, 0.45 * rest, 0.0, learning};
}

// Queries per scenario at most: summarising a run costs time after its budget (sorting every
// latency, five distributions), so a very fast engine (the null one: millions of queries/s)
// stops at this count rather than overrun the case's budget.
constexpr int64_t kMaxQueries = 250'000;

// The least time a scenario gets; less than this and the letter is reported unavailable.
constexpr int64_t kMinScenarioNs = 200'000'000;

// The P score and its parts beside the P figures (Note [The P score] in programmability.cpp).
void AddProgrammability(CaseRecord& record, const engine::Engine& eng, engine::Device device,
                        const engine::SupportReport& support, bool imports, const std::string& changes,
                        std::optional<double> cold_start_ms, std::optional<double> rss_bytes) {
  ProgrammabilityInputs in;
  in.imports = imports;
  in.changes = changes;
  in.nodes = static_cast<int>(support.nodes.size());
  in.nodes_supported = support.SupportedCount();
  std::tie(in.op_types, in.op_types_supported) = OpTypeCoverage(support);
  const std::filesystem::path cache = DefaultPeakCacheDir();
  in.conformance = LoadConformance(cache, eng);
  if (!in.conformance) {
    in.conformance_missing = fmt::format(
        "no conformance run of engine '{}' ({}) on this machine: `plaster conformance` records one",
        eng.name(), eng.description());
  }
  in.cold_start_ms = cold_start_ms;
  in.cold_start_rss_bytes = rss_bytes;
  for (engine::Precision p : eng.precisions(device)) {
    (eng.Emulates(device, p) ? in.emulated : in.precisions).emplace_back(engine::PrecisionName(p));
  }
  const ProgrammabilityScore score = ScoreProgrammability(in);
  record.Add(Figure("p.score", "P", "Programmability score", score.score, "", Better::kHigher,
                    score.Formula()));
  record.Add(Figure("p.op_type_coverage", "P", "op types run natively",
                    in.op_types ? 100.0 * in.op_types_supported / in.op_types : 100.0, "%",
                    Better::kHigher,
                    fmt::format("{} of {} op types, every node of each ({})", in.op_types_supported,
                                in.op_types, eng.name())));
  if (in.conformance) {
    record.Add(Figure("p.conformance", "P", "ONNX conformance", 100 * in.conformance->pass_rate(), "%",
                      Better::kHigher,
                      fmt::format("{} of {} ONNX backend cases passed (plaster conformance, {})",
                                  in.conformance->passed, in.conformance->cases, in.conformance->when)));
  } else {
    record.AddUnavailable("p.conformance", "P", "ONNX conformance", "%", Better::kHigher,
                          in.conformance_missing);
  }
  std::string offered;
  for (const auto& p : in.precisions) offered += (offered.empty() ? "" : ", ") + p;
  for (const auto& p : in.emulated) offered += (offered.empty() ? "" : ", ") + p + " (emulated)";
  record.Add(Figure("p.precisions", "P", "precisions offered", offered, "", Better::kNone,
                    fmt::format("engine '{}' on {}", eng.name(), engine::DeviceName(device))));
}

}  // namespace

nlohmann::ordered_json MeasureCase(const CaseSpec& spec, const PhaseCallback& on_phase,
                                   const SnapshotCallback& on_snapshot) {
  const int64_t start_ns = NowNs();
  CaseRecord record(spec.config);
  const double budget_s = static_cast<double>(spec.budget_ns) / 1e9;
  auto finish = [&](CaseStatus status, const std::string& reason) {
    return record.ToJson(status, reason, budget_s, static_cast<double>(NowNs() - start_ns) / 1e9);
  };
  auto left_ns = [&] { return spec.budget_ns - (NowNs() - start_ns); };
  std::string letter = "P";
  auto phase = [&](const std::string& l, const std::string& what) {
    letter = l;
    if (on_snapshot) on_snapshot(finish(CaseStatus::kFailed, "ended during " + l + " (" + what + ")"));
    if (on_phase) on_phase(l + ": " + what);
  };
  InterruptScope interrupt;
  loadgen::RunHooks hooks;
  hooks.stop = StopFlag();

  try {
    // P: load, support, compile, first inference.
    phase("P", "cold start");
    model::LoadOptions load;
    for (const auto& text : spec.shapes) load.shapes.push_back(model::ParseShapeOverride(text));
    load.batch = spec.config.batch;
    const int64_t t0 = NowNs();
    const model::Model m = model::LoadModelSource(spec.model, load);
    const int64_t t1 = NowNs();
    const engine::Engine& eng = engine::FindEngine(spec.config.engine);
    const engine::SupportReport support = eng.Support(m);
    const int supported = support.SupportedCount();
    const int nodes = static_cast<int>(support.nodes.size());
    record.Add(Figure("p.node_coverage", "P", "nodes run natively",
                      nodes == 0 ? 100.0 : 100.0 * supported / nodes, "%", Better::kHigher,
                      fmt::format("{} of {} nodes ({})", supported, nodes, eng.name())));
    // The Size analysis is plaster's own work, not the engine's: it stays out of the cold start.
    auto size_now = [&] {
      model::SizeReport r = model::AnalyzeSize(m);
      AddSize(record, r);
      record.SetLetter("S", "measured");
      return r;
    };
    if (!support.AllSupported()) {
      size_now();
      std::string first;
      int missing = 0;
      for (const auto& n : support.nodes) {
        if (n.supported) continue;
        if (missing++ == 0) first = fmt::format("node '{}' ({}): {}", n.node, n.op_type, n.reason);
      }
      record.Add(Figure("p.imports", "P", "imports", false, "bool", Better::kHigher,
                        fmt::format("{}: {} unsupported node(s); the model needs changes (the first: "
                                    "{})",
                                    eng.name(), missing, first)));
      AddProgrammability(record, eng, spec.config.device, support, false,
                         fmt::format("{} unsupported node(s), the first {}", missing, first),
                         std::nullopt, std::nullopt);
      record.SetLetter("P", "measured");
      return finish(CaseStatus::kUnsupported,
                    fmt::format("{} unsupported node(s); the first: {}", missing, first));
    }
    engine::SessionOptions options;
    options.device = spec.config.device;
    options.precision = spec.config.precision;
    options.threads = spec.config.threads;
    options.quantization = CaseQuantization(spec.data, m, spec.config.precision);
    std::unique_ptr<engine::Session> session = eng.Compile(m, options);
    const int64_t t2 = NowNs();
    // Static int8 calibration happens in Compile, but it is a step of deployment, done once
    // per model: it is reported on its own and kept out of the cold start.
    const engine::PrecisionReport precision = session->precision_report();
    const auto calibration_ns = static_cast<int64_t>(precision.calibration_seconds * 1e9);
    if (calibration_ns > 0 && !spec.data.calibration_cache.empty() &&
        options.quantization.calibrated->done) {
      WriteCalibrationCache(spec.data, *options.quantization.calibrated);
    }
    std::vector<engine::HostTensor> inputs;
    for (const auto& s : session->inputs()) inputs.push_back(engine::GenerateInput(s, spec.seed));
    const int64_t t3 = NowNs();
    session->Run(inputs);
    const int64_t t4 = NowNs();
    record.Add(Figure("p.imports", "P", "imports", true, "bool", Better::kHigher,
                      fmt::format("{} compiled every node", eng.name())));
    const std::string cold = "measured once, in a fresh process";
    record.Add(Figure("p.cold_start", "P", "cold start",
                      Ms(static_cast<double>((t1 - t0) + (t2 - t1 - calibration_ns) + (t4 - t3))),
                      "ms",
                      Better::kLower, cold + ": load + compile + first inference"));
    record.Add(Figure("p.load", "P", "load", Ms(static_cast<double>(t1 - t0)), "ms", Better::kLower,
                      cold + ": parse, check, bind shapes"));
    record.Add(Figure("p.compile", "P", "compile", Ms(static_cast<double>(t2 - t1 - calibration_ns)),
                      "ms", Better::kLower,
                      cold + ": the engine's first use (its libraries load), support report, "
                             "compile"));
    if (precision.requested != engine::Precision::kFp32) {
      std::string how = precision.hardware;
      if (!precision.quantization.empty()) how += "; " + precision.quantization;
      for (const auto& kept : precision.kept) {
        how += fmt::format("; kept in fp32: '{}' ({}): {}", kept.node, kept.op_type, kept.reason);
      }
      record.Add(Figure("p.precision", "P", "precision", precision.Summary(), "", Better::kNone,
                        how));
      if (eng.Emulates(spec.config.device, spec.config.precision)) {
        record.Warn(fmt::format("P: {0} is emulated on {1} by engine '{2}': A is {0}'s, L and T "
                                "are not {0}'s speed (never recommended)",
                                engine::PrecisionName(spec.config.precision),
                                engine::DeviceName(spec.config.device), eng.name()));
      }
    }
    if (calibration_ns > 0) {
      record.Add(Figure("p.calibration", "P", "int8 calibration", Ms(static_cast<double>(calibration_ns)), "ms",
                        Better::kLower, precision.quantization));
    }
    record.Add(Figure("p.first_inference", "P", "first inference", Ms(static_cast<double>(t4 - t3)),
                      "ms", Better::kLower, cold));
    record.SetLetter("P", "measured");
    const auto cold_rss = static_cast<double>(PeakRssBytes());
    record.Add(Figure("s.cold_start_rss_bytes", "S", "resident memory after cold start", cold_rss,
                      "B", Better::kLower,
                      "peak resident set of the case's process after the first inference"));
    AddProgrammability(record, eng, spec.config.device, support, true, "",
                       Ms(static_cast<double>((t1 - t0) + (t2 - t1 - calibration_ns) + (t4 - t3))),
                       cold_rss);
    inputs.clear();
    const model::SizeReport size = size_now();

    if (!spec.data.data.empty()) {  // Note [Accuracy in evaluate] in accuracy_letter.cpp
      phase("A", "accuracy");
      MeasureAccuracyLetter(spec.data, m, eng, options, *session, record);
    }

    if (!spec.timing) {
      const std::string why = "not measured: this case measures accuracy only (plaster optimize "
                              "times each configuration in a case of its own)";
      record.SetLetter("L", "unavailable", why);
      record.SetLetter("T", "unavailable", why);
      record.SetLetter("R", "unavailable", why);
      return finish(CaseStatus::kPassed, "");
    }

    // L, then T, sharing the session.
    std::vector<engine::Session*> sessions = {session.get()};
    const bool server = spec.latency_bound_ns.has_value();
    const Shares shares = SplitBudget(
        server, !spec.data.train_data.empty() && spec.data.target_accuracy.has_value());
    const int64_t after_cold = left_ns() - spec.budget_ns / 20;  // 5% kept for reporting
    auto scenario_budget = [&](double share) {
      return static_cast<int64_t>(static_cast<double>(after_cold) * share);
    };
    bool interrupted = false;

    // E samples while L and T run (Note [Energy in evaluate] in energy_letter.cpp).
    EnergyLetter energy(spec.energy);

    phase("L", "single-stream");
    if (scenario_budget(shares.latency) < kMinScenarioNs) {
      record.SetLetter("L", "unavailable",
                       fmt::format("the cold start used the case's budget ({} of {})",
                                   FormatDurationNs(static_cast<double>(spec.budget_ns - left_ns())),
                                   FormatDurationNs(static_cast<double>(spec.budget_ns))));
    } else {
      loadgen::TestSettings t;
      t.scenario = loadgen::Scenario::kSingleStream;
      t.budget_ns = scenario_budget(shares.latency);
      t.max_query_count = kMaxQueries;
      t.sample_seed = spec.seed;
      t.schedule_seed = spec.seed;
      if (spec.latency_bound_ns) t.target_latency_ns = *spec.latency_bound_ns;
      const loadgen::RunResult run = loadgen::RunScenario(sessions, t, hooks);
      const loadgen::ScenarioSummary s = loadgen::Summarize(run);
      interrupted |= s.interrupted();
      if (s.queries_completed > 0) {
        AddLatency(record, run, s);
        record.SetLetter("L", "measured");
        energy.AddWindow("single_stream", run.origin_ns, run.origin_ns + s.duration_ns,
                         s.samples_completed, record);
      } else {
        record.SetLetter("L", "unavailable", "no query completed");
      }
    }

    double offline_samples_per_s = 0;
    if (!interrupted) {
      phase("T", "offline");
      loadgen::TestSettings t;
      t.scenario = loadgen::Scenario::kOffline;
      t.budget_ns = scenario_budget(shares.offline);
      t.max_query_count = kMaxQueries;
      t.sample_seed = spec.seed;
      if (t.budget_ns >= kMinScenarioNs) {
        const loadgen::RunResult run = loadgen::RunScenario(sessions, t, hooks);
        const loadgen::ScenarioSummary s = loadgen::Summarize(run);
        interrupted |= s.interrupted();
        if (s.queries_completed > 0) {
          std::vector<double> rates;
          for (const auto& r : run.records) {
            const double ns = static_cast<double>(r.finished_ns - r.started_ns);
            if (ns > 0 && rates.size() < kMaxSamples) {
              rates.push_back(std::round(static_cast<double>(spec.config.batch) * 1e13 / ns) / 1e4);
            }
          }
          record.SetSamples("offline_samples_per_s", std::move(rates));
          offline_samples_per_s = s.samples_per_s;
          Metric offline = Figure("t.offline", "T", "offline throughput", s.samples_per_s, "samples/s",
                            Better::kHigher,
                            fmt::format("offline, batch {}, 1 session: {} batches in {}",
                                        spec.config.batch, FormatCount(s.queries_completed),
                                        FormatDurationNs(static_cast<double>(s.duration_ns))));
          offline.samples = "offline_samples_per_s";
          record.Add(offline);
          loadgen::PeakResult single;  // the offline point, for the throughput–latency chart
          single.curve.push_back({0, spec.config.batch, 1, s.samples_per_s,
                                  s.TargetPercentileNs(), true, stats::Verdict::kUndecided,
                                  s.end});
          record.SetCurve("offline", CurveJson(single));
          record.SetLetter("T", "measured");
          for (const auto& w : s.warnings) record.Warn("T: " + w);
          energy.AddWindow("offline", run.origin_ns, run.origin_ns + s.duration_ns,
                           s.samples_completed, record);
        }
      }
      if (!record.HasLetter("T")) record.SetLetter("T", "unavailable", "no time left for offline");
    }
    if (server && !interrupted) {
      phase("T", "server peak search");
      loadgen::TestSettings t;
      t.scenario = loadgen::Scenario::kServer;
      t.budget_ns = std::max<int64_t>(left_ns() - spec.budget_ns / 20, 0);
      t.max_query_count = kMaxQueries;
      t.target_latency_ns = *spec.latency_bound_ns;
      t.sample_seed = spec.seed;
      t.schedule_seed = spec.seed;
      if (t.budget_ns >= 4 * kMinScenarioNs) {
        const loadgen::PeakResult peak = loadgen::FindPeakServerRate(sessions, t, hooks, 8);
        interrupted |= peak.interrupted;
        record.SetCurve("server", CurveJson(peak));
        const std::string how = fmt::format(
            "server scenario, Poisson arrivals; the highest of {} rates tried whose p99 met {}",
            peak.curve.size(), FormatDurationNs(static_cast<double>(*spec.latency_bound_ns)));
        if (peak.best) {
          record.Add(Figure("t.server_peak", "T", "server peak under the bound",
                            peak.curve[*peak.best].samples_per_s, "samples/s", Better::kHigher,
                            how));
        } else {
          record.Add(Figure("t.server_peak", "T", "server peak under the bound", 0.0, "samples/s",
                            Better::kHigher, how + ": none did"));
        }
      } else {
        record.AddUnavailable("t.server_peak", "T", "server peak under the bound", "samples/s",
                              Better::kHigher, "no time left in the case's budget for the search");
      }
    } else if (!server) {
      record.AddUnavailable("t.server_peak", "T", "server peak under the bound", "samples/s",
                            Better::kHigher, "needs --latency-bound");
    }

    energy.Finish(record);

    // The roofline: achieved FLOP/s at the offline rate against the machine's peaks.
    if (spec.config.engine == "null") {
      record.AddUnavailable("t.achieved_flops", "T", "achieved FLOP/s", "FLOP/s", Better::kHigher,
                            "the null engine computes nothing");
    } else if (offline_samples_per_s > 0 && size.flops > 0) {
      const double achieved = static_cast<double>(size.flops) /
                              static_cast<double>(spec.config.batch) * offline_samples_per_s;
      record.Add(Figure("t.achieved_flops", "T", "achieved FLOP/s", achieved, "FLOP/s",
                        Better::kHigher, "FLOPs per sample (Size analysis) × offline samples/s"));
      if (!AddRoofline(record, spec, size, achieved)) {
        record.AddUnavailable("t.peak_fraction", "T", "share of the machine's peak", "%",
                              Better::kHigher,
                              "the machine's peak at this thread count is not known (plaster peak)");
      }
    }

    record.Add(Figure("s.peak_rss_bytes", "S", "peak resident memory", PeakRssBytes(), "B",
                      Better::kLower, "peak resident set of the case's process (getrusage)"));

    // R last, so that training's memory stays out of S (Note [Learning in evaluate]).
    if (!interrupted) {
      phase("R", "training");
      MeasureLearningLetter(spec.model, spec.config, spec.data, m, eng, spec.seed,
                            std::max<int64_t>(left_ns() - spec.budget_ns / 20, 0), record);
      if (record.HasLetter("R")) {
        record.Add(Figure("r.peak_rss_bytes", "R", "peak resident memory with training",
                          PeakRssBytes(), "B", Better::kLower,
                          "peak resident set of the case's process after training too "
                          "(getrusage)"));
      }
      interrupted = StopRequested();
    }
    if (interrupted) return finish(CaseStatus::kInterrupted, "interrupted (Ctrl-C)");
    return finish(CaseStatus::kPassed, "");
  } catch (const Error& e) {
    record.SetLetter(letter, "failed", e.what());
    return finish(CaseStatus::kFailed, e.what());
  } catch (const std::exception& e) {
    const std::string what = fmt::format("unexpected: {}", OneLine(e.what()));
    record.SetLetter(letter, "failed", what);
    return finish(CaseStatus::kFailed, what);
  }
}

}  // namespace plaster::evaluate
