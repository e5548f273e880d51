// The load generator's shared command line (plaster latency, plaster throughput): options,
// sessions, progress, and the text and JSON reports. The measuring is src/loadgen's.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/table.h"
#include "core/units.h"
#include "engine/registry.h"
#include "loadgen/peak_search.h"
#include "model/model_source.h"
#include "plaster/version.h"

namespace plaster::cli {

void AddLoadOptions(CLI::App* cmd, LoadOptions* o) {
  cmd->add_option("model", o->model, "ONNX file, or builtin:resnet8")->required();
  cmd->add_option("--engine", o->engine, "engine (null measures plaster's own overhead)");
  cmd->add_option("--batch", o->batch,
                  "samples per session run (the model's first input dimension); default 1")
      ->check(CLI::Range(int64_t{1}, int64_t{4096}));
  cmd->add_option("--precision", o->precision,
                  "fp32, bf16 or int8 (the engine lists what it offers on this machine)");
  AddCalibrationOptions(cmd, &o->calibration);
  cmd->add_option("--threads", o->threads, "threads per session (0: the engine's default)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--sessions", o->sessions,
                  "worker sessions serving queries concurrently (multi-stream, server, offline)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--budget", o->budget,
                  "time for the scenario (or the whole search), warm-up included: 30s, 2m, 500ms");
  cmd->add_option("--scenario", o->scenario, "single-stream, multi-stream, server or offline");
  cmd->add_option("--latency-bound", o->latency_bound,
                  "the p99 latency to meet (e.g. 7ms): the early-stopping verdict, and the bound "
                  "of the peak searches");
  cmd->add_option("--rate", o->rate,
                  "server: Poisson arrivals per second (with a bound and no "
                  "rate, plaster searches the highest rate that meets it)")
      ->check(CLI::Range(0.0, 1e9));
  cmd->add_option("--interval", o->interval, "multi-stream: time between queries");
  cmd->add_option("--max-queue-delay", o->max_queue_delay,
                  "server: how long the batcher may hold a query to fill a batch");
  cmd->add_option("--seed", o->seed, "seed of the arrival schedule and the generated inputs");
  cmd->add_flag("--json", o->json, "write the results as JSON (schema plaster.loadgen)");
  cmd->add_option("--raw", o->raw,
                  "stream every query's times to FILE.csv or FILE.jsonl as they are measured");
  cmd->add_option("--shape", o->shapes, "shape of an input, NAME:DxDx... (repeatable)");
}

namespace {

std::string Ns(double ns) { return FormatDurationNs(ns); }

std::string Optional(const std::optional<double>& v) { return v ? Ns(*v) : "unbounded"; }

void PrintDistribution(std::ostream& out, const stats::DistributionSummary& d,
                       const std::string& title) {
  out << title << "\n";
  if (d.moments.count == 0) {
    out << "  (no queries completed)\n";
    return;
  }
  TextTable t({"", "value", "95% interval", "coverage"},
              {TextTable::Align::kLeft, TextTable::Align::kRight, TextTable::Align::kLeft,
               TextTable::Align::kRight});
  t.AddRow({"min", Ns(d.moments.min), "", ""});
  for (const auto& p : d.percentiles) {
    t.AddRow({stats::PercentileName(p.p), Ns(p.value),
              fmt::format("{} .. {}", Optional(p.interval.lower), Optional(p.interval.upper)),
              fmt::format("{:.1f}%", 100 * p.interval.coverage)});
  }
  t.AddRow({"max", Ns(d.moments.max), "", ""});
  t.AddRow({"mean", Ns(d.moments.mean),
            fmt::format("sd {}, CV {:.3f}", Ns(d.moments.stddev), d.moments.cv), ""});
  t.Print(out);
}

void PrintSummary(std::ostream& out, const loadgen::ScenarioSummary& s) {
  const loadgen::EffectiveSettings& e = s.settings;
  out << fmt::format("  scenario    {}, batch {}, {} session{}", loadgen::ScenarioName(e.scenario),
                     e.batch_size, e.sessions, e.sessions == 1 ? "" : "s");
  if (e.scenario == loadgen::Scenario::kServer) {
    out << fmt::format(", {:.1f} queries/s Poisson (seed {}), batcher waits at most {}",
                       e.server_rate_qps, e.schedule_seed,
                       Ns(static_cast<double>(e.max_queue_delay_ns)));
  }
  if (e.scenario == loadgen::Scenario::kMultiStream) {
    out << fmt::format(", a query every {}", Ns(static_cast<double>(e.multistream_interval_ns)));
  }
  out << "\n";
  out << fmt::format("  settings    budget {}: warm-up {}, measured {}..{}; at least {} queries\n",
                     Ns(static_cast<double>(e.budget_ns)), Ns(static_cast<double>(e.warmup_ns)),
                     Ns(static_cast<double>(e.min_duration_ns)),
                     Ns(static_cast<double>(e.max_duration_ns)), FormatCount(e.min_query_count));
  for (const auto& n : e.notes) out << "  note        " << n << "\n";
  out << fmt::format(
      "  run         {}: {} queries ({} samples) in {}: {:.1f} queries/s, {:.1f} "
      "samples/s\n",
      loadgen::RunEndName(s.end), FormatCount(s.queries_completed),
      FormatCount(s.samples_completed), Ns(static_cast<double>(s.duration_ns)), s.queries_per_s,
      s.samples_per_s);
  if (e.scenario == loadgen::Scenario::kServer) {
    out << fmt::format("  batching    {:.2f} queries per batch on average\n", s.mean_batch_queries);
  }
  out << "\n";
  PrintDistribution(out, s.latency, fmt::format("Latency ({})", s.latency_basis));
  out << "\nWhere the time goes (docs/metrics.md, \"the latency parts\")\n";
  TextTable parts({"part", "mean", "p50", "p99", "max"},
                  {TextTable::Align::kLeft, TextTable::Align::kRight, TextTable::Align::kRight,
                   TextTable::Align::kRight, TextTable::Align::kRight});
  auto row = [&](const char* name, const stats::DistributionSummary& d) {
    if (d.moments.count == 0) return;
    parts.AddRow({name, Ns(d.moments.mean), Ns(d.Find(0.5)->value), Ns(d.Find(0.99)->value),
                  Ns(d.moments.max)});
  };
  row("queue wait", s.queue_wait);
  row("copy-in", s.copy_in);
  row("compute", s.compute);
  row("copy-out", s.copy_out);
  parts.Print(out);
  const stats::EarlyStopping& es = s.early_stopping;
  const std::string name = stats::PercentileName(es.percentile);
  out << "\n";
  if (es.enough) {
    out << fmt::format(
        "Early stopping  with {:.0f}% confidence the {} is at most {} ({} queries; {} may exceed "
        "it)\n",
        100 * es.confidence, name, Ns(*es.bound), FormatCount(es.count),
        FormatCount(es.overlatency_allowed));
  } else {
    out << fmt::format(
        "Early stopping  {} queries cannot support a claim about the {} at {:.0f}% confidence; "
        "{} are needed\n",
        FormatCount(es.count), name, 100 * es.confidence, FormatCount(es.min_count));
  }
  if (es.target) {
    out << fmt::format("  bound       {} ≤ {}: {} ({} queries above it)\n", name, Ns(*es.target),
                       stats::VerdictName(es.verdict), FormatCount(es.overlatency));
  }
  for (const auto& w : s.warnings) out << "  warning     " << w << "\n";
}

void PrintCurve(std::ostream& out, const loadgen::PeakResult& r, bool server) {
  out << (server ? "Server rates tried (throughput–latency curve, in the order visited)\n"
                 : "Offline configurations tried (in the order visited)\n");
  TextTable t({server ? "rate q/s" : "batch", server ? "batch" : "sessions", "samples/s",
               "p99 latency", "state", "meets bound"},
              {TextTable::Align::kRight, TextTable::Align::kRight, TextTable::Align::kRight,
               TextTable::Align::kRight, TextTable::Align::kLeft, TextTable::Align::kLeft});
  for (size_t k = 0; k < r.curve.size(); ++k) {
    const auto& p = r.curve[k];
    t.AddRow({server ? fmt::format("{:.1f}", p.rate_qps) : std::to_string(p.batch),
              server ? std::to_string(p.batch) : std::to_string(p.sessions),
              fmt::format("{:.1f}", p.samples_per_s), Ns(p.latency_ns), loadgen::RunEndName(p.end),
              std::string(p.passed ? "yes" : "no") + (r.best == k ? " (best)" : "")});
  }
  t.Print(out);
  for (const auto& n : r.notes) out << "  note        " << n << "\n";
}

nlohmann::ordered_json CurveJson(const loadgen::PeakResult& r) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (size_t k = 0; k < r.curve.size(); ++k) {
    const auto& p = r.curve[k];
    list.push_back({{"rate_qps", p.rate_qps},
                    {"batch", p.batch},
                    {"sessions", p.sessions},
                    {"samples_per_s", p.samples_per_s},
                    {"latency_ns", p.latency_ns},
                    {"state", loadgen::RunEndName(p.end)},
                    {"passed", p.passed},
                    {"verdict", stats::VerdictName(p.verdict)},
                    {"best", r.best == k}});
  }
  return list;
}

// The progress line: only on a terminal, rewritten in place, erased at the end.
class ProgressLine {
 public:
  ProgressLine() : enabled_(::isatty(STDERR_FILENO) == 1) {}
  ~ProgressLine() { Clear(); }
  void Show(const loadgen::Progress& p) {
    if (!enabled_) return;
    std::fprintf(stderr, "\r\033[K  %s  %s queries  p99 (recent) %s  (Ctrl-C stops and reports)",
                 Ns(static_cast<double>(p.elapsed_ns)).c_str(), FormatCount(p.queries).c_str(),
                 p.recent_p99_ns ? Ns(*p.recent_p99_ns).c_str() : "-");
    std::fflush(stderr);
    shown_ = true;
  }
  void Clear() {
    if (shown_) std::fprintf(stderr, "\r\033[K");
    shown_ = false;
  }
  bool enabled() const { return enabled_; }

 private:
  bool enabled_;
  bool shown_ = false;
};

}  // namespace

int RunLoad(const LoadOptions& o, LoadCommand command) {
  const bool throughput = command == LoadCommand::kThroughput;
  const char* name = throughput ? "throughput" : "latency";
  // Every option is checked before anything slow happens.
  loadgen::TestSettings t;
  t.budget_ns = ParseDurationNs(o.budget, "--budget");
  PLASTER_CHECK(t.budget_ns >= 100'000'000, "--budget '{}': at least 100ms, please", o.budget);
  if (!o.latency_bound.empty()) {
    t.target_latency_ns = ParseDurationNs(o.latency_bound, "--latency-bound");
    PLASTER_CHECK(*t.target_latency_ns > 0, "--latency-bound '{}': must be above 0",
                  o.latency_bound);
  }
  t.multistream_interval_ns = ParseDurationNs(o.interval, "--interval");
  t.max_queue_delay_ns = ParseDurationNs(o.max_queue_delay, "--max-queue-delay");
  t.schedule_seed = o.seed;
  t.sample_seed = o.seed;
  t.server_rate_qps = o.rate;
  if (!o.scenario.empty()) {
    t.scenario = loadgen::ParseScenario(o.scenario);
  } else {
    t.scenario = !throughput                         ? loadgen::Scenario::kSingleStream
                 : t.target_latency_ns || o.rate > 0 ? loadgen::Scenario::kServer
                                                     : loadgen::Scenario::kOffline;
  }
  const bool server_search = t.scenario == loadgen::Scenario::kServer && o.rate == 0;
  PLASTER_CHECK(!server_search || t.target_latency_ns,
                "the server scenario needs --rate, or --latency-bound to search the peak rate");
  PLASTER_CHECK(!o.search || t.scenario == loadgen::Scenario::kOffline,
                "--search is for the offline scenario");
  std::optional<loadgen::RawWriter> raw;
  if (!o.raw.empty()) raw.emplace(o.raw);

  const engine::Engine& eng = engine::FindEngine(o.engine);
  model::LoadOptions load;
  for (const auto& text : o.shapes) load.shapes.push_back(model::ParseShapeOverride(text));
  load.batch = o.batch.value_or(1);
  engine::SessionOptions session_options;
  session_options.threads = o.threads;
  session_options.precision = engine::ParsePrecision(o.precision);
  // The calibrated ranges are shared by every session made below (QuantizationOptions).
  const engine::QuantizationOptions quantization = session_options.quantization;
  auto make = [&](int64_t batch, int count) {
    model::LoadOptions l = load;
    l.batch = batch;
    const model::Model m = model::LoadModelSource(o.model, l);
    session_options.quantization = MakeQuantization(o.calibration, m, {session_options.precision});
    session_options.quantization.calibrated = quantization.calibrated;
    std::vector<std::unique_ptr<engine::Session>> out;
    for (int k = 0; k < count; ++k) out.push_back(eng.Compile(m, session_options));
    return out;
  };
  const model::Model m = model::LoadModelSource(o.model, load);
  std::vector<std::unique_ptr<engine::Session>> owned;
  if (!o.search) {
    session_options.quantization = MakeQuantization(o.calibration, m, {session_options.precision});
    session_options.quantization.calibrated = quantization.calibrated;
    const int count = t.scenario == loadgen::Scenario::kSingleStream ? 1 : o.sessions;
    for (int k = 0; k < count; ++k) owned.push_back(eng.Compile(m, session_options));
  }
  std::vector<engine::Session*> sessions;
  for (const auto& s : owned) sessions.push_back(s.get());

  InterruptScope interrupt;
  ProgressLine progress;
  loadgen::RunHooks hooks;
  hooks.stop = StopFlag();
  if (raw) hooks.raw = &*raw;
  if (progress.enabled()) hooks.on_progress = [&](const loadgen::Progress& p) { progress.Show(p); };

  std::optional<loadgen::ScenarioSummary> summary;
  std::optional<loadgen::PeakResult> peak;
  if (o.search) {
    peak = loadgen::FindBestOffline(make, t, o.max_batch, o.sessions, hooks);
  } else if (server_search) {
    peak = loadgen::FindPeakServerRate(sessions, t, hooks);
  } else {
    summary = loadgen::Summarize(loadgen::RunScenario(sessions, t, hooks));
  }
  progress.Clear();
  if (peak && peak->best_summary) summary = peak->best_summary;
  const bool interrupted = (summary && summary->interrupted()) || (peak && peak->interrupted);

  if (o.json) {
    nlohmann::ordered_json j;
    j["schema"] = "plaster.loadgen";
    j["schema_version"] = 1;
    j["command"] = name;
    j["plaster"] = fmt::format("{} (git {})", kVersion, kGitRevision);
    j["model"] = m.display_name();
    j["engine"] = eng.name();
    j["engine_description"] = eng.description();
    j["engine_settings"] = engine::EngineSettings();
    j["threads"] = o.threads;
    j["precision"] = o.precision;
    j["interrupted"] = interrupted;
    if (peak) {
      j["search"] = o.search ? "offline" : "server";
      j["curve"] = CurveJson(*peak);
      j["search_notes"] = peak->notes;
    }
    j["result"] = summary ? loadgen::ToJson(*summary) : nlohmann::ordered_json(nullptr);
    if (raw) j["raw"] = raw->path();
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << fmt::format("plaster {} · {} on engine '{}'{}{}{}\n", name, m.display_name(),
                             eng.name(), o.precision == "fp32" ? "" : ", " + o.precision,
                             o.threads > 0 ? fmt::format(", {} threads", o.threads) : "",
                             interrupted ? " · INTERRUPTED (figures cover what was measured)" : "");
    if (peak) {
      PrintCurve(std::cout, *peak, !o.search);
      std::cout << "\n";
      if (summary) {
        std::cout << (o.search ? "Best configuration\n" : "Highest rate that met the bound\n");
      } else {
        std::cout << "No configuration met the bound.\n";
      }
    }
    if (summary) PrintSummary(std::cout, *summary);
    if (raw) {
      std::cout << fmt::format("  raw         {} queries' times in {}\n",
                               FormatCount(raw->written()), raw->path());
    }
  }
  return interrupted ? 130 : 0;
}

}  // namespace plaster::cli
