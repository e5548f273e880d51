#pragma once
/// plaster learn: the R letter. Trains an ONNX model's weights on an engine (engine/trainer.h)
/// and measures how fast it learns: steady-state training samples/s, time-to-accuracy (DAWNBench's
/// rule: training wall time from the first touch of the data to the first evaluation at or above
/// the target, evaluation time kept apart), epochs to the target, and the loss and accuracy
/// curve (Note [Learning] in learn.cpp).

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "accuracy/metrics.h"
#include "engine/trainer.h"

namespace plaster::learn {

enum class Schedule { kCosine, kStep, kConstant };
/// "cosine", "step", "constant" → Schedule; plaster::Error naming --schedule otherwise.
Schedule ParseSchedule(const std::string& name);
const char* ScheduleName(Schedule s);

/// The learning rate at `epoch` (fractional: step / steps per epoch) of `epochs`: a linear
/// warm-up from lr/10 to lr over `warmup` epochs, then cosine to 0, step decay (×0.1 at half and
/// three quarters of the epochs), or constant. Pure, for tests.
double LearningRate(Schedule s, double lr, double warmup, double epoch, int epochs);

struct LearnOptions {
  std::string model;
  std::string data;  ///< training set: .npz with labels (class) or targets (regression)
  std::string val;   ///< validation set, evaluated after every epoch
  std::string engine = "torch";
  engine::TrainingOptions training;
  int64_t batch = 32;  ///< the global batch: with data parallelism, split over the ranks
  int epochs = 10;
  double lr = 0.05;
  Schedule schedule = Schedule::kCosine;
  double warmup_epochs = 1;
  /// Top-1 accuracy (fraction) for classification; stops at the first epoch that reaches it.
  std::optional<double> target_accuracy;
  uint64_t seed = 0;  ///< the order of the training samples in each epoch
  std::optional<int64_t> limit, val_limit;
  /// Start from this model's weights (re-learning; Note [Initial weights]): the validation set
  /// is evaluated before training too (epoch 0), and a target already met there takes no
  /// training.
  std::string init;
  std::string save;  ///< write the trained model here (the first run's, with --runs; rank 0)
  /// Independent runs from the model's initial weights, with seeds seed, seed + 1, ...
  int runs = 1;
  /// Stop after the step that passes this many seconds from the start (`plaster evaluate`'s case
  /// budget); out_of_time says so.
  std::optional<double> time_limit_s;
};

/// One run of several (--runs).
struct RunSummary {
  uint64_t seed = 0;
  std::optional<double> time_to_accuracy_s;
  std::optional<int> epochs_to_target;
  double samples_per_s = 0;
  std::optional<double> final_top1;
};

/// MLPerf Training's olympic mean: the mean without the fastest and the slowest value (needs at
/// least 3 values; nullopt otherwise).
std::optional<double> OlympicMean(std::vector<double> values);

struct EpochResult {
  int epoch = 0;  ///< from 1; 0: the evaluation before training (--init), with no steps
  double lr_end = 0;
  double loss = 0;  ///< mean training loss over the epoch's steps
  int64_t samples = 0;
  double train_seconds = 0;  ///< the steps' wall time (batches assembled inside it)
  double eval_seconds = 0;
  std::optional<accuracy::Proportion> top1;  ///< classification
  std::optional<double> mse;                 ///< regression
};

struct LearnResult {
  std::string model, engine, loss, data, val, optimizer, schedule;
  int64_t batch = 0, train_samples = 0, val_samples = 0, steps_per_epoch = 0;
  /// Data parallelism: the ranks, each rank's share of the (global) batch, and per rank its
  /// steady-state samples/s, its training time, and the part of it spent waiting for the other
  /// ranks' gradients after its own backward pass; whether the ranks' weights were bit-identical
  /// at the end (unset alone).
  int world = 1;
  int64_t batch_per_rank = 0;
  std::vector<double> rank_samples_per_s, rank_train_s, rank_communication_s;
  std::optional<bool> weights_identical;
  int threads = 0;
  double lr = 0;
  engine::TrainableReport trainable;
  std::string init;  ///< --init's file; what it gave, and its initializers the model lacks
  int64_t init_tensors = 0, init_values = 0;
  std::vector<std::string> init_unused;
  double load_seconds = 0;  ///< reading the training set, before the first step
  std::vector<EpochResult> epochs;
  /// Steady-state training samples/s: every step but the first kWarmupSteps (with data
  /// parallelism, the sum over the ranks).
  double samples_per_s = 0;
  std::optional<double> target_accuracy;
  std::optional<double> time_to_accuracy_s;        ///< load + training time, evaluation excluded
  std::optional<double> time_to_accuracy_wall_s;   ///< the same with evaluation included
  std::optional<int> epochs_to_target;
  bool interrupted = false;
  bool out_of_time = false;  ///< stopped at LearnOptions::time_limit_s
  std::string saved;  ///< where the trained model was written
  /// With --runs K > 1: every run (the curve above is the first's), and over the runs' times to
  /// accuracy, when every run reached the target: the olympic mean, the extremes and the
  /// standard deviation.
  std::vector<RunSummary> runs;
  std::optional<double> olympic_time_to_accuracy_s, time_to_accuracy_min_s,
      time_to_accuracy_max_s, time_to_accuracy_sd_s;
};

/// Trains and measures. Progress (one line per epoch) goes to `log`. plaster::Error for bad
/// options or data (naming them); Ctrl-C stops after the current step and keeps what was
/// measured (interrupted).
LearnResult Learn(const LearnOptions& o, std::ostream& log);

nlohmann::ordered_json ToJson(const LearnResult& r);
void PrintLearn(const LearnResult& r, std::ostream& out);

}  // namespace plaster::learn
