#pragma once
// The sliding window shared by Conv, ConvTranspose, the pools (ops_conv_pool.cpp, Note [Windows])
// and the quantized convolutions (ops_quant.cpp): one reading of kernel_shape, strides,
// dilations, pads and auto_pad, resolved per run against the input's spatial size.

#include <ATen/ATen.h>

#include <string>

#include "engine/torch/kernel.h"
#include "engine/torch/ops_util.h"

namespace plaster::engine::torch_engine {

/// A window's attributes as the node states them.
struct Window {
  std::string auto_pad = "NOTSET";
  Ints kernel;                    // empty for Conv/ConvTranspose: the weights' shape rules
  Ints strides, dilations, pads;  // empty: ONNX's defaults (1, 1, 0)
  bool ceil_mode = false;
};

/// Reads and checks the window attributes at build time (1 to 3 spatial axes).
Window ReadWindow(const NodeView& n, bool kernel_required);

/// A window resolved against an input's spatial size.
struct Geometry {
  Ints kernel, stride, dilation;
  Ints begin, end;  // padding before and after: ONNX's explicit pads or auto_pad's
  Ints out;         // output length
  // How far past the input the windows actually read: (out - 1) * stride + dilated kernel -
  // input - begin. Above `end` under ceil_mode, below it when the last window does not fit.
  Ints reach;
};

/// The kernel's spatial sizes, from the weights [M, C/group, k...]; a run-time error when their
/// rank differs from the input's or they disagree with the node's kernel_shape.
Ints KernelOf(const Window& w, const at::Tensor& x, const at::Tensor& weight);

/// Resolves w for spatial size `in` and `kernel` (auto_pad, ceil_mode); a run-time error when
/// the window does not fit.
Geometry Resolve(const Window& w, const Ints& in, const Ints& kernel);

/// constant_pad_nd's order: the last axis first, before then after.
Ints PadList(const Ints& before, const Ints& after);

/// x padded with `value` before and after each spatial axis (x itself when nothing is padded).
at::Tensor Pad(const at::Tensor& x, const Ints& before, const Ints& after, double value);

/// The spatial sizes of an input of rank 3 to 5 (a run-time error otherwise).
Ints Spatial(const at::Tensor& x, const char* op);

}  // namespace plaster::engine::torch_engine
