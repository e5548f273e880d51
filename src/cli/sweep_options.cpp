// The options `evaluate` and `optimize` share: the lists of a sweep, the dataset and the int8
// calibration, and the record's default path; parsed and checked once, before any case runs.
#include <fstream>

#include "cli/commands.h"
#include "core/clock.h"
#include "core/error.h"

namespace plaster::cli {

void AddSweepOptions(CLI::App* cmd, SweepArgs* args, const std::string& precision_help,
                     const std::string& batch_help) {
  cmd->add_option("--engine", args->engines, "engines, comma-separated");
  cmd->add_option("--device", args->devices, "devices, comma-separated (cpu, cuda)");
  cmd->add_option("--precision", args->precisions, precision_help);
  cmd->add_option("--batch", args->batches, batch_help);
  cmd->add_option("--threads", args->threads,
                  "threads per session, comma-separated (0: every usable core)");
}

evaluate::SweepOptions ParseSweep(const SweepArgs& args) {
  evaluate::SweepOptions s;
  s.engines = SplitItems(args.engines, "--engine");
  s.devices = SplitItems(args.devices, "--device");
  s.precisions = SplitItems(args.precisions, "--precision");
  s.batches = WholeNumbers(args.batches, "--batch");
  s.threads.clear();
  for (int64_t t : WholeNumbers(args.threads, "--threads")) {
    PLASTER_CHECK(t >= 0 && t <= 1024, "--threads {}: must be 0 (every core) to 1024", t);
    s.threads.push_back(static_cast<int>(t));
  }
  return s;
}

int64_t ParseBudget(const std::string& text) {
  const int64_t ns = ParseDurationNs(text, "--budget");
  PLASTER_CHECK(ns >= 1'000'000'000, "--budget '{}': at least 1s, please", text);
  return ns;
}

std::optional<int64_t> ParseLatencyBound(const std::string& text) {
  if (text.empty()) return std::nullopt;
  const int64_t ns = ParseDurationNs(text, "--latency-bound");
  PLASTER_CHECK(ns > 0, "--latency-bound '{}': must be above 0", text);
  return ns;
}

void AddDataOptions(CLI::App* cmd, DataArgs* args, const std::string& data_help, bool required) {
  CLI::Option* data = cmd->add_option("--data", args->data, data_help);
  if (required) data->required();
  cmd->add_option("--limit", args->limit, "--data: at most N samples")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  cmd->add_option("--subset-seed", args->subset_seed,
                  "--data with --limit: a random subset drawn with this seed");
  cmd->add_option("--preset", args->preset,
                  "image folders: normalisation (imagenet, inception, unit, raw)");
  cmd->add_option("--resize", args->resize, "image folders: the shorter side before the crop")
      ->check(CLI::Range(int64_t{0}, int64_t{65536}));
  cmd->add_option("--max-accuracy-drop", args->max_drop,
                  "the accuracy a lower precision may lose against fp32, relative (MLPerf: 1%)");
  AddCalibrationOptions(cmd, &args->calibration);
}

evaluate::CaseData ParseCaseData(const DataArgs& args) {
  evaluate::CaseData d;
  d.data = args.data;
  d.limit = args.limit;
  d.subset_seed = args.subset_seed;
  d.preset = args.preset;
  d.resize = args.resize;
  d.max_drop = ParseFraction(args.max_drop, "--max-accuracy-drop");
  d.calibration = args.calibration.data;
  d.calibration_method = args.calibration.method;
  engine::ParseCalibrationMethod(args.calibration.method);  // a typo fails here, not in every case
  d.calibration_percentile = args.calibration.percentile;
  d.calibration_limit = args.calibration.limit;
  d.int8_tolerance = ParseTolerance(args.calibration);
  return d;
}

std::vector<std::string> SplitItems(const std::vector<std::string>& items, const std::string& what) {
  std::vector<std::string> out;
  for (const auto& item : items) {
    for (auto& s : evaluate::SplitList(item, what)) out.push_back(s);
  }
  return out;
}

std::vector<int64_t> WholeNumbers(const std::vector<std::string>& items, const std::string& what) {
  std::vector<int64_t> out;
  for (const auto& s : SplitItems(items, what)) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    PLASTER_CHECK(used == s.size(), "{} '{}': not a whole number", what, s);
    out.push_back(static_cast<int64_t>(v));
  }
  return out;
}

std::string DefaultRecordPath(const std::string& model, const std::string& suffix) {
  std::string stem = model;
  if (stem.rfind("builtin:", 0) == 0) stem = stem.substr(8);
  const size_t slash = stem.find_last_of('/');
  if (slash != std::string::npos) stem = stem.substr(slash + 1);
  if (stem.size() > 5 && stem.substr(stem.size() - 5) == ".onnx") stem.resize(stem.size() - 5);
  return stem + suffix;
}

void WriteTextFile(const std::string& path, const std::string& text, const char* what) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  PLASTER_CHECK(out.good(), "{} {}: cannot write it", what, path);
}

}  // namespace plaster::cli
