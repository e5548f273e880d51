// plaster learn: the R letter. Trains the model's weights on the engine and reports training
// throughput, time-to-accuracy and the loss/accuracy curve (src/learn/learn.h).
#include <algorithm>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "core/error.h"
#include "learn/launch.h"
#include "learn/learn.h"

namespace plaster::cli {
namespace {
int RunLearnHere(const LearnCommandOptions& o, const std::optional<engine::ParallelOptions>& rank,
                 int local_world);
}  // namespace

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
  cmd->add_option("--init", o->init,
                  "start from this model's weights (re-learning: a trained copy, e.g. an earlier "
                  "--save); evaluated before training too");
  cmd->add_option("--save", o->save, "write the trained model (the same graph) here");
  cmd->add_option("--runs", o->runs,
                  "independent runs with seeds S, S+1, ...: each one's time-to-accuracy and "
                  "MLPerf's olympic mean")
      ->check(CLI::Range(1, 1000));
  cmd->add_flag("--json", o->json, "write the results as JSON");
  cmd->add_option("--nproc", o->nproc,
                  "data parallelism: ranks on this host (c10d's Gloo backend); --batch is the "
                  "global batch, split over all ranks")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--nnodes", o->nnodes, "hosts taking part (each runs plaster learn)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--node-rank", o->node_rank, "this host's place, from 0")
      ->check(CLI::Range(0, 1023));
  cmd->add_option("--master", o->master,
                  "ADDR:PORT where global rank 0 listens (default with one host: the loopback, "
                  "a free port)");
  cmd->add_option("--timeout", o->timeout,
                  "seconds a collective may wait for the other ranks before failing")
      ->check(CLI::Range(1.0, 86400.0));
  return cmd;
}

int RunLearn(const LearnCommandOptions& o, const std::vector<std::string>& command_line) {
  int local_world = 1;
  const std::optional<engine::ParallelOptions> rank = learn::RankFromEnvironment(&local_world);
  if (!rank && o.nproc * o.nnodes > 1) {
    PLASTER_CHECK(o.batch % (o.nproc * o.nnodes) == 0,
                  "--batch {}: the global batch must split evenly over the {} ranks", o.batch,
                  o.nproc * o.nnodes);
    learn::LaunchOptions launch;
    launch.nproc = o.nproc;
    launch.nnodes = o.nnodes;
    launch.node_rank = o.node_rank;
    launch.master = o.master;
    launch.timeout_s = o.timeout;
    return learn::LaunchRanks(launch, command_line, std::cerr);
  }
  try {
    return RunLearnHere(o, rank, local_world);
  } catch (const Error& e) {
    if (!rank) throw;
    throw Error(fmt::format("rank {} of {}: {}", rank->rank, rank->world, e.what()));
  }
}

namespace {
int RunLearnHere(const LearnCommandOptions& o, const std::optional<engine::ParallelOptions>& rank,
                 int local_world) {
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
  if (rank) {  // Note [Launching ranks]: this host's cores shared among its ranks by default
    l.training.parallel = *rank;
    if (l.training.threads == 0) {
      l.training.threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) /
                                           std::max(1, local_world));
    }
  }
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
  l.init = o.init;
  l.save = o.save;
  l.runs = o.runs;
  std::ostringstream quiet;  // the other ranks' progress: rank 0 speaks for all
  const bool speaks = !rank || rank->rank == 0;
  const learn::LearnResult r = learn::Learn(l, speaks ? static_cast<std::ostream&>(std::cerr)
                                                      : static_cast<std::ostream&>(quiet));
  if (!speaks) return r.interrupted ? 130 : 0;
  if (o.json) {
    std::cout << learn::ToJson(r).dump(2) << "\n";
  } else {
    learn::PrintLearn(r, std::cout);
  }
  PLASTER_CHECK(r.weights_identical.value_or(true),
                "the ranks' weights differ at the end of data-parallel training (their digests "
                "differ): the figures above are not those of one model");
  return r.interrupted ? 130 : 0;
}

}  // namespace

}  // namespace plaster::cli
