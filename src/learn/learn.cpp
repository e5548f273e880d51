// Note [Learning]: how `plaster learn` measures the R letter.
// - The clock starts before the training set is read (DAWNBench: from the first touch of the
//   data). The set is read into memory once (the samples are decoded and checked then); the
//   validation set is streamed at each evaluation, as `plaster accuracy` does.
// - Each epoch visits the training samples in an order shuffled with (--seed, epoch), in batches
//   of the model's bound batch size; a last partial batch is dropped, as PyTorch's
//   DataLoader(drop_last=True) does, so every step has the same cost. The learning rate follows
//   the schedule per step (LearningRate).
// - After each epoch the validation set is evaluated through the trainer's forward pass (no
//   gradients): top-1 with Wilson's interval, or MSE. Evaluation time is measured and reported
//   apart.
// - Time-to-accuracy is the load time plus the training steps' time up to the end of the first
//   epoch whose evaluation reaches the target (evaluation excluded, as DAWNBench's rules do); the
//   wall time with evaluation is reported beside it. Training stops there.
// - Re-learning (--init, Note [Initial weights] in model/initial_weights.cpp): the model starts
//   from a trained copy's weights, and the validation set is evaluated once before the first
//   step (epoch 0, whose evaluation time counts apart like the others). A target already met
//   there ends the run with no training: time-to-accuracy is the load alone.
// - Steady-state samples/s is over every step but the first kWarmupSteps (the allocator's first
//   fills, the kernels' first use).
// - Data parallelism (--nproc, Note [Data parallelism] in engine/torch/data_parallel.cpp):
//   --batch is the global batch. Every rank shuffles with the same seed and takes its own
//   contiguous share of each global batch (rank r: samples r·b … r·b + b − 1 of it, b = batch
//   / ranks), so the ranks together visit exactly the samples a single process would, in the
//   same steps. Every rank evaluates the whole validation set with the (identical) weights, and
//   rank 0's verdict on the target is the one all follow. The reported samples/s is the sum of
//   the ranks'; each rank's is kept, with the time it waited for the others' gradients; at the
//   end the ranks compare digests of their weights, which must be bit-identical. Only rank 0
//   saves the model.

#include "learn/learn.h"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>

#include "accuracy/dataset.h"
#include "accuracy/measure_accuracy.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/table.h"
#include "engine/registry.h"
#include "model/initial_weights.h"
#include "model/model_source.h"

namespace plaster::learn {
namespace {

constexpr int64_t kWarmupSteps = 5;

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// The trainer seen as a Session, so the validation pass is accuracy::MeasureAccuracy's.
class TrainerSession final : public engine::Session {
 public:
  explicit TrainerSession(engine::Trainer& trainer) : trainer_(trainer) {}
  const std::vector<engine::TensorSpec>& inputs() const override { return trainer_.inputs(); }
  const std::vector<engine::TensorSpec>& outputs() const override { return trainer_.outputs(); }
  std::vector<engine::HostTensor> Run(const std::vector<engine::HostTensor>& inputs) override {
    return trainer_.Run(inputs);
  }

 private:
  engine::Trainer& trainer_;
};

// Tensors of one shape and type (each with batch axis 1) stacked along axis 0.
engine::HostTensor Stack(const std::vector<const engine::HostTensor*>& parts) {
  std::vector<int64_t> shape = parts[0]->shape();
  shape[0] = static_cast<int64_t>(parts.size());
  std::string bytes;
  bytes.reserve(parts[0]->size_bytes() * parts.size());
  for (const auto* p : parts) bytes += p->bytes();
  return engine::HostTensor(parts[0]->dtype(), shape, std::move(bytes));
}

// Input i of the batch.
engine::HostTensor Inputs(const std::vector<const accuracy::Sample*>& batch, size_t i) {
  std::vector<const engine::HostTensor*> parts;
  for (const auto* s : batch) parts.push_back(&s->inputs.at(i));
  return Stack(parts);
}

// The samples' targets stacked along axis 0: class indices (int64 [B]) or the first output's
// float targets.
engine::HostTensor Targets(const std::vector<const accuracy::Sample*>& batch,
                           accuracy::LabelKind kind) {
  if (kind == accuracy::LabelKind::kClass) {
    engine::HostTensor t(onnx::TensorProto::INT64, {static_cast<int64_t>(batch.size())});
    for (size_t k = 0; k < batch.size(); ++k) t.mutable_data_as<int64_t>()[k] = batch[k]->label;
    return t;
  }
  std::vector<const engine::HostTensor*> parts;
  for (const auto* s : batch) parts.push_back(&s->targets.at(0));
  return Stack(parts);
}

}  // namespace

Schedule ParseSchedule(const std::string& name) {
  if (name == "cosine") return Schedule::kCosine;
  if (name == "step") return Schedule::kStep;
  if (name == "constant") return Schedule::kConstant;
  Fail("--schedule '{}': not a schedule (cosine, step, constant)", name);
}

const char* ScheduleName(Schedule s) {
  switch (s) {
    case Schedule::kCosine:
      return "cosine";
    case Schedule::kStep:
      return "step";
    default:
      return "constant";
  }
}

double LearningRate(Schedule s, double lr, double warmup, double epoch, int epochs) {
  if (warmup > 0 && epoch < warmup) return lr * (0.1 + 0.9 * epoch / warmup);
  switch (s) {
    case Schedule::kCosine: {
      const double span = std::max(static_cast<double>(epochs) - warmup, 1e-9);
      const double t = std::clamp((epoch - warmup) / span, 0.0, 1.0);
      return 0.5 * lr * (1 + std::cos(M_PI * t));
    }
    case Schedule::kStep:
      return lr * (epoch >= 0.75 * epochs ? 0.01 : epoch >= 0.5 * epochs ? 0.1 : 1.0);
    default:
      return lr;
  }
}

std::optional<double> OlympicMean(std::vector<double> values) {
  if (values.size() < 3) return std::nullopt;
  std::sort(values.begin(), values.end());
  double sum = 0;
  for (size_t k = 1; k + 1 < values.size(); ++k) sum += values[k];
  return sum / static_cast<double>(values.size() - 2);
}

namespace {

LearnResult LearnOnce(const LearnOptions& o, std::ostream& log) {
  PLASTER_CHECK(o.batch >= 1, "--batch {}: must be at least 1", o.batch);
  PLASTER_CHECK(o.epochs >= 1, "--epochs {}: must be at least 1", o.epochs);
  PLASTER_CHECK(o.lr > 0 && std::isfinite(o.lr), "--lr {}: must be positive", o.lr);
  PLASTER_CHECK(o.warmup_epochs >= 0 && o.warmup_epochs <= o.epochs,
                "--warmup {}: must be between 0 and --epochs ({})", o.warmup_epochs, o.epochs);
  PLASTER_CHECK(!o.target_accuracy || (*o.target_accuracy > 0 && *o.target_accuracy <= 1),
                "--target-accuracy: must be above 0% and at most 100%");
  const engine::ParallelOptions& parallel = o.training.parallel;
  const int world = parallel.world;
  PLASTER_CHECK(o.batch % world == 0,
                "--batch {}: the global batch must split evenly over the {} ranks", o.batch, world);
  const int64_t local_batch = o.batch / world;  // Note [Learning]: each rank's share
  const auto start = std::chrono::steady_clock::now();  // Note [Learning]: first data touch
  model::LoadOptions load;
  load.batch = local_batch;
  model::Model m = model::LoadModelSource(o.model, load);
  model::InitialWeights init;
  if (!o.init.empty()) m = model::WithInitialWeights(m, o.init, load, &init);
  const engine::Engine& eng = engine::FindEngine(o.engine);
  std::unique_ptr<engine::Trainer> trainer = eng.Train(m, o.training);

  accuracy::DatasetOptions train_options;
  train_options.limit = o.limit;
  std::unique_ptr<accuracy::Dataset> train =
      accuracy::OpenDataset(o.data, trainer->inputs(), trainer->outputs(), train_options);
  const accuracy::LabelKind kind = train->label_kind();
  PLASTER_CHECK(kind != accuracy::LabelKind::kNone,
                "--data {}: training needs labels (class indices) or targets; the file has "
                "neither",
                o.data);
  PLASTER_CHECK(!o.target_accuracy || kind == accuracy::LabelKind::kClass,
                "--target-accuracy needs class labels; {} has regression targets", o.data);
  PLASTER_CHECK(train->size() >= o.batch,
                "--data {}: {} samples, fewer than one batch of {}", o.data, train->size(),
                o.batch);
  std::vector<accuracy::Sample> samples;
  samples.reserve(static_cast<size_t>(train->size()));
  for (int64_t i = 0; i < train->size(); ++i) samples.push_back(train->Read(i));
  accuracy::DatasetOptions val_options;
  val_options.limit = o.val_limit;
  std::unique_ptr<accuracy::Dataset> val =
      accuracy::OpenDataset(o.val, trainer->inputs(), trainer->outputs(), val_options);
  PLASTER_CHECK(val->label_kind() == kind,
                "--val {}: its samples carry {}, the training set's {}", o.val,
                accuracy::LabelKindName(val->label_kind()), accuracy::LabelKindName(kind));

  LearnResult r;
  r.model = m.display_name();
  r.engine = eng.name();
  r.data = train->Describe();
  r.val = val->Describe();
  r.optimizer = engine::OptimizerName(o.training.optimizer);
  r.schedule = ScheduleName(o.schedule);
  r.batch = o.batch;
  r.world = world;
  r.batch_per_rank = local_batch;
  r.lr = o.lr;
  r.threads = o.training.threads;
  r.train_samples = train->size();
  r.val_samples = val->size();
  r.steps_per_epoch = train->size() / o.batch;
  r.target_accuracy = o.target_accuracy;
  if (!o.init.empty()) {
    r.init = init.file;
    r.init_tensors = init.tensors;
    r.init_values = init.values;
    r.init_unused = init.unused;
  }
  r.load_seconds = Seconds(std::chrono::steady_clock::now() - start);

  InterruptScope interrupt;
  TrainerSession session(*trainer);
  std::vector<int64_t> order(samples.size());
  double train_total = 0, eval_total = 0, steady_seconds = 0;
  int64_t steady_samples = 0, steps_done = 0;
  // Evaluates after an epoch (or before the first, 0); true when the target is reached. Every
  // rank evaluates the same weights on the whole validation set; rank 0's verdict is the one
  // all follow, so no rank trains on while the others stop.
  auto evaluate = [&](EpochResult& e) {
    const auto t_eval = std::chrono::steady_clock::now();
    const accuracy::AccuracyResult a = accuracy::MeasureAccuracy(session, *val);
    e.eval_seconds = Seconds(std::chrono::steady_clock::now() - t_eval);
    eval_total += e.eval_seconds;
    if (a.top1) e.top1 = a.top1;
    if (a.mse) e.mse = a.mse->mean;
    r.epochs.push_back(e);
    const std::string score = e.top1 ? fmt::format("val top-1 {:.2f}%, ", 100 * e.top1->value)
                              : e.mse ? fmt::format("val MSE {:.4g}, ", *e.mse)
                                      : "";
    if (e.epoch == 0) {
      log << fmt::format("before training (--init {}): {}{:.1f} s evaluating\n", o.init, score,
                         e.eval_seconds);
    } else {
      log << fmt::format("epoch {}/{}: loss {:.4f}, lr {:.3g}, {:.0f} samples/s, {}{:.1f} s + "
                         "{:.1f} s evaluating\n",
                         e.epoch, o.epochs, e.loss, e.lr_end, e.samples / e.train_seconds, score,
                         e.train_seconds, e.eval_seconds);
    }
    const bool reached = o.target_accuracy && e.top1 && e.top1->value >= *o.target_accuracy;
    if (trainer->AllGather(reached ? 1 : 0)[0] == 0) return false;
    r.time_to_accuracy_s = r.load_seconds + train_total;
    r.time_to_accuracy_wall_s = r.load_seconds + train_total + eval_total;
    r.epochs_to_target = e.epoch;
    return true;
  };
  // Note [Learning]: re-learning starts with an evaluation of the weights it starts from.
  bool done = false;
  if (!o.init.empty()) {
    EpochResult before;
    done = evaluate(before);
  }
  for (int epoch = 1; epoch <= o.epochs && !r.interrupted && !r.out_of_time && !done; ++epoch) {
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(o.seed * 1000003 + static_cast<uint64_t>(epoch));
    std::shuffle(order.begin(), order.end(), rng);
    EpochResult e;
    e.epoch = epoch;
    double loss_sum = 0;
    std::vector<const accuracy::Sample*> batch(static_cast<size_t>(local_batch));
    for (int64_t step = 0; step < r.steps_per_epoch && !r.interrupted && !r.out_of_time;
         ++step) {
      const auto t0 = std::chrono::steady_clock::now();
      const int64_t first = step * o.batch + parallel.rank * local_batch;
      for (int64_t k = 0; k < local_batch; ++k) {
        batch[static_cast<size_t>(k)] =
            &samples[static_cast<size_t>(order[static_cast<size_t>(first + k)])];
      }
      std::vector<engine::HostTensor> inputs;
      for (size_t i = 0; i < trainer->inputs().size(); ++i) inputs.push_back(Inputs(batch, i));
      const double lr = LearningRate(
          o.schedule, o.lr, o.warmup_epochs,
          static_cast<double>(epoch - 1) + static_cast<double>(step) / r.steps_per_epoch,
          o.epochs);
      const bool late = o.time_limit_s && Seconds(t0 - start) > *o.time_limit_s;
      const engine::Trainer::StepResult result =
          trainer->Step(inputs, Targets(batch, kind), lr, StopRequested() || late);
      loss_sum += result.loss;
      const double seconds = Seconds(std::chrono::steady_clock::now() - t0);
      e.lr_end = lr;
      e.samples += o.batch;
      e.train_seconds += seconds;
      if (++steps_done > kWarmupSteps) {
        steady_seconds += seconds;
        steady_samples += local_batch;
      }
      // Ctrl-C stops after this step; with data parallelism the ranks agree on it in the
      // step's all-reduce, so all stop after the same one.
      if (result.stop) (late ? r.out_of_time : r.interrupted) = true;
    }
    if (e.samples == 0) break;
    e.loss = loss_sum / static_cast<double>(e.samples / o.batch);
    train_total += e.train_seconds;
    done = evaluate(e);
  }
  const double rank_rate =
      steady_seconds > 0 ? static_cast<double>(steady_samples) / steady_seconds : 0;
  r.rank_samples_per_s = trainer->AllGather(rank_rate);
  r.samples_per_s = 0;
  for (double v : r.rank_samples_per_s) r.samples_per_s += v;
  if (world > 1) {
    r.rank_communication_s = trainer->AllGather(trainer->communication_seconds());
    r.rank_train_s = trainer->AllGather(train_total);
    // Note [Learning]: the ranks' weights must be bit-identical; the digest's halves travel as
    // doubles, exactly.
    const uint64_t digest = trainer->Digest();
    const std::vector<double> high = trainer->AllGather(static_cast<double>(digest >> 32));
    const std::vector<double> low = trainer->AllGather(static_cast<double>(digest & 0xffffffffu));
    r.weights_identical = true;
    for (int k = 1; k < world; ++k) {
      r.weights_identical = *r.weights_identical && high[static_cast<size_t>(k)] == high[0] &&
                            low[static_cast<size_t>(k)] == low[0];
    }
  }
  r.loss = trainer->loss_name();
  r.trainable = trainer->trainable();
  if (!o.save.empty() && parallel.rank == 0) {
    trainer->Save(o.save);
    r.saved = o.save;
  }
  return r;
}

}  // namespace

LearnResult Learn(const LearnOptions& o, std::ostream& log) {
  PLASTER_CHECK(o.runs >= 1, "--runs {}: must be at least 1", o.runs);
  LearnResult first;
  std::vector<double> times;
  for (int k = 0; k < o.runs; ++k) {
    LearnOptions one = o;
    one.seed = o.seed + static_cast<uint64_t>(k);
    if (k > 0) one.save.clear();
    if (o.runs > 1) log << fmt::format("run {}/{} (seed {})\n", k + 1, o.runs, one.seed);
    LearnResult r = LearnOnce(one, log);
    RunSummary s;
    s.seed = one.seed;
    s.time_to_accuracy_s = r.time_to_accuracy_s;
    s.epochs_to_target = r.epochs_to_target;
    s.samples_per_s = r.samples_per_s;
    if (!r.epochs.empty() && r.epochs.back().top1) s.final_top1 = r.epochs.back().top1->value;
    if (r.time_to_accuracy_s) times.push_back(*r.time_to_accuracy_s);
    const bool interrupted = r.interrupted;
    if (k == 0) {
      first = std::move(r);
    } else {
      first.interrupted = first.interrupted || interrupted;
    }
    first.runs.push_back(s);
    if (interrupted) break;
  }
  if (o.runs > 1 && o.target_accuracy && times.size() == first.runs.size() && !times.empty()) {
    first.olympic_time_to_accuracy_s = OlympicMean(times);
    first.time_to_accuracy_min_s = *std::min_element(times.begin(), times.end());
    first.time_to_accuracy_max_s = *std::max_element(times.begin(), times.end());
    double mean = 0, ss = 0;
    for (double t : times) mean += t / static_cast<double>(times.size());
    for (double t : times) ss += (t - mean) * (t - mean);
    first.time_to_accuracy_sd_s = std::sqrt(ss / static_cast<double>(times.size() - 1));
  }
  if (o.runs == 1) first.runs.clear();
  return first;
}

nlohmann::ordered_json ToJson(const LearnResult& r) {
  using J = nlohmann::ordered_json;
  J epochs = J::array();
  for (const auto& e : r.epochs) {
    const J none(nullptr);  // epoch 0: the evaluation before training (--init)
    J j = {{"epoch", e.epoch},
           {"lr_end", e.epoch > 0 ? J(e.lr_end) : none},
           {"loss", e.epoch > 0 ? J(e.loss) : none},
           {"samples", e.samples},
           {"train_s", e.train_seconds}, {"eval_s", e.eval_seconds},
           {"samples_per_s", e.train_seconds > 0 ? e.samples / e.train_seconds : 0.0}};
    j["top1"] = e.top1 ? J{{"value", e.top1->value}, {"ci95", {e.top1->ci.low, e.top1->ci.high}}}
                       : J(nullptr);
    j["mse"] = e.mse ? J(*e.mse) : J(nullptr);
    epochs.push_back(j);
  }
  auto opt = [](const auto& v) { return v ? J(*v) : J(nullptr); };
  J runs = J::array();
  for (const auto& run : r.runs) {
    runs.push_back({{"seed", run.seed},
                    {"time_to_accuracy_s", opt(run.time_to_accuracy_s)},
                    {"epochs_to_target", opt(run.epochs_to_target)},
                    {"samples_per_s", run.samples_per_s},
                    {"final_top1", opt(run.final_top1)}});
  }
  return {{"schema", "plaster.learn"},
          {"model", r.model},
          {"engine", r.engine},
          {"data", r.data},
          {"val", r.val},
          {"train_samples", r.train_samples},
          {"val_samples", r.val_samples},
          {"batch", r.batch},
          {"steps_per_epoch", r.steps_per_epoch},
          {"optimizer", r.optimizer},
          {"lr", r.lr},
          {"schedule", r.schedule},
          {"loss", r.loss},
          {"trainable", {{"tensors", r.trainable.tensors},
                         {"parameters", r.trainable.values},
                         {"frozen", r.trainable.frozen}}},
          {"init", r.init.empty() ? J(nullptr)
                                  : J{{"file", r.init},
                                      {"tensors", r.init_tensors},
                                      {"parameters", r.init_values},
                                      {"unused", r.init_unused}}},
          {"load_s", r.load_seconds},
          {"samples_per_s", r.samples_per_s},
          {"target_accuracy", opt(r.target_accuracy)},
          {"time_to_accuracy_s", opt(r.time_to_accuracy_s)},
          {"time_to_accuracy_wall_s", opt(r.time_to_accuracy_wall_s)},
          {"epochs_to_target", opt(r.epochs_to_target)},
          {"interrupted", r.interrupted},
          {"out_of_time", r.out_of_time},
          {"saved", r.saved.empty() ? J(nullptr) : J(r.saved)},
          {"threads", r.threads},
          {"parallel", r.world > 1 ? J{{"ranks", r.world},
                                       {"batch_per_rank", r.batch_per_rank},
                                       {"rank_samples_per_s", r.rank_samples_per_s},
                                       {"rank_train_s", r.rank_train_s},
                                       {"rank_communication_wait_s", r.rank_communication_s},
                                       {"weights_identical", opt(r.weights_identical)}}
                                   : J(nullptr)},
          {"epochs", epochs},
          {"runs", runs},
          {"olympic_time_to_accuracy_s", opt(r.olympic_time_to_accuracy_s)},
          {"time_to_accuracy_min_s", opt(r.time_to_accuracy_min_s)},
          {"time_to_accuracy_max_s", opt(r.time_to_accuracy_max_s)},
          {"time_to_accuracy_sd_s", opt(r.time_to_accuracy_sd_s)}};
}

void PrintLearn(const LearnResult& r, std::ostream& out) {
  out << fmt::format("plaster learn · {} on engine '{}'\n", r.model, r.engine);
  out << fmt::format("  data        {}\n  validation  {}\n", r.data, r.val);
  out << fmt::format("  training    {} loss, {} at lr {:g} ({} schedule), batch {}{}, {} steps "
                     "an epoch\n",
                     r.loss, r.optimizer, r.lr, r.schedule, r.batch,
                     r.world > 1 ? fmt::format(" ({} on each of {} ranks)", r.batch_per_rank,
                                               r.world)
                                 : "",
                     r.steps_per_epoch);
  out << fmt::format("  weights     {} tensors, {} parameters", r.trainable.tensors,
                     r.trainable.values);
  if (!r.trainable.frozen.empty()) {
    constexpr size_t kShown = 2;
    out << fmt::format("; {} float initializer(s) not trained:", r.trainable.frozen.size());
    for (size_t k = 0; k < r.trainable.frozen.size() && k < kShown; ++k) {
      out << "\n              " << r.trainable.frozen[k];
    }
    if (r.trainable.frozen.size() > kShown) {
      out << fmt::format("\n              and {} more (--json lists every one)",
                         r.trainable.frozen.size() - kShown);
    }
  }
  out << "\n";
  if (!r.init.empty()) {
    out << fmt::format("  init        {} tensors ({} parameters) from {}{}\n", r.init_tensors,
                       r.init_values, r.init,
                       r.init_unused.empty()
                           ? ""
                           : fmt::format("; {} of its initializers are not the model's",
                                         r.init_unused.size()));
  }
  out << "\n";
  TextTable table({"epoch", "lr", "loss", "samples/s", "train s", "eval s", "val"},
                  {TextTable::Align::kRight, TextTable::Align::kRight, TextTable::Align::kRight,
                   TextTable::Align::kRight, TextTable::Align::kRight, TextTable::Align::kRight,
                   TextTable::Align::kLeft});
  for (const auto& e : r.epochs) {
    const bool trained = e.epoch > 0;  // epoch 0: before training (--init)
    table.AddRow({std::to_string(e.epoch), trained ? fmt::format("{:.3g}", e.lr_end) : "-",
                  trained ? fmt::format("{:.4f}", e.loss) : "-",
                  trained ? fmt::format("{:.0f}", e.train_seconds > 0 ? e.samples / e.train_seconds
                                                                      : 0.0)
                          : "-",
                  fmt::format("{:.2f}", e.train_seconds), fmt::format("{:.2f}", e.eval_seconds),
                  e.top1 ? fmt::format("top-1 {:.2f}% [{:.2f}, {:.2f}]", 100 * e.top1->value,
                                       100 * e.top1->ci.low, 100 * e.top1->ci.high)
                  : e.mse ? fmt::format("MSE {:.4g}", *e.mse)
                          : "-"});
  }
  table.Print(out);
  out << fmt::format("\n  throughput  {:.0f} training samples/s (steady state: every step but the "
                     "first {})\n",
                     r.samples_per_s, kWarmupSteps);
  if (r.world > 1) {
    std::string rates, waits;
    double busy = 0;
    for (size_t k = 0; k < r.rank_samples_per_s.size(); ++k) {
      const double train = k < r.rank_train_s.size() ? r.rank_train_s[k] : 0;
      const double wait = k < r.rank_communication_s.size() ? r.rank_communication_s[k] : 0;
      rates += fmt::format("{}{:.0f}", k ? ", " : "", r.rank_samples_per_s[k]);
      waits += fmt::format("{}{:.1f}%", k ? ", " : "", train > 0 ? 100 * wait / train : 0.0);
      busy += train > 0 ? (1 - wait / train) / static_cast<double>(r.rank_samples_per_s.size())
                        : 0;
    }
    out << fmt::format("  parallel    {} ranks (c10d, Gloo): {} samples/s per rank; waiting for "
                       "the others' gradients {} of training time, so {:.0f}% efficient against "
                       "the ranks' own compute\n",
                       r.world, rates, waits, 100 * busy);
    if (r.weights_identical) {
      out << (*r.weights_identical
                  ? "              weights bit-identical on every rank at the end\n"
                  : "              WEIGHTS DIFFER between ranks at the end: the run is not a "
                    "correct data-parallel run\n");
    }
  }
  if (r.target_accuracy) {
    if (r.time_to_accuracy_s) {
      out << fmt::format(
          "  target      top-1 {:.2f}% reached {}: time-to-accuracy {:.2f} s (load "
          "{:.2f} s + training; evaluation excluded), {:.2f} s with evaluation\n",
          100 * *r.target_accuracy,
          *r.epochs_to_target > 0 ? fmt::format("in epoch {}", *r.epochs_to_target)
                                  : "before training, by the --init weights",
          *r.time_to_accuracy_s, r.load_seconds, *r.time_to_accuracy_wall_s);
    } else {
      int64_t trained = 0;
      for (const auto& e : r.epochs) trained += e.epoch > 0 ? 1 : 0;
      out << fmt::format("  target      top-1 {:.2f}% not reached in {} epoch(s)\n",
                         100 * *r.target_accuracy, trained);
    }
  }
  if (!r.runs.empty()) {
    out << fmt::format("\n  {} runs (the curve above is the first's):\n", r.runs.size());
    TextTable runs({"seed", "epochs to target", "time-to-accuracy", "samples/s", "final top-1"},
                   {TextTable::Align::kRight, TextTable::Align::kRight, TextTable::Align::kRight,
                    TextTable::Align::kRight, TextTable::Align::kRight});
    for (const auto& run : r.runs) {
      runs.AddRow({std::to_string(run.seed),
                   run.epochs_to_target ? std::to_string(*run.epochs_to_target) : "-",
                   run.time_to_accuracy_s ? fmt::format("{:.2f} s", *run.time_to_accuracy_s)
                                          : "not reached",
                   fmt::format("{:.0f}", run.samples_per_s),
                   run.final_top1 ? fmt::format("{:.2f}%", 100 * *run.final_top1) : "-"});
    }
    runs.Print(out, "    ");
    if (r.time_to_accuracy_min_s) {
      out << fmt::format(
          "  over the runs: time-to-accuracy {} (MLPerf's olympic mean: without the fastest and "
          "the slowest), from {:.2f} to {:.2f} s, sd {:.2f} s\n",
          r.olympic_time_to_accuracy_s ? fmt::format("{:.2f} s", *r.olympic_time_to_accuracy_s)
                                       : "n/a (needs 3 runs)",
          *r.time_to_accuracy_min_s, *r.time_to_accuracy_max_s, *r.time_to_accuracy_sd_s);
    } else if (r.target_accuracy) {
      out << "  over the runs: no time-to-accuracy, since not every run reached the target\n";
    }
  }
  if (r.interrupted) out << "  interrupted: the figures are for the steps that ran\n";
  if (!r.saved.empty()) out << fmt::format("  saved       {}\n", r.saved);
}

}  // namespace plaster::learn
