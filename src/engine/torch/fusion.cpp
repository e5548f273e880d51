// Note [Fusion]: an inference session runs some chains of nodes as one step.
// - GELU: exporters spell it Div(x, √2) → Erf → Add(·, 1) → Mul(x, ·) → Mul(·, 0.5), five
//   passes over the tensor where ATen's gelu makes one (12% of a BERT-like encoder's time
//   unfused).
// - LayerNormalization, as exporters before opset 17 spell it (nine nodes, seven passes over the
//   tensor), as one at::layer_norm.
// - Matrix products: MatMul(x, W) or Gemm with a constant W [→ bias Add] [→ residual Add]
//   [→ Relu | GELU], every Linear layer, as one oneDNN matmul (Note [Direct oneDNN matrix
//   products] in dnnl_matmul.cpp).
// - Pools: MaxPool, AveragePool and the global pools run as one oneDNN pooling on channels-last
//   tensors (Note [Direct oneDNN pooling] in dnnl_pool.cpp): not a fusion, a faster kernel.
// - Convolutions: Conv [→ BatchNormalization] [→ Add(·, residual)] [→ Relu | Clip], the
//   backbone of every CNN, as one oneDNN convolution with the rest fused in (Note [Direct oneDNN
//   convolutions] in dnnl_conv.cpp).
// A chain fuses only when each intermediate is read by the next node alone (and is not a graph
// output), so nothing else can observe the values that are never materialised. The fused step
// names every node it covers, so profiles keep their MACs and FLOPs. The training path (R) will
// compile without fusion, keeping every kernel differentiable.
//
// Note [Layouts]: fused convolutions produce channels-last tensors (NHWC strides). The kernels
// listed in AcceptsStridedInputs are ATen calls that honour strides (elementwise math, pools,
// concatenation, reshapes) and pass the layout on, so a CNN stays channels-last from its first
// convolution to its classifier. Every other kernel gets its inputs made contiguous (NCHW) first,
// a no-op for inputs that already are, so no kernel sees a layout it was not written for.

#include "engine/torch/fusion.h"

#include <onnx/onnx_pb.h>

#include <cmath>
#include <limits>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_set>

#include "engine/torch/ops_window.h"

namespace plaster::engine::torch_engine {

namespace {

using model::Graph;

// The one node reading tensor t (not a graph output), if it has op_type; else nullopt.
std::optional<size_t> OnlyReader(const Graph& g, int t, const char* op_type) {
  const auto& info = g.tensor(t);
  if (info.is_graph_output || info.consumers.size() != 1) return std::nullopt;
  const auto c = static_cast<size_t>(info.consumers[0]);
  if (g.nodes()[c].op_type != op_type || !g.nodes()[c].domain.empty()) return std::nullopt;
  return c;
}

// The one node reading node k's single output, if it has op_type; else nullopt.
std::optional<size_t> Next(const Graph& g, size_t k, const char* op_type) {
  const auto& n = g.nodes()[k];
  if (n.outputs.size() != 1 || n.outputs[0] < 0) return std::nullopt;
  return OnlyReader(g, n.outputs[0], op_type);
}

const at::Tensor* ConstantOf(const Constants& constants, int id) {
  if (id < 0 || !constants[static_cast<size_t>(id)]) return nullptr;
  return &*constants[static_cast<size_t>(id)];
}

bool IsScalar(const Constants& constants, int id, double want) {
  const at::Tensor* c = ConstantOf(constants, id);
  return c && c->numel() == 1 && std::abs(c->item<double>() - want) <= 1e-4 * std::abs(want);
}

bool IsFloat(const Graph& g, int id) {
  return id >= 0 && g.tensor(id).dtype == 1;  // TensorProto.FLOAT
}

// The other input of the Add node `add` that reads node `last`'s output, when it is a float
// tensor of exactly `dims` (a residual a kernel can add in its epilogue); else -1.
int ResidualOf(const Graph& g, size_t last, size_t add, const std::vector<int64_t>& dims) {
  const auto& a = g.nodes()[add];
  const int mine = g.nodes()[last].outputs[0];
  const int other = a.inputs.size() == 2 ? (a.inputs[0] == mine ? a.inputs[1] : a.inputs[0]) : -1;
  const bool fits = other >= 0 && other != mine && IsFloat(g, other) &&
                    g.tensor(other).shape.IsFullyKnown() && g.tensor(other).shape.dims == dims;
  return fits ? other : -1;
}

}  // namespace

std::vector<size_t> GeluChain(const Graph& g, size_t div, const Constants& constants) {
  const auto& nodes = g.nodes();
  const auto& d = nodes[div];
  if (d.op_type != "Div" || !d.domain.empty() || d.inputs.size() != 2 ||
      !IsScalar(constants, d.inputs[1], std::sqrt(2.0)))
    return {};
  const int x = d.inputs[0];
  const auto erf = Next(g, div, "Erf");
  if (!erf) return {};
  const auto add = Next(g, *erf, "Add");
  if (!add) return {};
  const auto& a = nodes[*add];
  const int erf_out = nodes[*erf].outputs[0];
  if (!((a.inputs[0] == erf_out && IsScalar(constants, a.inputs[1], 1.0)) ||
        (a.inputs[1] == erf_out && IsScalar(constants, a.inputs[0], 1.0))))
    return {};
  const auto mul = Next(g, *add, "Mul");
  if (!mul) return {};
  const auto& m = nodes[*mul];
  const int add_out = a.outputs[0];
  if (!((m.inputs[0] == x && m.inputs[1] == add_out) ||
        (m.inputs[1] == x && m.inputs[0] == add_out)))
    return {};
  const auto half = Next(g, *mul, "Mul");
  if (!half) return {};
  const auto& h = nodes[*half];
  const int mul_out = m.outputs[0];
  if (!((h.inputs[0] == mul_out && IsScalar(constants, h.inputs[1], 0.5)) ||
        (h.inputs[1] == mul_out && IsScalar(constants, h.inputs[0], 0.5))))
    return {};
  if (!IsFloat(g, x)) return {};
  return {div, *erf, *add, *mul, *half};
}

// Whether node n is a ReduceMean over the last axis only, keeping it, of a float tensor of known
// rank.
bool ReducesLastAxis(const Graph& g, const model::NodeInfo& n, const Constants& constants) {
  if (n.op_type != "ReduceMean" || !n.domain.empty() || n.inputs.empty() || n.outputs.size() != 1 ||
      !IsFloat(g, n.inputs[0]) || !g.tensor(n.inputs[0]).shape.rank_known) {
    return false;
  }
  const auto rank = static_cast<int64_t>(g.tensor(n.inputs[0]).shape.rank());
  std::vector<int64_t> axes;
  for (const auto& a : n.proto->attribute()) {
    if (a.name() == "axes") axes.assign(a.ints().begin(), a.ints().end());
    if (a.name() == "keepdims" && a.i() == 0) return false;
  }
  if (n.inputs.size() > 1) {  // opset 18: axes as an input
    const at::Tensor* c = ConstantOf(constants, n.inputs[1]);
    if (!c) return false;
    axes = IntsOf(*c);
  }
  return rank > 0 && axes.size() == 1 && (axes[0] == -1 || axes[0] == rank - 1);
}

std::optional<LayerNormChain> MatchLayerNorm(const Graph& g, size_t mean,
                                             const Constants& constants) {
  const auto& nodes = g.nodes();
  const auto& m = nodes[mean];
  if (!ReducesLastAxis(g, m, constants)) return std::nullopt;
  const int x = m.inputs[0];
  const auto& shape = g.tensor(x).shape;
  if (shape.dims.back() <= 0) return std::nullopt;
  LayerNormChain chain;
  chain.axis_size = shape.dims.back();
  const auto sub = OnlyReader(g, m.outputs[0], "Sub");
  if (!sub || nodes[*sub].inputs != std::vector<int>{x, m.outputs[0]}) return std::nullopt;
  // The centred tensor feeds Pow (the variance) and Div (the normalization), nothing else.
  const int d = nodes[*sub].outputs[0];
  const auto& d_info = g.tensor(d);
  if (d_info.is_graph_output || d_info.consumers.size() != 2) return std::nullopt;
  std::optional<size_t> pow, div;
  for (int c : d_info.consumers) {
    const auto& n = nodes[static_cast<size_t>(c)];
    if (n.op_type == "Pow" && n.inputs.size() == 2 && n.inputs[0] == d &&
        IsScalar(constants, n.inputs[1], 2.0)) {
      pow = static_cast<size_t>(c);
    } else if (n.op_type == "Div" && n.inputs.size() == 2 && n.inputs[0] == d) {
      div = static_cast<size_t>(c);
    }
  }
  if (!pow || !div) return std::nullopt;
  const auto var = OnlyReader(g, nodes[*pow].outputs[0], "ReduceMean");
  if (!var || !ReducesLastAxis(g, nodes[*var], constants)) return std::nullopt;
  const auto add = OnlyReader(g, nodes[*var].outputs[0], "Add");
  if (!add) return std::nullopt;
  const auto& a = nodes[*add];
  const int eps_id = a.inputs[0] == nodes[*var].outputs[0] ? a.inputs[1] : a.inputs[0];
  const at::Tensor* eps = ConstantOf(constants, eps_id);
  if (!eps || eps->numel() != 1) return std::nullopt;
  chain.epsilon = eps->item<double>();
  const auto sqrt = OnlyReader(g, a.outputs[0], "Sqrt");
  if (!sqrt || OnlyReader(g, nodes[*sqrt].outputs[0], "Div") != div ||
      nodes[*div].inputs[1] != nodes[*sqrt].outputs[0]) {
    return std::nullopt;
  }
  chain.nodes = {mean, *sub, *pow, *var, *add, *sqrt, *div};
  // The affine part: a per-channel constant of the axis' length (or broadcastable as one).
  auto channel = [&](const model::NodeInfo& n, int mine) -> std::optional<at::Tensor> {
    if (n.inputs.size() != 2) return std::nullopt;
    const at::Tensor* c = ConstantOf(constants, n.inputs[0] == mine ? n.inputs[1] : n.inputs[0]);
    // [C], or [1, ..., C] of no higher rank than x: the same broadcast as [C].
    if (!c || c->dim() < 1 || c->dim() > static_cast<int64_t>(shape.rank()) ||
        c->numel() != chain.axis_size || c->size(-1) != chain.axis_size) {
      return std::nullopt;
    }
    return c->to(at::kFloat).reshape({chain.axis_size});
  };
  if (auto mul = OnlyReader(g, nodes[*div].outputs[0], "Mul")) {
    if (auto gamma = channel(nodes[*mul], nodes[*div].outputs[0])) {
      chain.gamma = gamma;
      chain.nodes.push_back(*mul);
      if (auto shift = OnlyReader(g, nodes[*mul].outputs[0], "Add")) {
        if (auto beta = channel(nodes[*shift], nodes[*mul].outputs[0])) {
          chain.beta = beta;
          chain.nodes.push_back(*shift);
        }
      }
    }
  }
  return chain;
}

std::optional<ConvChain> MatchConvChain(const Graph& g, size_t conv, int opset,
                                        const Constants& constants,
                                        const std::unordered_set<size_t>& taken) {
  const auto& c = g.nodes()[conv];
  if (c.op_type != "Conv" || !c.domain.empty() || c.inputs.size() < 2 || c.outputs.size() != 1 ||
      c.outputs[0] < 0 || !IsFloat(g, c.inputs[0]) || !IsFloat(g, c.outputs[0])) {
    return std::nullopt;
  }
  const at::Tensor* weight = ConstantOf(constants, c.inputs[1]);
  const auto& in_shape = g.tensor(c.inputs[0]).shape;
  const auto& out_shape = g.tensor(c.outputs[0]).shape;
  if (!weight || weight->dim() != 4 || !in_shape.IsFullyKnown() || in_shape.rank() != 4 ||
      !out_shape.IsFullyKnown()) {
    return std::nullopt;
  }
  if (c.inputs.size() > 2 && c.inputs[2] >= 0 && !ConstantOf(constants, c.inputs[2])) {
    return std::nullopt;
  }
  ConvChain chain;
  chain.nodes = {conv};
  size_t last = conv;
  // The next node of the chain, unless an earlier chain took it (two convolutions meet at a
  // residual Add, and only one of them can fuse it).
  auto next = [&](const char* op_type) -> std::optional<size_t> {
    auto k = Next(g, last, op_type);
    return k && !taken.count(*k) ? k : std::nullopt;
  };
  if (auto bn = next("BatchNormalization")) {
    const auto& b = g.nodes()[*bn];
    NodeView view(g, b, opset, constants);
    bool constant = b.inputs.size() == 5 && b.outputs.size() == 1 && !view.Int("training_mode", 0);
    for (size_t i = 1; i < b.inputs.size() && constant; ++i) {
      constant = ConstantOf(constants, b.inputs[i]) != nullptr;
    }
    if (constant && opset >= 7) {  // before 7, BatchNormalization had is_test and spatial
      auto value = [&](size_t i) { return ConstantOf(constants, b.inputs[i])->to(at::kFloat); };
      const at::Tensor scale = value(1) / at::sqrt(value(4) + view.Float("epsilon", 1e-5f));
      chain.epilogue.bn_scale = scale.flatten();
      chain.epilogue.bn_shift = (value(2) - value(3) * scale).flatten();
      chain.nodes.push_back(*bn);
      last = *bn;
    }
  }
  if (auto add = next("Add")) {
    const int other = ResidualOf(g, last, *add, out_shape.dims);
    if (other >= 0) {
      chain.epilogue.add = true;
      chain.addend = other;
      chain.nodes.push_back(*add);
      last = *add;
    }
  }
  if (auto relu = next("Relu")) {
    chain.epilogue.activation = ConvEpilogue::Activation::kRelu;
    chain.nodes.push_back(*relu);
    last = *relu;
  } else if (auto clip = next("Clip")) {
    const auto& k = g.nodes()[*clip];
    NodeView view(g, k, opset, constants);
    float lo = std::numeric_limits<float>::lowest(), hi = std::numeric_limits<float>::max();
    bool known = true;
    if (opset < 11) {
      lo = view.Float("min", lo);
      hi = view.Float("max", hi);
    } else {
      for (size_t i = 1; i < k.inputs.size() && known; ++i) {
        if (k.inputs[i] < 0) continue;
        const at::Tensor* b = ConstantOf(constants, k.inputs[i]);
        known = b && b->numel() == 1;
        if (known) (i == 1 ? lo : hi) = b->item<float>();
      }
    }
    if (known) {
      chain.epilogue.activation = ConvEpilogue::Activation::kClip;
      chain.epilogue.clip_min = lo;
      chain.epilogue.clip_max = hi;
      chain.nodes.push_back(*clip);
      last = *clip;
    }
  }
  return chain;
}

std::optional<Kernel> BuildFusedConv(const Graph& g, const ConvChain& chain, int opset,
                                     const Constants& constants, at::ScalarType compute,
                                     std::string* kernel_name, const Int8Range* int8,
                                     const Int8Range* int8_output) {
  const auto& c = g.nodes()[chain.nodes[0]];
  NodeView view(g, c, opset, constants);
  const Window w = ReadWindow(view, false);
  const at::Tensor weight = *view.Constant(1);
  const Ints input = g.tensor(c.inputs[0]).shape.dims;
  const Ints kernel(weight.sizes().begin() + 2, weight.sizes().end());
  if (!w.kernel.empty() && w.kernel != kernel) return std::nullopt;  // ATen's path reports it
  ConvGeometry geometry;
  try {
    const Geometry r = Resolve(w, Ints(input.begin() + 2, input.end()), kernel);
    geometry.stride = r.stride;
    geometry.dilation = r.dilation;
    geometry.pad_begin = r.begin;
    geometry.pad_end = r.end;
    geometry.output = {input[0], weight.size(0), r.out[0], r.out[1]};
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
  if (geometry.output != g.tensor(c.outputs[0]).shape.dims) return std::nullopt;
  geometry.input = input;
  geometry.groups = view.Int("group", 1);
  std::optional<at::Tensor> bias;
  if (const at::Tensor* b = view.Constant(2)) bias = *b;
  std::shared_ptr<DnnlConv> conv = DnnlConv::Make(geometry, weight, bias, chain.epilogue, compute, int8, int8_output);
  if (!conv) return std::nullopt;
  *kernel_name = "oneDNN " + conv->implementation();
  return Kernel([conv](const Tensors& in) -> Tensors {
    return {conv->Run(in.at(0), in.size() > 1 ? in[1] : at::Tensor())};
  });
}

std::optional<MatMulChain> MatchMatMulChain(const Graph& g, size_t index, int opset,
                                            const Constants& constants,
                                            const std::unordered_set<size_t>& taken) {
  const auto& m = g.nodes()[index];
  if (!m.domain.empty() || m.inputs.size() < 2 || m.outputs.size() != 1 || m.outputs[0] < 0 ||
      !IsFloat(g, m.inputs[0]) || !IsFloat(g, m.outputs[0])) {
    return std::nullopt;
  }
  const auto& x_shape = g.tensor(m.inputs[0]).shape;
  const auto& out_shape = g.tensor(m.outputs[0]).shape;
  const at::Tensor* w = ConstantOf(constants, m.inputs[1]);
  if (!x_shape.rank_known || x_shape.rank() < 2 || !w || w->dim() != 2 ||
      w->scalar_type() != at::kFloat) {
    return std::nullopt;
  }
  MatMulChain chain;
  chain.nodes = {index};
  if (m.op_type == "MatMul") {
    chain.weight = *w;
  } else if (m.op_type == "Gemm") {
    NodeView view(g, m, opset, constants);
    if (x_shape.rank() != 2 || view.Int("transA", 0) != 0) return std::nullopt;
    chain.weight = view.Int("transB", 0) != 0 ? w->t() : *w;
    const float alpha = view.Float("alpha", 1.0f);
    const float beta = view.Float("beta", 1.0f);
    if (alpha != 1.0f) chain.weight = chain.weight * alpha;
    if (m.inputs.size() > 2 && m.inputs[2] >= 0 && beta != 0.0f) {
      const at::Tensor* c = ConstantOf(constants, m.inputs[2]);
      const int64_t n = chain.weight.size(1);
      // C broadcasts to [M, N]: a bias when it is the same for every row.
      if (!c || !(c->numel() == 1 || (c->numel() == n && c->size(-1) == n))) return std::nullopt;
      chain.epilogue.bias = c->to(at::kFloat).reshape({-1}).expand({n}) * beta;
    }
  } else {
    return std::nullopt;
  }
  const int64_t k = chain.weight.size(0), n = chain.weight.size(1);
  // x's shape may be partly unknown until the run (then the kernel is made on the first run).
  std::vector<int64_t> want = x_shape.dims;
  if (want.back() >= 0 && want.back() != k) return std::nullopt;
  want.back() = n;
  if (out_shape.IsFullyKnown() && x_shape.IsFullyKnown() && out_shape.dims != want) {
    return std::nullopt;
  }
  chain.rows = 1;
  for (size_t d = 0; d + 1 < x_shape.dims.size(); ++d) chain.rows *= x_shape.dims[d];
  if (!x_shape.IsFullyKnown()) chain.rows = 0;
  size_t last = index;
  auto next = [&](const char* op_type) -> std::optional<size_t> {
    auto c = Next(g, last, op_type);
    return c && !taken.count(*c) ? c : std::nullopt;
  };
  // The other input of a binary node that reads the chain's current output.
  auto other_input = [&](size_t node) {
    const auto& a = g.nodes()[node];
    const int mine = g.nodes()[last].outputs[0];
    return a.inputs.size() == 2 && a.inputs[0] != a.inputs[1]
               ? (a.inputs[0] == mine ? a.inputs[1] : a.inputs[0])
               : -1;
  };
  if (!chain.epilogue.bias) {
    if (auto add = next("Add")) {
      const at::Tensor* b = ConstantOf(constants, other_input(*add));
      if (b && b->numel() == n && b->dim() >= 1 && b->size(-1) == n &&
          b->dim() <= static_cast<int64_t>(want.size()) && b->scalar_type() == at::kFloat) {
        chain.epilogue.bias = b->reshape({n});
        chain.epilogue.bias_from_add = true;
        chain.nodes.push_back(*add);
        last = *add;
      }
    }
  }
  if (auto add = next("Add")) {
    const int other = x_shape.IsFullyKnown() ? ResidualOf(g, last, *add, want) : -1;
    if (other >= 0) {
      chain.epilogue.add = true;
      chain.addend = other;
      chain.nodes.push_back(*add);
      last = *add;
    }
  }
  if (auto relu = next("Relu")) {
    chain.epilogue.activation = MatMulEpilogue::Activation::kRelu;
    chain.nodes.push_back(*relu);
    return chain;
  }
  // The exporters' GELU reads the value twice: Div(t, √2) starts it and Mul(t, ·) ends it.
  const int t = g.nodes()[last].outputs[0];
  const auto& info = g.tensor(t);
  if (info.is_graph_output || info.consumers.size() != 2) return chain;
  for (int c : info.consumers) {
    std::vector<size_t> gelu = GeluChain(g, static_cast<size_t>(c), constants);
    if (gelu.empty()) continue;
    const int other = info.consumers[0] == c ? info.consumers[1] : info.consumers[0];
    bool free = static_cast<size_t>(other) == gelu[3];
    for (size_t k2 : gelu) free = free && !taken.count(k2);
    if (!free) continue;
    chain.epilogue.activation = MatMulEpilogue::Activation::kGeluErf;
    chain.nodes.insert(chain.nodes.end(), gelu.begin(), gelu.end());
    break;
  }
  return chain;
}

std::optional<Kernel> BuildFusedMatMul(const MatMulChain& chain, at::ScalarType compute,
                                       std::string* kernel_name, std::optional<MatMulInt8> int8) {
  std::shared_ptr<DnnlMatMul> matmul;
  try {
    matmul = std::make_shared<DnnlMatMul>(chain.weight, chain.epilogue, compute, int8);
    // Made now, for the bound shape: the weights are packed before the first run.
    *kernel_name = "oneDNN matmul";
    if (chain.rows > 0) {
      const std::string implementation = matmul->Implementation(chain.rows);
      if (implementation.rfind("ref", 0) == 0) return std::nullopt;
      *kernel_name = "oneDNN " + implementation;
    }
  } catch (const dnnl::error&) {
    return std::nullopt;  // no oneDNN kernel for this case
  }
  return Kernel([matmul](const Tensors& in) -> Tensors {
    return {matmul->Run(in.at(0), in.size() > 1 ? in[1] : at::Tensor())};
  });
}

std::optional<Kernel> BuildDirectPool(const Graph& g, size_t index, int opset,
                                      const Constants& constants, at::ScalarType compute,
                                      std::string* kernel_name) {
  const auto& p = g.nodes()[index];
  const bool global = p.op_type == "GlobalAveragePool" || p.op_type == "GlobalMaxPool";
  if (!p.domain.empty() || !(global || p.op_type == "MaxPool" || p.op_type == "AveragePool") ||
      p.inputs.size() != 1 || p.outputs.empty() || p.outputs[0] < 0 || !IsFloat(g, p.inputs[0]) ||
      !IsFloat(g, p.outputs[0])) {
    return std::nullopt;
  }
  for (size_t k = 1; k < p.outputs.size(); ++k) {
    if (p.outputs[k] >= 0) return std::nullopt;  // MaxPool's Indices: ATen's kernel makes them
  }
  const auto& in = g.tensor(p.inputs[0]).shape;
  if (!in.IsFullyKnown() || in.rank() != 4) return std::nullopt;
  const Ints plane = {in.dims[2], in.dims[3]};
  PoolGeometry geo;
  geo.input = in.dims;
  if (global) {
    geo.kernel = plane;
    geo.stride = geo.dilation = {1, 1};
    geo.pad_begin = geo.pad_end = {0, 0};
    geo.output = {in.dims[0], in.dims[1], 1, 1};
    geo.kind = p.op_type == "GlobalMaxPool" ? PoolGeometry::Kind::kMax
                                            : PoolGeometry::Kind::kAverageOverInput;
  } else {
    NodeView view(g, p, opset, constants);
    Geometry r;
    try {
      const Window w = ReadWindow(view, true);
      if (w.kernel.size() != 2) return std::nullopt;
      r = Resolve(w, plane, w.kernel);
    } catch (const Unsupported&) {
      return std::nullopt;  // ATen's kernel reports it
    } catch (const std::invalid_argument&) {
      return std::nullopt;
    }
    geo.kernel = r.kernel;
    geo.stride = r.stride;
    geo.dilation = r.dilation;
    geo.pad_begin = r.begin;
    geo.output = {in.dims[0], in.dims[1], r.out[0], r.out[1]};
    // oneDNN pads the end as far as the last window reaches (max ignores padded cells; the
    // averages below are taken only where the counts agree).
    geo.pad_end = {std::max<int64_t>(r.reach[0], 0), std::max<int64_t>(r.reach[1], 0)};
    if (p.op_type == "MaxPool") {
      geo.kind = PoolGeometry::Kind::kMax;
    } else {
      if (r.dilation != Ints{1, 1}) return std::nullopt;
      const bool count_pads = view.Int("count_include_pad", 0) != 0;
      // Counting pads, ONNX divides by the kernel's area but ceil_mode's cells past the pads
      // are not counted; oneDNN would count them, so those windows stay with ATen.
      for (size_t i = 0; i < 2 && count_pads; ++i) {
        if (r.reach[i] > r.end[i]) return std::nullopt;
      }
      geo.kind = count_pads ? PoolGeometry::Kind::kAverageCountingPads
                            : PoolGeometry::Kind::kAverageOverInput;
    }
  }
  const auto& out = g.tensor(p.outputs[0]).shape;
  if (out.IsFullyKnown() && out.dims != geo.output) return std::nullopt;
  std::shared_ptr<DnnlPool> pool = DnnlPool::Make(geo, compute);
  if (!pool) return std::nullopt;
  *kernel_name = "oneDNN " + pool->implementation();
  return Kernel([pool](const Tensors& args) -> Tensors { return {pool->Run(args.at(0))}; });
}

bool AcceptsStridedInputs(const std::string& op_type) {
  static const std::unordered_set<std::string> kStrided = {
      "Add",           "Sub",     "Mul",         "Div",         "Relu",
      "Clip",          "Sigmoid", "HardSigmoid", "HardSwish",   "LeakyRelu",
      "Tanh",          "Concat",  "MaxPool",     "AveragePool", "GlobalAveragePool",
      "GlobalMaxPool", "Flatten", "Reshape",     "Squeeze",     "Unsqueeze",
      "Identity",      "Dropout", "Conv",        "Softmax",     "ReduceMean",
      "Shape",
      // Note [Integer kernels]: their outputs are channels-last, and so are their inputs.
      "QLinearConv",   "ConvInteger", "QuantizeLinear", "DequantizeLinear"};
  return kStrided.count(op_type) > 0;
}

}  // namespace plaster::engine::torch_engine
