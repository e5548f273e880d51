#include "engine/trainer.h"

#include "core/error.h"

namespace plaster::engine {

OptimizerKind ParseOptimizer(const std::string& name) {
  if (name == "sgd") return OptimizerKind::kSgd;
  if (name == "adamw") return OptimizerKind::kAdamW;
  Fail("--optimizer '{}': not an optimizer (sgd, adamw)", name);
}

const char* OptimizerName(OptimizerKind kind) {
  return kind == OptimizerKind::kSgd ? "sgd" : "adamw";
}

LossKind ParseLoss(const std::string& name) {
  if (name == "auto") return LossKind::kAuto;
  if (name == "cross-entropy") return LossKind::kCrossEntropy;
  if (name == "mse") return LossKind::kMse;
  Fail("--loss '{}': not a loss (auto, cross-entropy, mse)", name);
}

const char* LossName(LossKind kind) {
  switch (kind) {
    case LossKind::kCrossEntropy:
      return "cross-entropy";
    case LossKind::kMse:
      return "mse";
    default:
      return "auto";
  }
}

std::unique_ptr<Trainer> Engine::Train(const model::Model& /*model*/,
                                       const TrainingOptions& /*options*/) const {
  Fail("engine '{}' cannot train models", name());
}

}  // namespace plaster::engine
