// Normalisation and activation ops of the torch engine: BatchNormalization,
// InstanceNormalization, LayerNormalization, LRN, MeanVarianceNormalization, LpNormalization; the
// activations, Clip and Dropout; the softmax family (Softmax, LogSoftmax, Hardmax).

#include <ATen/ATen.h>

#include <optional>
#include <stdexcept>
#include <tuple>
#include <vector>

#include "engine/torch/kernel.h"
#include "engine/torch/ops_util.h"

namespace plaster::engine::torch_engine {
namespace {

// ---------------------------------------------------------------------------------------------
// Normalization

Kernel BuildBatchNorm(const NodeView& n) {
  const int opset = n.opset();
  const double eps = n.Float("epsilon", 1e-5f);
  const double momentum = n.Float("momentum", 0.9f);
  // Before opset 9, spatial=0 kept statistics per (channel, position) instead of per channel.
  const bool spatial = opset >= 9 || n.Int("spatial", 1) != 0;
  // The mode: an attribute from opset 14; from 7 the presence of the statistics outputs; before
  // 7 is_test (default 0: training).
  bool training = false;
  if (opset >= 14) {
    training = n.Int("training_mode", 0) != 0;
  } else if (opset >= 7) {
    training = OutputWanted(n, 1) || OutputWanted(n, 2) || OutputWanted(n, 3) || OutputWanted(n, 4);
  } else {
    training = n.Int("is_test", 0) == 0;
  }
  if (opset < 14 && (OutputWanted(n, 3) || OutputWanted(n, 4))) {
    n.Fail("the saved_mean/saved_var outputs of training mode (opset {}) are not supported", opset);
  }
  return [eps, momentum, spatial, training](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    if (x.dim() < 2) RunError(fmt::format("an input of rank {}; at least 2 expected", x.dim()));
    const auto type = x.scalar_type();
    if (!training && spatial) {
      auto param = [&](size_t i) { return in.at(i).reshape({-1}).to(type); };
      return Tensors{
          at::batch_norm(x, param(1), param(2), param(3), param(4), false, 0, eps, false)};
    }
    // Parameters per channel broadcast over (N, C, ...); per-activation ones over N.
    auto param = [&](size_t i) {
      const at::Tensor p = in.at(i).to(type);
      return spatial ? ChannelView(p, x.dim()) : p.unsqueeze(0);
    };
    at::Tensor mean, var;
    if (training) {
      Ints dims{0};
      if (spatial) {
        for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
      }
      std::tie(var, mean) = at::var_mean(x, dims, false, true);
    } else {
      mean = param(3);
      var = param(4);
    }
    const at::Tensor y = param(1) * (x - mean) / at::sqrt(var + eps) + param(2);
    if (!training) return Tensors{y};
    // Running statistics, in the type and shape of the given ones.
    const at::Tensor& running_mean = in.at(3);
    const at::Tensor& running_var = in.at(4);
    const at::Tensor batch_mean = mean.reshape(running_mean.sizes()).to(running_mean.scalar_type());
    const at::Tensor batch_var = var.reshape(running_var.sizes()).to(running_var.scalar_type());
    return Tensors{y, running_mean * momentum + batch_mean * (1 - momentum),
                   running_var * momentum + batch_var * (1 - momentum)};
  };
}

Kernel BuildInstanceNorm(const NodeView& n) {
  const double eps = n.Float("epsilon", 1e-5f);
  return [eps](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    if (x.dim() < 3) RunError(fmt::format("an input of rank {}; at least 3 expected", x.dim()));
    auto [var, mean] = at::var_mean(x, SpatialAxes(x), false, true);
    const at::Tensor scale = ChannelView(in.at(1).to(x.scalar_type()), x.dim());
    const at::Tensor bias = ChannelView(in.at(2).to(x.scalar_type()), x.dim());
    return Tensors{scale * ((x - mean) / at::sqrt(var + eps)) + bias};
  };
}

Kernel BuildLayerNorm(const NodeView& n) {
  const int64_t axis = n.Int("axis", -1);
  const double eps = n.Float("epsilon", 1e-5f);
  const at::ScalarType stash = ScalarTypeOf(static_cast<int32_t>(n.Int("stash_type", 1)));
  if (!at::isFloatingType(stash)) {
    n.Fail("stash_type {} is not a floating type", n.Int("stash_type", 1));
  }
  CheckAxis(n, 0, axis);
  return [axis, eps, stash](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    const int64_t a = RunAxis<std::invalid_argument>(axis, x.dim());
    Ints dims;
    for (int64_t d = a; d < x.dim(); ++d) dims.push_back(d);
    const Ints normalized(x.sizes().begin() + a, x.sizes().end());
    const at::Tensor& scale = in.at(1);
    const at::Tensor bias = Given(in, 2) ? in[2] : at::Tensor();
    if (x.scalar_type() == stash && SizesOf(scale) == normalized &&
        (!bias.defined() || SizesOf(bias) == normalized)) {
      // ATen's fused kernel; its statistics come shaped as ONNX's (1 for normalized axes).
      auto [y, mean, inv_std] = at::native_layer_norm(x, normalized, scale, Optional(bias), eps);
      return Tensors{y, mean, inv_std};
    }
    // As ONNX's function body: statistics in the stash type, the normalized values cast back to
    // the input's type before scale and bias.
    const at::Tensor xs = x.to(stash);
    const at::Tensor mean = xs.mean(dims, true);
    const at::Tensor dev = xs - mean;
    const at::Tensor inv_std = at::reciprocal(at::sqrt((dev * dev).mean(dims, true) + eps));
    at::Tensor y = (dev * inv_std).to(x.scalar_type()) * scale;
    if (bias.defined()) y = y + bias;
    return Tensors{y, mean, inv_std};
  };
}

Kernel BuildLrn(const NodeView& n) {
  const int64_t size = n.Int("size", 0);
  if (size < 1) n.Fail("size {} is not positive", size);
  const double alpha = n.Float("alpha", 1e-4f);
  const double beta = n.Float("beta", 0.75f);
  const double bias = n.Float("bias", 1.f);
  return [size, alpha, beta, bias](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    if (x.dim() < 2) RunError(fmt::format("an input of rank {}; at least 2 expected", x.dim()));
    if (x.numel() == 0) return Tensors{x};
    // ONNX sums channels c - floor((size-1)/2) ... c + ceil((size-1)/2); ATen's own
    // local_response_norm leans the other way for an even size, hence the explicit window.
    const int64_t batch = x.size(0), channels = x.size(1);
    const int64_t rest = x.numel() / (batch * channels);
    const int64_t front = (size - 1) / 2;
    const at::Tensor squares = (x * x).reshape({batch, 1, channels, rest});
    const at::Tensor mean = at::avg_pool2d(
        at::constant_pad_nd(squares, {0, 0, front, size - 1 - front}, 0), {size, 1}, {1, 1});
    return Tensors{x / at::pow(mean.reshape(x.sizes()) * alpha + bias, beta)};
  };
}

Kernel BuildMvn(const NodeView& n) {
  Ints axes = n.Ints("axes");
  if (!n.Has("axes")) axes = {0, 2, 3};
  return [axes](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    Ints dims;
    for (int64_t a : axes) dims.push_back(RunAxis<std::invalid_argument>(a, x.dim()));
    if (dims.empty()) return Tensors{at::zeros_like(x)};
    // ONNX's function: (X - E[X]) / (sqrt(Var[X]) + 1e-9), population variance.
    auto [var, mean] = at::var_mean(x, dims, false, true);
    return Tensors{(x - mean) / (at::sqrt(var) + 1e-9)};
  };
}

Kernel BuildLpNorm(const NodeView& n) {
  const int64_t axis = n.Int("axis", -1);
  const int64_t p = n.Int("p", 2);
  if (p != 1 && p != 2) n.Fail("p = {} is not 1 or 2", p);
  return [axis, p](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    const int64_t a = RunAxis<std::invalid_argument>(axis, x.dim());
    return Tensors{x / at::linalg_vector_norm(x, p, Ints{a}, true)};
  };
}

// ---------------------------------------------------------------------------------------------
// Activations

Kernel BuildClip(const NodeView& n) {
  // Before opset 11 the bounds are attributes; from 11 optional inputs, read once when known.
  std::optional<at::Tensor> lo, hi;
  if (n.opset() < 11) {
    if (n.Has("min")) lo = at::scalar_tensor(static_cast<double>(n.Float("min", 0)), at::kDouble);
    if (n.Has("max")) hi = at::scalar_tensor(static_cast<double>(n.Float("max", 0)), at::kDouble);
  } else {
    if (const at::Tensor* c = n.Constant(1)) lo = *c;
    if (const at::Tensor* c = n.Constant(2)) hi = *c;
  }
  for (const auto* b : {&lo, &hi}) {
    if (*b && (*b)->numel() != 1) n.Fail("min and max must hold one value, not {}", (*b)->numel());
  }
  return [lo, hi](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    auto bound = [&](const std::optional<at::Tensor>& c, size_t i) -> c10::optional<at::Tensor> {
      const at::Tensor b = c ? *c : Given(in, i) ? in[i] : at::Tensor();
      if (!b.defined()) return c10::nullopt;
      if (b.numel() != 1) RunError("min and max must hold one value");
      return b.reshape({}).to(x.scalar_type());
    };
    const auto low = bound(lo, 1), high = bound(hi, 2);
    if (!low && !high) return Tensors{x};
    // The scalar overload runs ATen's vectorised clamp; the tensor overload broadcasts a
    // 0-d tensor through a ternary loop, about 10× slower (MobileNetV2's ReLU6).
    auto scalar = [](const c10::optional<at::Tensor>& b) -> c10::optional<at::Scalar> {
      if (!b) return c10::nullopt;
      return b->item();
    };
    return Tensors{at::clamp(x, scalar(low), scalar(high))};
  };
}

Kernel BuildDropout(const NodeView& n) {
  const int opset = n.opset();
  const bool want_mask = OutputWanted(n, 1);
  const bool bool_mask = opset >= 10;  // before 10 the mask has the input's type
  std::optional<double> ratio;
  std::optional<bool> training;
  if (opset < 12) {
    ratio = n.Float("ratio", 0.5f);
    training = opset < 7 && n.Int("is_test", 0) == 0;
  } else {
    if (!n.HasInput(1)) {
      ratio = 0.5;
    } else if (const at::Tensor* c = n.Constant(1)) {
      ratio = c->item().toDouble();
    }
    if (!n.HasInput(2)) {
      training = false;
    } else if (const at::Tensor* c = n.Constant(2)) {
      training = c->item().toBool();
    }
  }
  if (training && *training && ratio && *ratio != 0) {
    n.Fail("training mode with ratio {} drops a random mask; only inference is supported", *ratio);
  }
  return [ratio, training, want_mask, bool_mask](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    const bool train = training ? *training : Given(in, 2) && in[2].item().toBool();
    if (train) {
      const double r = ratio ? *ratio : Given(in, 1) ? in[1].item().toDouble() : 0.5;
      if (r != 0) {
        throw Unsupported{fmt::format(
            "training mode with ratio {} drops a random mask; only inference is supported", r)};
      }
    }
    if (!want_mask) return Tensors{x};
    return Tensors{
        x, bool_mask ? at::ones(x.sizes(), x.options().dtype(at::kBool)) : at::ones_like(x)};
  };
}

void AddActivations(std::vector<OpEntry>* t) {
  AddHalfViaFloat(t, "Relu", UnaryOp([](const NodeView&) -> UnaryFn {
                    return [](const at::Tensor& x) { return at::relu(x); };
                  }));
  AddHalfViaFloat(t, "LeakyRelu", UnaryOp([](const NodeView& n) -> UnaryFn {
                    const double alpha = n.Float("alpha", 0.01f);
                    return [alpha](const at::Tensor& x) { return at::leaky_relu(x, alpha); };
                  }));
  AddHalfViaFloat(t, "PRelu", [](const NodeView& n) -> Kernel {
    // PRelu-1/6 applied a 1-D slope per channel; from 7 the slope broadcasts as numpy does.
    const bool per_channel = n.opset() < 7;
    return [per_channel](const Tensors& in) {
      const at::Tensor& x = in.at(0);
      at::Tensor slope = in.at(1);
      if (per_channel && slope.dim() == 1 && slope.numel() > 1 && x.dim() > 2) {
        slope = ChannelView(slope, x.dim()).squeeze(0);
      }
      return Tensors{at::where(x < 0, x * slope, x)};
    };
  });
  AddHalfViaFloat(t, "Elu", UnaryOp([](const NodeView& n) -> UnaryFn {
                    const double alpha = n.Float("alpha", 1.f);
                    return [alpha](const at::Tensor& x) { return at::elu(x, alpha); };
                  }));
  AddHalfViaFloat(t, "Selu", UnaryOp([](const NodeView& n) -> UnaryFn {
                    const double alpha = n.Float("alpha", 1.67326319217681884765625f);
                    const double gamma = n.Float("gamma", 1.05070102214813232421875f);
                    return
                        [alpha, gamma](const at::Tensor& x) { return at::elu(x, alpha, gamma, 1); };
                  }));
  const auto celu = [](const NodeView& n) -> UnaryFn {
    const double alpha = n.Float("alpha", 1.f);
    return [alpha](const at::Tensor& x) { return at::celu(x, alpha); };
  };
  AddHalfViaFloat(t, "Celu", UnaryOp(celu), 12);
  AddHalfViaFloat(t, "Sigmoid", UnaryOp([](const NodeView&) -> UnaryFn {
                    return [](const at::Tensor& x) { return at::sigmoid(x); };
                  }));
  AddHalfViaFloat(t, "HardSigmoid", UnaryOp([](const NodeView& n) -> UnaryFn {
                    const double alpha = n.Float("alpha", 0.2f);
                    const double beta = n.Float("beta", 0.5f);
                    return [alpha, beta](const at::Tensor& x) {
                      return at::clamp(x * alpha + beta, 0, 1);
                    };
                  }));
  const auto hard_swish = [](const NodeView&) -> UnaryFn {
    // ONNX: x * max(0, min(1, x / 6 + 0.5)), which ATen's hardswish rounds differently.
    return [](const at::Tensor& x) { return x * at::clamp(x * (1.0 / 6) + 0.5, 0, 1); };
  };
  AddHalfViaFloat(t, "HardSwish", UnaryOp(hard_swish), 14);
  AddHalfViaFloat(t, "Tanh", UnaryOp([](const NodeView&) -> UnaryFn {
                    return [](const at::Tensor& x) { return at::tanh(x); };
                  }));
  AddHalfViaFloat(t, "Softplus", UnaryOp([](const NodeView&) -> UnaryFn {
                    return [](const at::Tensor& x) { return at::softplus(x); };
                  }));
  AddHalfViaFloat(t, "Softsign", UnaryOp([](const NodeView&) -> UnaryFn {
                    return [](const at::Tensor& x) { return x / (x.abs() + 1); };
                  }));
  const auto thresholded_relu = [](const NodeView& n) -> UnaryFn {
    const double alpha = n.Float("alpha", 1.f);
    // Written so that NaN stays NaN, as in ONNX's reference.
    return [alpha](const at::Tensor& x) {
      return at::where(x <= alpha, at::zeros({}, x.options()), x);
    };
  };
  AddHalfViaFloat(t, "ThresholdedRelu", UnaryOp(thresholded_relu), 10);
  const auto shrink = [](const NodeView& n) -> UnaryFn {
    const double bias = n.Float("bias", 0.f);
    const double lambd = n.Float("lambd", 0.5f);
    return [bias, lambd](const at::Tensor& x) {
      const at::Tensor y = at::where(x < -lambd, x + bias,
                                     at::where(x > lambd, x - bias, at::zeros({}, x.options())));
      return y.to(x.scalar_type());
    };
  };
  AddHalfViaFloat(t, "Shrink", UnaryOp(shrink), 9);
  AddHalfViaFloat(t, "Clip", BuildClip);
  AddHalfViaFloat(t, "Dropout", BuildDropout);
}

// ---------------------------------------------------------------------------------------------
// Softmax, LogSoftmax, Hardmax

enum class SoftKind { kSoftmax, kLogSoftmax, kHardmax };

// Before opset 13 these ops flatten the input to 2-D at `axis` (default 1) and work on the
// second axis; from 13 they work on the one axis (default -1).
Builder SoftmaxOp(SoftKind kind) {
  return [kind](const NodeView& n) -> Kernel {
    const bool coerce = n.opset() < 13;
    const int64_t axis = n.Int("axis", coerce ? 1 : -1);
    CheckAxis(n, 0, axis);
    return [kind, coerce, axis](const Tensors& in) {
      const at::Tensor& x = in.at(0);
      const int64_t a = RunAxis<std::invalid_argument>(axis, x.dim());
      at::Tensor v = x;
      int64_t dim = a;
      if (coerce) {
        const Ints s = SizesOf(x);
        v = x.reshape(
            {Product(Ints(s.begin(), s.begin() + a)), Product(Ints(s.begin() + a, s.end()))});
        dim = 1;
      }
      at::Tensor y;
      switch (kind) {
        case SoftKind::kSoftmax:
          y = at::softmax(v, dim);
          break;
        case SoftKind::kLogSoftmax:
          y = at::log_softmax(v, dim);
          break;
        case SoftKind::kHardmax:
          // argmax returns the first of equal maxima, as ONNX wants.
          y = at::zeros_like(v).scatter(dim, v.argmax(dim, true), 1);
          break;
      }
      return Tensors{coerce ? y.reshape(x.sizes()) : y};
    };
  };
}

}  // namespace

void AddNormActivationOps(std::vector<OpEntry>* table) {
  AddHalfViaFloat(table, "BatchNormalization", BuildBatchNorm);
  AddHalfViaFloat(table, "InstanceNormalization", BuildInstanceNorm);
  AddHalfViaFloat(table, "LayerNormalization", BuildLayerNorm, 17, 1000, {1, 2});
  AddHalfViaFloat(table, "LRN", BuildLrn);
  AddHalfViaFloat(table, "MeanVarianceNormalization", BuildMvn, 9);
  AddHalfViaFloat(table, "LpNormalization", BuildLpNorm);
  AddActivations(table);
  AddHalfViaFloat(table, "Softmax", SoftmaxOp(SoftKind::kSoftmax));
  AddHalfViaFloat(table, "LogSoftmax", SoftmaxOp(SoftKind::kLogSoftmax));
  AddHalfViaFloat(table, "Hardmax", SoftmaxOp(SoftKind::kHardmax));
}

}  // namespace plaster::engine::torch_engine
