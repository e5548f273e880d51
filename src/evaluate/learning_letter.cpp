// Note [Learning in evaluate]: the R letter of a case, measured last in its child, in the time
// the case has left (MeasureCase gives it a share of the budget).
// - Training throughput, always: a trainer at the case's engine, precision, batch and threads
//   (engine/trainer.h) takes SGD steps on generated inputs (the case's seed) with generated
//   targets: class indices when the first output looks like logits ([batch, classes]), else
//   float targets of its shape (MSE). Training speed does not depend on the values. The first
//   step is a warm-up and is left out when there are others; the figure is samples ÷ the steps'
//   time, and each step's rate is kept as samples for `plaster compare`.
// - Time-to-accuracy, with --train-data and --target-accuracy: `plaster learn`'s measurement
//   (src/learn, DAWNBench's rule) on the training set, evaluated on the case's --data after each
//   epoch, up to --train-epochs and within the case's time. Its steady-state training samples/s
//   is then the throughput figure, on real data.
// - A configuration the engine cannot train (int8, fp16, the null engine, an operator without a
//   gradient) leaves R unavailable with the engine's own reason: the case still passes.

#include "evaluate/learning_letter.h"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <chrono>
#include <sstream>

#include "core/error.h"
#include "core/interrupt.h"
#include "engine/trainer.h"
#include "learn/learn.h"

namespace plaster::evaluate {
namespace {

// Throughput steps on generated labels: a small rate keeps the weights from diverging on them
// (the rate does not change a step's cost).
constexpr double kThroughputLr = 1e-4;

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

Metric Make(std::string name, std::string label, nlohmann::ordered_json value, std::string unit,
            Better better, std::string how) {
  Metric m;
  m.name = std::move(name);
  m.letter = "R";
  m.label = std::move(label);
  m.value = std::move(value);
  m.unit = std::move(unit);
  m.better = better;
  m.how = std::move(how);
  return m;
}

engine::TrainingOptions Options(const CaseConfig& config) {
  engine::TrainingOptions t;
  t.device = config.device;
  t.precision = config.precision;
  t.threads = config.threads;
  return t;
}

void AddParameters(const engine::TrainableReport& trainable, CaseRecord& record) {
  record.Add(Make("r.trainable_parameters", "trainable parameters", trainable.values, "count",
                  Better::kNone,
                  fmt::format("elements of the {} float initializers that train ({} others do "
                              "not)",
                              trainable.tensors, trainable.frozen.size())));
}

// Note [Learning in evaluate]: throughput on generated data.
void MeasureThroughput(const CaseConfig& config, engine::Trainer& trainer,
                       uint64_t seed, int64_t budget_ns, CaseRecord& record) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<engine::HostTensor> inputs;
  for (const auto& spec : trainer.inputs()) inputs.push_back(engine::GenerateInput(spec, seed));
  const engine::HostTensor first = trainer.Run(inputs).at(0);
  const std::vector<int64_t>& shape = first.shape();
  const bool logits = first.dtype() == onnx::TensorProto::FLOAT && shape.size() == 2 &&
                      shape[1] >= 2;
  engine::HostTensor target;
  if (logits) {
    target = engine::HostTensor(onnx::TensorProto::INT64, {shape[0]});
    for (int64_t k = 0; k < shape[0]; ++k) {
      target.mutable_data_as<int64_t>()[k] =
          static_cast<int64_t>((seed * 2654435761u + static_cast<uint64_t>(k) * 40503u) %
                               static_cast<uint64_t>(shape[1]));
    }
  } else {
    target = engine::GenerateInput({"target", onnx::TensorProto::FLOAT, shape}, seed + 1);
  }
  std::vector<double> rates;
  double seconds = 0, first_seconds = 0;
  int64_t steps = 0;
  while (!StopRequested()) {
    const auto t0 = std::chrono::steady_clock::now();
    trainer.Step(inputs, target, kThroughputLr, false);
    const double s = Seconds(std::chrono::steady_clock::now() - t0);
    if (steps++ == 0) {
      first_seconds = s;
    } else {
      seconds += s;
    }
    rates.push_back(static_cast<double>(config.batch) / s);
    if (Seconds(std::chrono::steady_clock::now() - start) * 1e9 >
        static_cast<double>(budget_ns)) {
      break;
    }
  }
  if (steps == 0) {
    record.SetLetter("R", "unavailable", "interrupted before the first training step");
    return;
  }
  const bool warm = steps > 1;  // the first step left out when there are others
  const double rate = static_cast<double>(config.batch) * static_cast<double>(warm ? steps - 1 : 1) /
                      (warm ? seconds : first_seconds);
  Metric m = Make("r.training_samples_per_s", "training throughput", rate, "samples/s",
                  Better::kHigher,
                  fmt::format("{} SGD step(s) at batch {}{}, on generated inputs and {} ({} "
                              "loss); the engine's autograd",
                              warm ? steps - 1 : 1, config.batch,
                              warm ? " after 1 warm-up step" : " (the first: no time for more)",
                              logits ? "class labels" : "targets", trainer.loss_name()));
  record.SetSamples("training_samples_per_s", std::move(rates));
  m.samples = "training_samples_per_s";
  record.Add(m);
  AddParameters(trainer.trainable(), record);
  record.AddUnavailable("r.time_to_accuracy", "R", "time-to-accuracy", "s", Better::kLower,
                        "needs --train-data and --target-accuracy (with --data to evaluate on)");
  record.SetLetter("R", "measured");
}

// Note [Learning in evaluate]: time-to-accuracy, plaster learn's way.
void MeasureTimeToAccuracy(const std::string& model_source, const CaseConfig& config,
                           const CaseData& d, uint64_t seed, int64_t budget_ns,
                           CaseRecord& record) {
  learn::LearnOptions o;
  o.model = model_source;
  o.data = d.train_data;
  o.val = d.data;
  o.engine = config.engine;
  o.training = Options(config);
  o.batch = config.batch;
  o.epochs = d.train_epochs;
  o.lr = d.lr;
  o.warmup_epochs = std::min(1.0, static_cast<double>(d.train_epochs));
  o.target_accuracy = d.target_accuracy;
  o.seed = seed;
  o.val_limit = d.limit;
  o.time_limit_s = static_cast<double>(budget_ns) / 1e9;
  std::ostringstream quiet;
  const learn::LearnResult r = learn::Learn(o, quiet);
  const std::string target = fmt::format("top-1 {:.2f}%", 100 * *d.target_accuracy);
  record.Add(Make("r.training_samples_per_s", "training throughput", r.samples_per_s, "samples/s",
                  Better::kHigher,
                  fmt::format("the time-to-accuracy run's steady state (every step but the first "
                              "5), SGD at batch {} on {}",
                              config.batch, r.data)));
  AddParameters(r.trainable, record);
  double best = 0;
  for (const auto& e : r.epochs) best = std::max(best, e.top1 ? e.top1->value : 0.0);
  const int trained = static_cast<int>(r.epochs.size());
  if (r.time_to_accuracy_s) {
    record.Add(Make("r.time_to_accuracy", "time-to-accuracy", *r.time_to_accuracy_s, "s",
                    Better::kLower,
                    fmt::format("DAWNBench's rule: load + training until the first epoch at {} "
                                "on --data ({}), evaluation excluded ({:.2f} s with it); SGD lr "
                                "{:g}, cosine, seed {}",
                                target, r.val, *r.time_to_accuracy_wall_s, d.lr, seed)));
    record.Add(Make("r.epochs_to_target", "epochs to target", *r.epochs_to_target, "count",
                    Better::kLower, fmt::format("epochs of {} steps", r.steps_per_epoch)));
  } else {
    const std::string why =
        r.out_of_time ? fmt::format("{} not reached within the case's time ({} epoch(s) begun, "
                                    "best top-1 {:.2f}%)",
                                    target, trained, 100 * best)
        : r.interrupted ? "interrupted (Ctrl-C)"
                        : fmt::format("{} not reached in {} epoch(s) (best top-1 {:.2f}%)", target,
                                      trained, 100 * best);
    record.AddUnavailable("r.time_to_accuracy", "R", "time-to-accuracy", "s", Better::kLower, why);
  }
  record.SetLetter("R", "measured");
}

}  // namespace

void MeasureLearningLetter(const std::string& model_source, const CaseConfig& config,
                           const CaseData& d, const model::Model& m, const engine::Engine& eng,
                           uint64_t seed, int64_t budget_ns, CaseRecord& record) {
  std::unique_ptr<engine::Trainer> trainer;
  try {
    trainer = eng.Train(m, Options(config));
  } catch (const Error& e) {
    record.SetLetter("R", "unavailable", e.what());
    return;
  }
  try {
    if (!d.train_data.empty() && d.target_accuracy && !d.data.empty()) {
      trainer.reset();  // plaster learn makes its own
      MeasureTimeToAccuracy(model_source, config, d, seed, budget_ns, record);
    } else {
      MeasureThroughput(config, *trainer, seed, budget_ns, record);
    }
  } catch (const Error& e) {
    record.SetLetter("R", "failed", e.what());
  }
}

}  // namespace plaster::evaluate
