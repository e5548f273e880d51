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

  /// One optimizer step on one batch: forward, the loss of the first output against `target`
  /// (class indices, int64 [batch], for cross-entropy; the first output's shape, float32, for
  /// MSE), backward, and the update at learning rate `lr`. Returns the batch's mean loss.
  /// plaster::Error for a target that does not fit, or a loss that is not finite (naming it).
  virtual double Step(const std::vector<HostTensor>& inputs, const HostTensor& target,
                      double lr) = 0;
  /// The forward pass with the current weights, no gradients (evaluation).
  virtual std::vector<HostTensor> Run(const std::vector<HostTensor>& inputs) = 0;
  /// Writes the model as given, with the trained weights in place of the initial ones.
  virtual void Save(const std::string& path) const = 0;
};

}  // namespace plaster::engine
