// plaster learn: the R letter. Trains the model's weights on the engine and reports training
// throughput, time-to-accuracy and the loss/accuracy curve (src/learn/learn.h).
#include <iostream>

#include "cli/commands.h"
#include "core/error.h"
#include "learn/learn.h"

namespace plaster::cli {

CLI::App* AddLearnCommand(CLI::App& app, LearnCommandOptions* o) {
  CLI::App* cmd = app.add_subcommand(
      "learn",
      "the R letter: train the model's weights, measuring training samples/s and "
      "time-to-accuracy");
  cmd->add_option("model", o->model, "ONNX file (its float initializers are the weights)")
      ->required();
  cmd->add_option("--data", o->data, "training set: .npz with labels or targets")->required();
  cmd->add_option("--val", o->val, "validation set, evaluated after every epoch")->required();
  cmd->add_option("--engine", o->engine, "engine");
  cmd->add_option("--batch", o->batch, "samples per step")
      ->check(CLI::Range(int64_t{1}, int64_t{65536}));
  cmd->add_option("--epochs", o->epochs, "at most this many epochs")->check(CLI::Range(1, 100000));
  cmd->add_option("--target-accuracy", o->target_accuracy,
                  "stop at the first epoch whose validation top-1 reaches this (e.g. 80%)");
  cmd->add_option("--optimizer", o->optimizer, "sgd (with momentum) or adamw");
  cmd->add_option("--lr", o->lr, "peak learning rate (default: sgd 0.05, adamw 0.001)");
  cmd->add_option("--momentum", o->momentum, "sgd momentum, adamw β1 (default 0.9)");
  cmd->add_option("--weight-decay", o->weight_decay,
                  "sgd: L2 on the gradient (default 5e-4); adamw: decoupled (default 0.01)");
  cmd->add_option("--schedule", o->schedule, "cosine, step or constant, after the warm-up");
  cmd->add_option("--warmup", o->warmup, "epochs of linear warm-up from lr/10 (fractional)");
  cmd->add_option("--loss", o->loss, "auto, cross-entropy or mse");
  cmd->add_option("--precision", o->precision, "fp32");
  cmd->add_option("--threads", o->threads, "threads (0: all cores)")->check(CLI::Range(0, 1024));
  cmd->add_option("--seed", o->seed, "the training samples' order in each epoch");
  cmd->add_option("--limit", o->limit, "at most N training samples")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  cmd->add_option("--val-limit", o->val_limit, "at most N validation samples")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  cmd->add_option("--save", o->save, "write the trained model (the same graph) here");
  cmd->add_option("--runs", o->runs,
                  "independent runs with seeds S, S+1, ...: each one's time-to-accuracy and "
                  "MLPerf's olympic mean")
      ->check(CLI::Range(1, 1000));
  cmd->add_flag("--json", o->json, "write the results as JSON");
  return cmd;
}

int RunLearn(const LearnCommandOptions& o) {
  learn::LearnOptions l;
  l.model = o.model;
  l.data = o.data;
  l.val = o.val;
  l.engine = o.engine;
  l.batch = o.batch;
  l.epochs = o.epochs;
  l.training.optimizer = engine::ParseOptimizer(o.optimizer);
  const bool sgd = l.training.optimizer == engine::OptimizerKind::kSgd;
  l.lr = o.lr.value_or(sgd ? 0.05 : 1e-3);
  l.training.momentum = o.momentum.value_or(0.9);
  PLASTER_CHECK(l.training.momentum >= 0 && l.training.momentum < 1,
                "--momentum {}: must be in [0, 1)", l.training.momentum);
  l.training.weight_decay = o.weight_decay.value_or(sgd ? 5e-4 : 0.01);
  PLASTER_CHECK(l.training.weight_decay >= 0, "--weight-decay {}: must not be negative",
                l.training.weight_decay);
  l.training.loss = engine::ParseLoss(o.loss);
  l.training.precision = engine::ParsePrecision(o.precision);
  l.training.threads = o.threads;
  l.schedule = learn::ParseSchedule(o.schedule);
  l.warmup_epochs = o.warmup;
  if (!o.target_accuracy.empty()) {
    l.target_accuracy = ReadFraction(o.target_accuracy);
    PLASTER_CHECK(l.target_accuracy && *l.target_accuracy > 0 && *l.target_accuracy <= 1,
                  "--target-accuracy '{}': expected an accuracy such as 80% or 0.8",
                  o.target_accuracy);
  }
  l.seed = o.seed;
  l.limit = o.limit;
  l.val_limit = o.val_limit;
  l.save = o.save;
  l.runs = o.runs;
  const learn::LearnResult r = learn::Learn(l, std::cerr);
  if (o.json) {
    std::cout << learn::ToJson(r).dump(2) << "\n";
  } else {
    learn::PrintLearn(r, std::cout);
  }
  return r.interrupted ? 130 : 0;
}

}  // namespace plaster::cli
