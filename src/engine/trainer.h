#pragma once
/// Training through an engine, for the R letter (src/learn): an ONNX model's float initializers
/// trained by gradient descent on the engine's own kernels. The engine computes the forward pass,
/// the loss, the gradients and the optimizer's update; src/learn drives epochs, schedules and
/// evaluation and times them.

#include <cstdint>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/host_tensor.h"

namespace plaster::engine {

enum class OptimizerKind { kSgd, kAdamW };
/// "sgd", "adamw" → OptimizerKind; plaster::Error naming --optimizer otherwise.
OptimizerKind ParseOptimizer(const std::string& name);
const char* OptimizerName(OptimizerKind kind);

enum class LossKind {
  kAuto,          ///< cross-entropy with class labels, MSE with float targets
  kCrossEntropy,  ///< softmax cross-entropy of the first output's logits against class indices
  kMse,           ///< mean squared error of the first output against targets
};
/// "auto", "cross-entropy", "mse" → LossKind; plaster::Error naming --loss otherwise.
LossKind ParseLoss(const std::string& name);
const char* LossName(LossKind kind);

/// Data-parallel training (Note [Data parallelism] in engine/torch/data_parallel.cpp): `world`
/// processes, each with a replica of the weights and its share of every batch; the gradients
/// are averaged over them before each update, so every rank holds identical weights.
struct ParallelOptions {
  int rank = 0;   ///< this process, from 0
  int world = 1;  ///< the number of processes; 1: no data parallelism
  /// Rank 0's rendezvous (c10d's TCPStore): it listens there, the others connect.
  std::string master_address = "127.0.0.1";
  int master_port = 29500;
  /// A collective that does not complete within this (a rank that died or hangs) is an error.
  double timeout_s = 30;
};

struct TrainingOptions {
  Device device = Device::kCpu;
  Precision precision = Precision::kFp32;
  int threads = 0;  ///< 0: all cores
  OptimizerKind optimizer = OptimizerKind::kSgd;
  /// SGD: momentum (PyTorch's form, v = μv + g; w −= lr·v). AdamW: β1, with β2 = 0.999, ε = 1e-8.
  double momentum = 0.9;
  /// SGD: L2 added to the gradient (PyTorch's); AdamW: decoupled decay (w −= lr·λ·w).
  double weight_decay = 5e-4;
  LossKind loss = LossKind::kAuto;
  ParallelOptions parallel;
};

/// Which initializers train, and which do not and why.
struct TrainableReport {
  int64_t tensors = 0;  ///< float initializers that train
  int64_t values = 0;   ///< their element count: the model's trainable parameters
  /// Float initializers that do not, each "name: why" (a BatchNormalization's running statistics,
  /// a Clip bound, ...).
  std::vector<std::string> frozen;
};

/// Made by Engine::Train; the model it was made from must outlive it.
class Trainer {
 public:
  virtual ~Trainer() = default;
  /// The bound input and output specs (the batch is the model's bound first dimension).
  virtual const std::vector<TensorSpec>& inputs() const = 0;
  virtual const std::vector<TensorSpec>& outputs() const = 0;
  virtual const TrainableReport& trainable() const = 0;
  /// The loss it computes ("cross-entropy", "mse"), resolved from kAuto by the first Step.
  virtual std::string loss_name() const = 0;

  struct StepResult {
    double loss = 0;    ///< the batch's mean loss (with data parallelism, over every rank's)
    bool stop = false;  ///< some rank asked to stop (every rank learns it in the same step)
  };
  /// One optimizer step on one batch: forward, the loss of the first output against `target`
  /// (class indices, int64 [batch], for cross-entropy; the first output's shape, float32, for
  /// MSE), backward, and the update at learning rate `lr`. `stop`: this process wants to stop
  /// after this step (Ctrl-C). plaster::Error for a target that does not fit, a loss that is
  /// not finite (naming it), or a rank that is lost.
  virtual StepResult Step(const std::vector<HostTensor>& inputs, const HostTensor& target,
                          double lr, bool stop) = 0;
  /// The forward pass with the current weights, no gradients (evaluation).
  virtual std::vector<HostTensor> Run(const std::vector<HostTensor>& inputs) = 0;
  /// Writes the model as given, with the trained weights in place of the initial ones.
  virtual void Save(const std::string& path) const = 0;

  /// A 64-bit digest of the trained tensors' bytes (weights and statistics), to check that the
  /// ranks of a data-parallel run hold identical ones.
  virtual uint64_t Digest() const = 0;
  /// Collective (every rank must call it, in the same order): every rank's `value`, in rank
  /// order. Alone: {value}.
  virtual std::vector<double> AllGather(double value) = 0;
  /// Seconds this process has spent waiting for gradients from the other ranks (after its own
  /// backward pass ended); 0 alone.
  virtual double communication_seconds() const = 0;
};

}  // namespace plaster::engine
