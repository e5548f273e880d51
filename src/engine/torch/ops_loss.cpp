// Training losses of the torch engine: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss
// (opsets 12 and 13), as ONNX's reference defines them (onnx/backend/test/case/node/
// negativeloglikelihoodloss.py and softmaxcrossentropy.py, which produced the expected outputs).
//
// Both take, at every sample and spatial position, minus the log-probability of the target class
// along axis 1 and weigh it: by weight[target] when a weight is given, by 0 where the target is
// ignore_index, else by 1. "mean" divides the weighted sum by the sum of the weights actually
// applied, so an ignored position counts in neither; with neither weight nor ignore_index that
// is the plain mean. Only differentiable ATen ops are used, so the losses train under autograd.

#include <ATen/ATen.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "engine/torch/kernel.h"
#include "engine/torch/ops_util.h"

namespace plaster::engine::torch_engine {
namespace {

enum class Reduction { kNone, kSum, kMean };

struct LossAttrs {
  Reduction reduction = Reduction::kMean;
  std::optional<int64_t> ignore_index;
};

LossAttrs ReadLossAttrs(const NodeView& n) {
  LossAttrs a;
  const std::string reduction = n.String("reduction", "mean");
  if (reduction == "none") {
    a.reduction = Reduction::kNone;
  } else if (reduction == "sum") {
    a.reduction = Reduction::kSum;
  } else if (reduction != "mean") {
    n.Fail("reduction '{}' is not none, sum or mean", reduction);
  }
  if (n.Has("ignore_index")) a.ignore_index = n.Int("ignore_index", 0);
  const model::Shape& shape = n.InputShape(0);
  if (shape.rank_known && shape.rank() < 2) {
    n.Fail("the input has rank {}; the class axis 1 needs rank 2 or more", shape.rank());
  }
  return a;
}

// The loss of log-probabilities `logp` [N, C, d1, ...] against `target` [N, d1, ...].
at::Tensor NllLoss(const at::Tensor& logp, const at::Tensor& target_in, const at::Tensor& weight,
                   const LossAttrs& a) {
  if (logp.dim() < 2) {
    RunError(
        fmt::format("the input has rank {}; the class axis 1 needs rank 2 or more", logp.dim()));
  }
  std::vector<int64_t> want(logp.sizes().begin(), logp.sizes().end());
  want.erase(want.begin() + 1);
  if (target_in.sizes().vec() != want) {
    RunError(fmt::format("the target has shape {}; the input's shape without axis 1 is {}",
                         Join(target_in.sizes()), Join(want)));
  }
  if (weight.defined() && (weight.dim() != 1 || weight.size(0) != logp.size(1))) {
    RunError(fmt::format("the weight has shape {}; one per class ({}) is expected",
                         Join(weight.sizes()), logp.size(1)));
  }
  const at::Tensor target = target_in.to(at::kLong);
  // Ignored positions read class 0 (any valid class would do) and are zeroed below: the
  // reference never reads them, so they must not turn an infinite input into NaN.
  at::Tensor keep, index = target;
  if (a.ignore_index) {
    keep = target != *a.ignore_index;
    index = at::where(keep, target, at::zeros_like(target));
  }
  at::Tensor loss = -logp.gather(1, index.unsqueeze(1)).squeeze(1);
  at::Tensor applied;  // the weight of each position; undefined when all are 1
  if (weight.defined()) {
    applied = weight.to(loss.scalar_type()).index_select(0, index.reshape({-1})).view_as(index);
  }
  if (keep.defined()) {
    const at::Tensor zero = at::zeros({}, loss.options());
    loss = at::where(keep, loss, zero);
    applied = at::where(keep, applied.defined() ? applied : at::ones({}, loss.options()), zero);
  }
  if (applied.defined()) loss = loss * applied;
  switch (a.reduction) {
    case Reduction::kNone:
      return loss;
    case Reduction::kSum:
      return loss.sum();
    case Reduction::kMean:
      return applied.defined() ? loss.sum() / applied.sum() : loss.mean();
  }
  return loss;
}

// ATen 1.13 has next to no float16 kernels on the CPU, so float16 and bfloat16 inputs are
// computed in float32 and the results rounded back: never less exact than the narrow type.
Kernel ViaFloat(Kernel inner) {
  return [inner = std::move(inner)](const Tensors& in) {
    const at::ScalarType type = in.at(0).scalar_type();
    if (type != at::kHalf && type != at::kBFloat16) return inner(in);
    Tensors wide = in;
    for (auto& t : wide) {
      if (t.defined() && t.scalar_type() == type) t = t.to(at::kFloat);
    }
    Tensors out = inner(wide);
    for (auto& t : out) {
      if (t.defined()) t = t.to(type);
    }
    return out;
  };
}

Kernel BuildNllLoss(const NodeView& n) {
  const LossAttrs a = ReadLossAttrs(n);
  return ViaFloat([a](const Tensors& in) {
    return Tensors{NllLoss(in.at(0), in.at(1), Given(in, 2) ? in[2] : at::Tensor(), a)};
  });
}

Kernel BuildSoftmaxCrossEntropyLoss(const NodeView& n) {
  const LossAttrs a = ReadLossAttrs(n);
  const size_t outputs = n.OutputCount();
  const bool want_log_prob = OutputWanted(n, 1);
  return ViaFloat([a, outputs, want_log_prob](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    if (x.dim() < 2) {
      RunError(
          fmt::format("the input has rank {}; the class axis 1 needs rank 2 or more", x.dim()));
    }
    const at::Tensor log_prob = at::log_softmax(x, 1);
    Tensors out(outputs);
    out[0] = NllLoss(log_prob, in.at(1), Given(in, 2) ? in[2] : at::Tensor(), a);
    if (want_log_prob) out[1] = log_prob;
    return out;
  });
}

}  // namespace

void AddLossOps(std::vector<OpEntry>* table) {
  table->push_back({"NegativeLogLikelihoodLoss", BuildNllLoss, 12});
  table->push_back({"SoftmaxCrossEntropyLoss", BuildSoftmaxCrossEntropyLoss, 12});
}

}  // namespace plaster::engine::torch_engine
