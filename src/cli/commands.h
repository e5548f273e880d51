#pragma once
/// The subcommands. Each registers its options on the CLI11 app and runs from a parsed options
/// struct; plaster::Error escaping Run* becomes one line on stderr and exit status 2 (main.cpp).

#include <CLI/CLI.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "evaluate/accuracy_letter.h"
#include "evaluate/sweep.h"
#include "power/source.h"
#include "report/compare.h"

namespace plaster::model {
class Model;
}

namespace plaster::cli {

/// int8 calibration: --calibration PATH [--calibration-method M] [--calibration-percentile P]
/// [--calibration-limit N] (calibration_options.cpp).
struct CalibrationArgs {
  std::string data;
  std::string method = "entropy";
  double percentile = 99.99;
  int64_t limit = 512;
  std::string tolerance;  ///< --int8-tolerance: mixed precision by sensitivity; empty: off
};
void AddCalibrationOptions(CLI::App* cmd, CalibrationArgs* args);
/// --int8-tolerance as a fraction, or nullopt when not given; plaster::Error for a bad value or
/// for one without --calibration.
std::optional<double> ParseTolerance(const CalibrationArgs& args);
/// "1%" or "0.01" → 0.01; nullopt for text that is not a number, with or without a '%'.
std::optional<double> ReadFraction(const std::string& text);
/// ReadFraction, and plaster::Error naming `what` for anything not in [0, 1).
double ParseFraction(const std::string& text, const std::string& what);
/// The sessions' quantization options; reads the calibration data's headers now. plaster::Error
/// for a bad method or data, or for --calibration when `precisions` has no int8.
engine::QuantizationOptions MakeQuantization(const CalibrationArgs& args, const model::Model& m,
                                             const std::vector<engine::Precision>& precisions,
                                             const std::string& image_preset = "imagenet",
                                             int64_t resize = 256);

/// The lists of a sweep, as given (repeated and/or comma-separated): `evaluate` and `optimize`
/// (sweep_options.cpp).
struct SweepArgs {
  std::vector<std::string> engines = {"torch"};
  std::vector<std::string> devices = {"cpu"};
  std::vector<std::string> precisions = {"fp32"};
  std::vector<std::string> batches = {"1"};
  std::vector<std::string> threads = {"0"};
};
/// --engine, --device, --precision, --batch, --threads, with these help texts for the last three.
void AddSweepOptions(CLI::App* cmd, SweepArgs* args, const std::string& precision_help,
                     const std::string& batch_help);
/// The lists split and checked (plaster::Error naming the option).
evaluate::SweepOptions ParseSweep(const SweepArgs& args);
/// --budget of a sweep ("2m"): at least 1 s. --latency-bound ("7ms"): above 0; nullopt when empty.
int64_t ParseBudget(const std::string& text);
std::optional<int64_t> ParseLatencyBound(const std::string& text);

/// The dataset of the A letter and the int8 calibration: `evaluate` and `optimize`.
struct DataArgs {
  std::string data;
  std::optional<int64_t> limit;
  std::optional<uint64_t> subset_seed;
  std::string preset = "imagenet";
  int64_t resize = 256;
  std::string max_drop = "1%";
  CalibrationArgs calibration;
};
/// --data (with `data_help`, required when `required`), --limit, --subset-seed, --preset,
/// --resize, --max-accuracy-drop and the calibration options.
void AddDataOptions(CLI::App* cmd, DataArgs* args, const std::string& data_help, bool required);
/// The options checked (a bad fraction, calibration method or tolerance fails here, once).
evaluate::CaseData ParseCaseData(const DataArgs& args);

/// Lists given as repeated and/or comma-separated options ("--batch 1,8 --batch 32"), split;
/// plaster::Error naming `what` for an empty item or, in WholeNumbers, one that is not a number.
std::vector<std::string> SplitItems(const std::vector<std::string>& items, const std::string& what);
std::vector<int64_t> WholeNumbers(const std::vector<std::string>& items, const std::string& what);
/// "models/cnn.onnx" + ".plaster.jsonl" → "cnn.plaster.jsonl" (in the current folder).
std::string DefaultRecordPath(const std::string& model, const std::string& suffix);
/// Writes `text` to `path`; plaster::Error naming the option `what` when it cannot.
void WriteTextFile(const std::string& path, const std::string& text, const char* what);

/// `plaster size`.
struct SizeOptions {
  std::string model;  ///< a path, or "builtin:resnet8"
  bool json = false;
  int top = 10;
  std::vector<std::string> shapes;  ///< "input:1x3x224x224"
  std::optional<int64_t> batch;
};
CLI::App* AddSizeCommand(CLI::App& app, SizeOptions* options);
int RunSize(const SizeOptions& options);

/// `plaster run`.
struct RunOptions {
  std::string model;
  std::string engine;
  std::vector<std::string> inputs;  ///< "NAME=FILE.npy" or "NAME=FILE.pb"
  std::string output_dir;           ///< empty: print a summary only
  int threads = 0;
  std::vector<std::string> shapes;
  std::optional<int64_t> batch;
  uint64_t seed = 1;
  bool no_optimize = false;
  std::string precision = "fp32";
  CalibrationArgs calibration;
};
CLI::App* AddRunCommand(CLI::App& app, RunOptions* options);
int RunRun(const RunOptions& options);

/// `plaster check`: every engine and precision against the torch fp32 reference.
struct CheckOptions {
  std::string model;
  std::string engine;     ///< comma-separated; empty: every engine but null
  std::string precision;  ///< comma-separated; empty: every one each engine offers
  std::optional<int64_t> batch;
  std::vector<std::string> shapes;
  int runs = 8;
  uint64_t seed = 1;
  int threads = 0;
  double max_rel_error = 1e-3;
  double min_cosine = 0.99;
  double min_top1 = 90;  ///< percent
  bool json = false;
  CalibrationArgs calibration;
};
CLI::App* AddCheckCommand(CLI::App& app, CheckOptions* options);
int RunCheck(const CheckOptions& options);

/// `plaster accuracy`: the A letter for each precision on a dataset.
struct AccuracyOptions {
  std::string model;
  std::string data;
  std::string engine = "torch";
  std::vector<std::string> precisions = {"fp32"};
  std::optional<int64_t> batch;
  int threads = 0;
  std::optional<int64_t> limit;
  std::optional<uint64_t> subset_seed;
  std::string preset = "imagenet";
  int64_t resize = 256;
  std::string max_drop = "1%";
  std::vector<std::string> shapes;
  bool json = false;
  CalibrationArgs calibration;
};
CLI::App* AddAccuracyCommand(CLI::App& app, AccuracyOptions* options);
int RunAccuracy(const AccuracyOptions& options);

/// `plaster conformance`.
struct ConformanceOptions {
  std::string engine;  ///< comma-separated; empty: every engine but null
  std::vector<std::string> folders;  ///< suite folders or case folders; empty: the default suites
  bool json = false;
  bool verbose = false;  ///< also list the passing cases
};
CLI::App* AddConformanceCommand(CLI::App& app, ConformanceOptions* options);
int RunConformance(const ConformanceOptions& options);

/// `plaster profile`.
struct ProfileOptions {
  std::string model;
  std::string engine = "torch";
  int runs = 20;
  int warmup = 3;
  int top = 20;
  int threads = 0;
  bool json = false;
  bool no_optimize = false;
  std::string precision = "fp32";
  std::vector<std::string> shapes;
  std::optional<int64_t> batch;
  CalibrationArgs calibration;
};
CLI::App* AddProfileCommand(CLI::App& app, ProfileOptions* options);
int RunProfile(const ProfileOptions& options);

/// `plaster latency` and `plaster throughput`: the load generator (docs/cli.md). One options
/// struct for both; the command decides the default scenario.
struct LoadOptions {
  std::string model;
  std::string engine = "torch";
  std::optional<int64_t> batch;  ///< samples per session run; default 1
  int threads = 0;
  std::string precision = "fp32";
  int sessions = 1;                     ///< worker sessions (concurrency)
  std::string budget = "30s";           ///< per scenario (per search)
  std::string scenario;                 ///< empty: the command's default
  std::string latency_bound;            ///< e.g. "7ms"; empty: none
  double rate = 0;                      ///< server: arrivals/s; 0 with a bound: search the peak
  std::string interval = "50ms";        ///< multi-stream
  std::string max_queue_delay = "0ms";  ///< server batcher
  bool search = false;                  ///< throughput, offline: search batch size and sessions
  int64_t max_batch = 32;               ///< the offline search's largest batch
  uint64_t seed = 1;
  bool json = false;
  std::string raw;  ///< FILE.csv or FILE.jsonl: every query's times
  std::vector<std::string> shapes;
  CalibrationArgs calibration;
};
enum class LoadCommand { kLatency, kThroughput };
CLI::App* AddLatencyCommand(CLI::App& app, LoadOptions* options);
CLI::App* AddThroughputCommand(CLI::App& app, LoadOptions* options);
int RunLoad(const LoadOptions& options, LoadCommand command);

/// Power sources and sampling (power_options.cpp): --sysfs-root, --tdp, --power-cmd,
/// --power-interval, --power-file, --gpu, --sample-interval, --idle.
struct PowerArgs {
  std::string sysfs_root;
  std::optional<double> tdp_w;
  std::string command;
  std::string command_interval = "1s";
  std::string file;
  std::optional<int> gpu;
  std::string sample_interval = "10ms";
  std::string idle = "2s";
};
void AddPowerOptions(CLI::App* cmd, PowerArgs* args);
/// The sources' options; plaster::Error naming a bad option.
power::SourceOptions MakeSourceOptions(const PowerArgs& args);
/// --sample-interval and --idle in seconds (plaster::Error for a bad or non-positive one).
double SampleIntervalSeconds(const PowerArgs& args);
double IdleSeconds(const PowerArgs& args);

/// `plaster evaluate`: the lists are as given (comma-separated, possibly repeated).
struct EvaluateOptions {
  std::string model;
  SweepArgs sweep;
  std::string latency_bound;
  std::string budget = "2m";
  std::vector<std::string> shapes;
  uint64_t seed = 1;
  std::string jsonl;
  bool resume = false;
  std::string json, markdown, csv, html;
  DataArgs data;  ///< the A letter and int8 calibration (as for `plaster accuracy`)
  // the R letter's time-to-accuracy (evaluate/learning_letter.h)
  std::string train_data, target_accuracy;
  int train_epochs = 10;
  double lr = 0.05;
  PowerArgs power;  ///< the E letter's sources
  bool no_energy = false;
};
CLI::App* AddEvaluateCommand(CLI::App& app, EvaluateOptions* options);
int RunEvaluate(const EvaluateOptions& options, const std::vector<std::string>& command_line);
/// The hidden child of `plaster evaluate` (Note [Case isolation]).
CLI::App* AddEvaluateCaseCommand(CLI::App& app, std::string* spec);
int RunEvaluateCase(const std::string& spec);

/// `plaster optimize`: the configuration to deploy, searched on the user's data.
struct OptimizeCommandOptions {
  std::string model;
  DataArgs data;
  std::string latency_bound;
  /// Precisions: empty means every one the engine offers; batches: the ladder's rungs.
  SweepArgs sweep{{"torch"}, {"cpu"}, {}, {"1,2,4,8,16,32,64"}, {"0"}};
  std::string budget = "5m";
  int64_t accuracy_batch = 0;
  std::vector<std::string> shapes;
  uint64_t seed = 1;
  std::string jsonl, json;
  std::string export_path;
  std::string objective = "throughput";
  PowerArgs power;
};
CLI::App* AddOptimizeCommand(CLI::App& app, OptimizeCommandOptions* options);
int RunOptimize(const OptimizeCommandOptions& options, const std::vector<std::string>& command_line);

/// `plaster learn`: the R letter (src/learn).
struct LearnCommandOptions {
  std::string model, data, val;
  std::string engine = "torch";
  int64_t batch = 32;
  int epochs = 10;
  std::string optimizer = "sgd";
  std::optional<double> lr, momentum, weight_decay;
  std::string schedule = "cosine";
  double warmup = 1;
  std::string loss = "auto";
  std::string precision = "fp32";
  std::string target_accuracy;
  int threads = 0;
  uint64_t seed = 0;
  std::optional<int64_t> limit, val_limit;
  std::string init, save;
  int runs = 1;
  bool json = false;
  // data parallelism (src/learn/launch.h)
  int nproc = 1, nnodes = 1, node_rank = 0;
  std::string master;
  double timeout = 30;
};
CLI::App* AddLearnCommand(CLI::App& app, LearnCommandOptions* options);
/// `command_line`: this process's arguments, which --nproc's ranks are started with.
int RunLearn(const LearnCommandOptions& options, const std::vector<std::string>& command_line);

/// `plaster compare A B`: two evaluation records; exit status 1 on a significant regression.
struct CompareCommandOptions {
  std::string a;
  std::string b;
  report::CompareOptions settings;  ///< the defaults live there
  std::string threshold;            ///< "5%"; set from settings.threshold when registered
  bool json = false;
  bool markdown = false;
};
CLI::App* AddCompareCommand(CLI::App& app, CompareCommandOptions* options);
/// 0: no significant regression; 1: one or more (plaster::Error for bad input, exit 2 in main).
int RunCompare(const CompareCommandOptions& options);

/// `plaster peak`: the machine's arithmetic and memory ceilings (src/evaluate/peak.h).
struct PeakOptions {
  bool json = false;
  bool refresh = false;   ///< measure even when the cache has this machine
  int threads = 0;        ///< 0: every core this process may use
  std::string cache_dir;  ///< empty: evaluate::DefaultPeakCacheDir()
  bool quick = false;     ///< evaluate::PeakOptions::Quick()
};
CLI::App* AddPeakCommand(CLI::App& app, PeakOptions* options);
int RunPeak(const PeakOptions& options);

/// plaster power: every power source on this machine, and (without --list) what each reads now.
struct PowerOptions {
  PowerArgs power;
  bool list = false;
  std::string duration = "2s";
  bool json = false;
};
CLI::App* AddPowerCommand(CLI::App& app, PowerOptions* options);
int RunPower(const PowerOptions& options);

/// plaster energy: one configuration's energy per inference (energy_command.cpp).
struct EnergyOptions {
  std::string model;
  std::string engine = "torch";
  std::string precision = "fp32";
  int64_t batch = 1;
  int threads = 0;
  std::string scenario = "offline";
  std::string duration = "10s";
  std::vector<std::string> shapes;
  uint64_t seed = 1;
  bool json = false;
  CalibrationArgs calibration;
  PowerArgs power;
};
CLI::App* AddEnergyCommand(CLI::App& app, EnergyOptions* options);
int RunEnergy(const EnergyOptions& options);

/// The precision a session computes in, for the console (nothing for fp32) and for JSON.
void PrintPrecision(std::ostream& out, const engine::PrecisionReport& report);
nlohmann::ordered_json PrecisionJson(const engine::PrecisionReport& report);

/// What `plaster --version` prints: plaster's version and every linked library's.
std::string VersionText();

}  // namespace plaster::cli
