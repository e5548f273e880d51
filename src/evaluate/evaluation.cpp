#include "evaluate/evaluation.h"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include "core/clock.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/system_info.h"
#include "core/units.h"
#include "engine/registry.h"
#include "evaluate/case_record.h"
#include "evaluate/isolation.h"
#include "evaluate/measure_case.h"
#include "evaluate/peak.h"
#include "model/model.h"
#include "model/model_source.h"
#include "plaster/version.h"

namespace plaster::evaluate {
namespace {

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string Clock(double s) {
  const int total = static_cast<int>(s + 0.5);
  return fmt::format("{}:{:02d}", total / 60, total % 60);
}

// The progress bar: one line on stderr, rewritten in place (only on a terminal).
class ProgressBar {
 public:
  ProgressBar(bool enabled, int64_t start_ns, int64_t budget_ns)
      : enabled_(enabled), start_ns_(start_ns), budget_ns_(budget_ns) {}
  ~ProgressBar() { Clear(); }
  void Show(int index, int total, const std::string& id, const std::string& phase) {
    if (!enabled_) return;
    const double elapsed = static_cast<double>(NowNs() - start_ns_) / 1e9;
    const double left = std::max(0.0, static_cast<double>(budget_ns_) / 1e9 - elapsed);
    constexpr int kWidth = 20;
    const int filled = total == 0 ? 0 : kWidth * index / total;
    std::fprintf(stderr, "\r\033[K[%s%s] case %d/%d %s · %s · %s elapsed, ETA %s",
                 std::string(static_cast<size_t>(filled), '#').c_str(),
                 std::string(static_cast<size_t>(kWidth - filled), '.').c_str(), index + 1, total,
                 id.c_str(), phase.c_str(), Clock(elapsed).c_str(), Clock(left).c_str());
    std::fflush(stderr);
    shown_ = true;
  }
  void Clear() {
    if (shown_) std::fprintf(stderr, "\r\033[K");
    shown_ = false;
  }

 private:
  bool enabled_;
  int64_t start_ns_;
  int64_t budget_ns_;
  bool shown_ = false;
};

// The JSON Lines record: read back for --resume, appended and flushed case by case.
struct ResumeState {
  nlohmann::ordered_json context;
  std::map<std::string, nlohmann::ordered_json> finished;  // by case id
};

ResumeState ReadJsonl(const std::string& path) {
  ResumeState state;
  std::ifstream in(path);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    nlohmann::ordered_json j;
    try {
      j = nlohmann::ordered_json::parse(line);
    } catch (const nlohmann::json::exception&) {
      // A line cut short by a crash mid-write is the last one; anything else is corruption.
      if (in.peek() == EOF) break;
      Fail("{}:{}: not JSON", path, number);
    }
    const std::string kind = j.value("kind", "");
    if (number == 1) {
      PLASTER_CHECK(kind == "context" && j.value("schema", "") == "plaster.evaluation",
                    "{}:1: not a plaster evaluation record", path);
      state.context = j;
      continue;
    }
    PLASTER_CHECK(kind == "case" && j.contains("id") && j.contains("status"),
                  "{}:{}: not a case line", path, number);
    const std::string status = j["status"].get<std::string>();
    if (status == "passed" || status == "failed" || status == "unsupported") {
      state.finished[j["id"].get<std::string>()] = j;
    }
  }
  return state;
}

}  // namespace

JsonlWriter::JsonlWriter(const std::string& path, bool append) : path_(path) {
  file_ = std::fopen(path.c_str(), append ? "a" : "w");
  PLASTER_CHECK(file_ != nullptr, "{}: cannot write the record", path);
}

JsonlWriter::~JsonlWriter() {
  if (file_) std::fclose(file_);
}

void JsonlWriter::Write(const nlohmann::ordered_json& j) {
  const std::string line = j.dump() + "\n";
  PLASTER_CHECK(std::fwrite(line.data(), 1, line.size(), file_) == line.size() &&
                    std::fflush(file_) == 0,
                "{}: writing the record failed", path_);
  fsync(fileno(file_));  // a case measured is a case kept, even if the machine goes down
}

const nlohmann::ordered_json* FindMetric(const nlohmann::ordered_json& c, const std::string& name) {
  if (!c.contains("metrics")) return nullptr;
  for (const auto& m : c["metrics"]) {
    if (m.value("name", "") == name && m.contains("value") && m["value"].is_number()) return &m;
  }
  return nullptr;
}

nlohmann::ordered_json RunCaseInChild(const CaseSpec& spec, int64_t timeout_ns,
                                      const std::function<void(const std::string&)>& on_phase,
                                      const std::function<void()>& on_tick) {
  const std::string id = CaseId(spec.config);
  const ChildOutcome child =
      RunChild({SelfExecutable(), "evaluate-case", "--spec", ToJson(spec).dump()}, timeout_ns,
               on_phase, StopFlag(), 15'000'000'000, on_tick);
  // The last complete line of stdout: the case's record, or the snapshot it left when it died.
  nlohmann::ordered_json line;
  std::string text = child.stdout_text;
  if (!text.empty() && text.back() != '\n') text.resize(text.rfind('\n') + 1);  // cut mid-line
  while (!text.empty() && text.back() == '\n') text.pop_back();
  try {
    if (!text.empty()) line = nlohmann::ordered_json::parse(text.substr(text.rfind('\n') + 1));
  } catch (const nlohmann::json::exception&) {
    line = nullptr;
  }
  const bool finished = child.exited && child.exit_code == 0;
  if (!line.is_object() || line.value("id", "") != id) line = nullptr;
  if (!finished || line.is_null()) {
    std::string reason = "the case's process ended: " + child.Describe();
    if (!child.last_error_line.empty()) reason += "; its last words: " + child.last_error_line;
    if (line.is_object()) {  // keep the letters measured before it died
      reason += "; " + line["reason"].get<std::string>();
      line["status"] = child.stopped ? "interrupted" : "failed";
      line["reason"] = reason;
      line["elapsed_s"] = static_cast<double>(child.wall_ns) / 1e9;
    } else {
      line = CaseRecord(spec.config)
                 .ToJson(child.stopped ? CaseStatus::kInterrupted : CaseStatus::kFailed, reason,
                         static_cast<double>(spec.budget_ns) / 1e9,
                         static_cast<double>(child.wall_ns) / 1e9);
    }
  }
  return line;
}

nlohmann::ordered_json EvaluationContext(const EvaluateOptions& o,
                                         const std::vector<CaseConfig>& cases) {
  nlohmann::ordered_json j;
  j["kind"] = "context";
  j["schema"] = "plaster.evaluation";
  j["schema_version"] = kEvaluationSchemaVersion;
  j["plaster"] = {{"version", kVersion}, {"git", kGitRevision}};
  j["command_line"] = o.command_line.empty() ? std::vector<std::string>{"plaster"} : o.command_line;
  j["started_utc"] = UtcNow();
  j["seed"] = o.seed;
  model::LoadOptions load;
  for (const auto& text : o.shapes) load.shapes.push_back(model::ParseShapeOverride(text));
  load.batch = o.sweep.batches.front();
  const model::Model m = model::LoadModelSource(o.model, load);
  j["model"] = {{"name", m.display_name()},
                {"file_bytes", m.file_bytes() ? nlohmann::ordered_json(*m.file_bytes())
                                              : nlohmann::ordered_json(nullptr)},
                {"opset", m.opset()}};
  const SystemInfo sys = ReadSystemInfo();
  j["machine"] = {{"cpu_model", sys.cpu_model},
                  {"cpu_flags", sys.cpu_flags},
                  {"logical_cores", sys.logical_cores},
                  {"memory_bytes", sys.memory_bytes ? nlohmann::ordered_json(*sys.memory_bytes)
                                                    : nlohmann::ordered_json(nullptr)},
                  {"governor", sys.governor ? nlohmann::ordered_json(*sys.governor)
                                            : nlohmann::ordered_json(nullptr)}};
  if (!sys.governor) j["machine"]["governor_reason"] = sys.governor_reason;
  j["os"] = {{"name", sys.os_name}, {"kernel", sys.kernel}};
  auto& libs = j["libraries"] = nlohmann::ordered_json::object();
  for (const auto& text : model::LinkedLibraryVersions()) {  // "ONNX 1.13.0 (IR 8, ...)"
    const size_t space = text.find(' ');
    libs[text.substr(0, space)] = space == std::string::npos ? "" : text.substr(space + 1);
  }
  std::set<std::string> engines;
  for (const auto& c : cases) engines.insert(c.engine);
  for (const auto& name : engines) {
    for (const auto& [lib, version] : engine::FindEngine(name).Libraries()) libs[lib] = version;
  }
  if (engines != std::set<std::string>{"null"}) libs["engine settings"] = engine::EngineSettings();
  std::vector<int> threads;
  for (const auto& c : cases) {
    if (std::find(threads.begin(), threads.end(), c.threads) == threads.end()) {
      threads.push_back(c.threads);
    }
  }
  j["sweep"] = {{"engines", o.sweep.engines},
                {"devices", o.sweep.devices},
                {"precisions", o.sweep.precisions},
                {"batches", o.sweep.batches},
                {"threads", threads},
                {"budget_s", static_cast<double>(o.budget_ns) / 1e9},
                {"latency_bound_ms", o.latency_bound_ns
                                         ? nlohmann::ordered_json(
                                               static_cast<double>(*o.latency_bound_ns) / 1e6)
                                         : nlohmann::ordered_json(nullptr)},
                {"data", ToJson(o.data)}};
  j["peak"] = nullptr;  // Evaluate fills it in (Note [Machine peaks in an evaluation])
  return j;
}

nlohmann::ordered_json Recommend(const nlohmann::ordered_json& cases,
                                 std::optional<int64_t> latency_bound_ns,
                                 const std::set<std::string>& emulated) {
  const nlohmann::ordered_json* best_latency = nullptr;
  const nlohmann::ordered_json* best_throughput = nullptr;
  const nlohmann::ordered_json* best_bounded = nullptr;
  double lat = 0, thr = 0, bounded = 0;
  const double bound_ms =
      latency_bound_ns ? static_cast<double>(*latency_bound_ns) / 1e6 : 0.0;
  for (const auto& c : cases) {
    if (c.value("status", "") != "passed") continue;
    if (emulated.count(c.value("id", ""))) continue;
    const auto* p99 = FindMetric(c, "latency.p99");
    const auto* offline = FindMetric(c, "t.offline");
    if (p99 && (!best_latency || (*p99)["value"].get<double>() < lat)) {
      best_latency = &c;
      lat = (*p99)["value"].get<double>();
    }
    if (offline && (!best_throughput || (*offline)["value"].get<double>() > thr)) {
      best_throughput = &c;
      thr = (*offline)["value"].get<double>();
    }
    if (latency_bound_ns && p99 && offline && (*p99)["value"].get<double>() <= bound_ms &&
        (!best_bounded || (*offline)["value"].get<double>() > bounded)) {
      best_bounded = &c;
      bounded = (*offline)["value"].get<double>();
    }
  }
  auto id = [](const nlohmann::ordered_json* c) { return (*c)["id"].get<std::string>(); };
  if (latency_bound_ns) {
    if (!best_bounded) {
      return {{"case", nullptr},
              {"reason", fmt::format("no case's p99 latency meets the bound {:.3g} ms", bound_ms)}};
    }
    const double p99 = (*FindMetric(*best_bounded, "latency.p99"))["value"].get<double>();
    return {{"case", id(best_bounded)},
            {"reason", fmt::format("the most offline throughput ({:.4g} samples/s) whose p99 "
                                   "latency ({:.3g} ms) meets the bound {:.3g} ms",
                                   bounded, p99, bound_ms)}};
  }
  if (!best_latency) return {{"case", nullptr}, {"reason", "no case measured its latency"}};
  std::string reason = fmt::format("the lowest p99 latency ({:.3g} ms)", lat);
  if (best_throughput && best_throughput != best_latency) {
    reason += fmt::format("; {} gives the most throughput ({:.4g} samples/s): set "
                          "--latency-bound to choose between them",
                          id(best_throughput), thr);
  } else if (best_throughput) {
    reason += fmt::format(" and the most throughput ({:.4g} samples/s)", thr);
  }
  return {{"case", id(best_latency)}, {"reason", reason}};
}

// Note [Case budget]: the sweep's budget is shared out as it goes: each case that needs a child
// gets (budget left) / (such cases left), so time one case does not use goes to the next, and a
// case that overruns (a slow compile) takes from the rest, not from the total. Inside the case the
// child spends its share on the cold start first, then splits what is left between the scenarios
// (measure_case.cpp, SplitBudget). The child is killed at 1.25 × its share + 10 s; a case whose
// share falls under kMinCaseNs is skipped with the reason.
namespace {
constexpr int64_t kMinCaseNs = 500'000'000;
}

// Note [Machine peaks in an evaluation]: the roofline needs the machine's peak at the thread
// count of each case, so the context's "peak" maps thread counts ("2") to `plaster peak` records.
// Each comes from the cache, or is measured now (about 5 s, out of the budget) when the budget is
// long enough to afford it; a thread count with neither has no roofline, and "peak_reason" says
// how to get one.
void PreparePeaks(const EvaluateOptions& o, const std::vector<CaseConfig>& cases,
                  nlohmann::ordered_json& context, std::ostream& log) {
  std::vector<int> threads;
  for (const auto& c : cases) {
    if (c.engine == "null") continue;  // computes nothing: no roofline
    if (std::find(threads.begin(), threads.end(), c.threads) == threads.end()) {
      threads.push_back(c.threads);
    }
  }
  if (threads.empty()) {
    context["peak_reason"] = "no case runs a real engine";
    return;
  }
  if (o.peak_cache_dir.empty()) {
    context["peak_reason"] = "no cache folder for the machine's peak (set HOME or XDG_CACHE_HOME)";
    return;
  }
  nlohmann::ordered_json peaks = nlohmann::ordered_json::object();
  std::string missing;
  for (int t : threads) {
    std::string warning;
    std::optional<MachinePeak> peak =
        LoadCachedPeak(o.peak_cache_dir, CurrentMachineKey(), t, false, &warning);
    if (!warning.empty()) log << "warning: " << warning << "\n";
    if (!peak && o.budget_ns >= o.measure_peak_min_budget_ns) {
      // `plaster peak` in its own process, like a case: its bandwidth arrays (four times the L3,
      // gigabytes on a large one) stay out of this process, and a fault in a loop is its own.
      log << fmt::format("measuring this machine's peak at {} thread(s) for the roofline "
                         "(about 5 s, once; plaster peak shows it)\n",
                         t);
      const ChildOutcome child = RunChild({SelfExecutable(), "peak", "--threads", std::to_string(t),
                                           "--refresh", "--cache-dir", o.peak_cache_dir},
                                          120'000'000'000, nullptr, StopFlag());
      peak = LoadCachedPeak(o.peak_cache_dir, CurrentMachineKey(), t, false, &warning);
      if (!peak) {
        log << fmt::format("warning: plaster peak did not store a peak ({}{})\n", child.Describe(),
                           child.last_error_line.empty() ? "" : ": " + child.last_error_line);
      }
    }
    if (peak) {
      peaks[std::to_string(t)] = PeakJson(*peak);
    } else {
      missing += (missing.empty() ? "" : ", ") + std::to_string(t);
    }
  }
  if (!peaks.empty()) context["peak"] = peaks;
  if (!missing.empty()) {
    context["peak_reason"] = fmt::format(
        "no cached peak of this machine at {} thread(s), and a budget under {} does not measure "
        "one: run plaster peak --threads N once",
        missing, FormatDurationNs(static_cast<double>(o.measure_peak_min_budget_ns)));
  }
}

EvaluationResult Evaluate(const EvaluateOptions& o, std::ostream& log) {
  const SystemInfo sys = ReadSystemInfo();
  const std::vector<CaseConfig> cases = ExpandSweep(o.sweep, sys.logical_cores);
  for (const auto& name : o.sweep.engines) engine::FindEngine(name);  // a typo fails here
  PLASTER_CHECK(!o.jsonl_path.empty(), "the JSON Lines record needs a path (--jsonl)");

  ResumeState resume;
  const bool resuming = o.resume && std::ifstream(o.jsonl_path).good();
  if (resuming) {
    resume = ReadJsonl(o.jsonl_path);
    PLASTER_CHECK(!resume.context.is_null(), "{}: no context line to resume from", o.jsonl_path);
  }
  nlohmann::ordered_json context = EvaluationContext(o, cases);  // loads the model once: fails early
  if (resuming) {
    const std::string was = resume.context["model"].value("name", "");
    PLASTER_CHECK(was == context["model"]["name"].get<std::string>(),
                  "--resume: {} records model '{}', not '{}'", o.jsonl_path, was,
                  context["model"]["name"].get<std::string>());
    context = resume.context;  // the record keeps the context of the run that began it
  }
  int children_left = 0;
  std::vector<bool> needs_child(cases.size(), false);
  for (size_t k = 0; k < cases.size(); ++k) {
    const CaseConfig& c = cases[k];
    if (resume.finished.count(CaseId(c))) continue;
    const engine::Engine& eng = engine::FindEngine(c.engine);
    const auto devices = eng.devices();
    const auto precisions = eng.precisions(c.device);
    needs_child[k] = std::find(devices.begin(), devices.end(), c.device) != devices.end() &&
                     std::find(precisions.begin(), precisions.end(), c.precision) !=
                         precisions.end();
    children_left += needs_child[k] ? 1 : 0;
  }
  PLASTER_CHECK(o.budget_ns >= children_left * kMinCaseNs,
                "--budget {}: too short for {} cases; give at least {:.1f} s ({} ms per case)",
                FormatDurationNs(static_cast<double>(o.budget_ns)), children_left,
                static_cast<double>(children_left * kMinCaseNs) / 1e9, kMinCaseNs / 1'000'000);
  // E's idle baseline is set-up too, measured before any case (Note [Energy in evaluate]).
  CaseEnergy energy;
  if (o.energy) {
    std::string summary;
    energy = PrepareEnergy(o.power_sources, o.sample_interval_s, o.idle_s, &summary);
    log << summary << "\n";
    if (!resuming) context["energy"] = {{"idle", IdleJson(energy.idle)}, {"why", energy.why}};
  } else {
    energy.why = "not asked for (--no-energy)";
  }
  // The budget starts here: loading the engines' libraries and the model once, above, and the
  // idle baseline are set-up that belongs to no case (from a cold disk cache LibTorch alone took
  // 16 s to load).
  const int64_t start_ns = NowNs();
  EvaluationResult result;
  nlohmann::ordered_json done = nlohmann::ordered_json::array();
  InterruptScope interrupt;
  ProgressBar bar(o.progress, start_ns, o.budget_ns);
  if (!resuming) PreparePeaks(o, cases, context, log);
  JsonlWriter jsonl(o.jsonl_path, resuming);  // every check is done: the record may begin
  if (!resuming) jsonl.Write(context);

  for (size_t k = 0; k < cases.size(); ++k) {
    const CaseConfig& c = cases[k];
    const std::string id = CaseId(c);
    auto keep = [&](const nlohmann::ordered_json& line, bool write) {
      if (write) jsonl.Write(line);
      if (line["status"] == "failed") ++result.failed;
      done.push_back(line);
      if (!o.progress) {
        log << fmt::format("case {}/{} {}: {}{} ({:.1f} s)\n", k + 1, cases.size(), id,
                           line["status"].get<std::string>(),
                           line["reason"].is_null() ? "" : ": " + line["reason"].get<std::string>(),
                           line.value("elapsed_s", 0.0));
      }
    };
    if (auto it = resume.finished.find(id); it != resume.finished.end()) {
      keep(it->second, false);
      continue;
    }
    if (StopRequested()) {
      result.interrupted = true;
      done.push_back(CaseRecord(c).ToJson(CaseStatus::kSkipped, "the evaluation was interrupted "
                                          "before this case ran (--resume runs it)", 0, 0));
      continue;
    }
    if (!needs_child[k]) {
      const engine::Engine& eng = engine::FindEngine(c.engine);
      std::string offered;
      for (auto p : eng.precisions(c.device)) {
        offered += (offered.empty() ? "" : ", ") + std::string(engine::PrecisionName(p));
      }
      CaseRecord record(c);
      record.SetLetter("P", "measured");
      keep(record.ToJson(CaseStatus::kUnsupported,
                         fmt::format("engine '{}' does not offer {} on {} (it offers: {})", c.engine,
                                     engine::PrecisionName(c.precision),
                                     engine::DeviceName(c.device),
                                     offered.empty() ? "nothing on this device" : offered),
                         0, 0),
           true);
      continue;
    }
    const int64_t left = o.budget_ns - (NowNs() - start_ns);
    const int64_t share = left / std::max(children_left, 1);
    --children_left;
    if (share < kMinCaseNs) {
      keep(CaseRecord(c).ToJson(CaseStatus::kSkipped,
                                fmt::format("the budget ran out ({:.1f} s left for this case)",
                                            static_cast<double>(std::max<int64_t>(share, 0)) / 1e9),
                                0, 0),
           true);
      continue;
    }
    CaseSpec spec;
    spec.model = o.model;
    spec.shapes = o.shapes;
    spec.config = c;
    spec.budget_ns = share;
    spec.latency_bound_ns = o.latency_bound_ns;
    spec.seed = o.seed;
    spec.data = o.data;
    spec.energy = energy;
    if (context["peak"].is_object() && context["peak"].contains(std::to_string(c.threads))) {
      spec.peak = context["peak"][std::to_string(c.threads)];
    }
    std::string current = "starting";
    auto show = [&] { bar.Show(static_cast<int>(k), static_cast<int>(cases.size()), id, current); };
    show();
    nlohmann::ordered_json line = RunCaseInChild(
        spec, share + share / 4 + 10'000'000'000,
        [&](const std::string& phase) {
          current = phase;
          show();
        },
        show);
    bar.Clear();
    if (line["status"] == "interrupted") result.interrupted = true;
    keep(line, true);
  }
  if (StopRequested()) result.interrupted = true;

  nlohmann::ordered_json record;
  record["schema"] = "plaster.evaluation";
  record["schema_version"] = kEvaluationSchemaVersion;
  nlohmann::ordered_json ctx = context;
  ctx.erase("kind");
  record["context"] = ctx;
  for (auto& c : done) c.erase("kind");
  AddAccuracyDeltas(done, o.data.max_drop);  // Note [Accuracy in evaluate]
  record["cases"] = done;
  std::set<std::string> emulated;
  for (const CaseConfig& c : cases) {
    if (engine::FindEngine(c.engine).Emulates(c.device, c.precision)) emulated.insert(CaseId(c));
  }
  record["recommendation"] = Recommend(done, o.latency_bound_ns, emulated);
  result.record = std::move(record);
  return result;
}

int RunCaseChild(const std::string& spec_json) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(spec_json);
  } catch (const nlohmann::json::exception& e) {
    Fail("evaluate-case --spec: not JSON: {}", e.what());
  }
  const CaseSpec spec = CaseSpecFromJson(j);
  const std::string id = CaseId(spec.config);
  // A test hook: PLASTER_TEST_KILL_CASE=<case id> makes that case's process kill itself with
  // SIGKILL when it starts measuring throughput, as a crash or the OOM killer would.
  const char* kill_case = std::getenv("PLASTER_TEST_KILL_CASE");
  const bool kill_me = kill_case != nullptr && id == kill_case;
  const nlohmann::ordered_json line = MeasureCase(
      spec,
      [&](const std::string& phase) {
        std::fprintf(stderr, "%s%s\n", kPhasePrefix, phase.c_str());
        std::fflush(stderr);
        if (kill_me && phase.rfind("T:", 0) == 0) std::raise(SIGKILL);
      },
      [](const nlohmann::ordered_json& partial) { std::cout << partial.dump() << std::endl; });
  std::cout << line.dump() << std::endl;
  return 0;
}

}  // namespace plaster::evaluate
