// Recurrent layers (RNN, GRU, LSTM) and ops along one axis: TopK, CumSum, NonZero, OneHot, Trilu.
//
// Note [Recurrence on ATen]: the recurrent layers multiply the whole input sequence by W once,
// then step through time with one matmul by R per step. Every step makes new tensors (no in-place
// updates) and the outputs are stacked at the end, so autograd can differentiate through it.

#include <ATen/ATen.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <stdexcept>

#include "engine/torch/kernel.h"
#include "engine/torch/ops_util.h"

namespace plaster::engine::torch_engine {
namespace {

// A scalar input (K, axis, depth, k): read once when constant, else per run.
std::optional<int64_t> ConstantScalar(const NodeView& n, size_t i) {
  if (!n.Constant(i)) return std::nullopt;
  const std::vector<int64_t> v = n.ConstantInts(i);
  if (v.size() != 1) n.Fail("input {} must hold one value, not {}", i, v.size());
  return v[0];
}

int64_t ScalarOf(const at::Tensor& t, const char* what) {
  if (t.numel() != 1) {
    throw std::invalid_argument(fmt::format("{} must hold one value, not {}", what, t.numel()));
  }
  return t.to(at::kLong).item<int64_t>();
}

// ---------------------------------------------------------------------------------------------
// RNN, GRU, LSTM

enum class Cell { kRnn, kGru, kLstm };

struct Activation {
  enum Kind {
    kRelu,
    kTanh,
    kSigmoid,
    kAffine,
    kLeakyRelu,
    kThresholdedRelu,
    kScaledTanh,
    kHardSigmoid,
    kElu,
    kSoftsign,
    kSoftplus
  };
  Kind kind = kTanh;
  double alpha = 0;
  double beta = 0;

  at::Tensor operator()(const at::Tensor& x) const {
    switch (kind) {
      case kRelu:
        return at::relu(x);
      case kTanh:
        return at::tanh(x);
      case kSigmoid:
        return at::sigmoid(x);
      case kAffine:
        return x * alpha + beta;
      case kLeakyRelu:
        return at::leaky_relu(x, alpha);
      case kThresholdedRelu:
        return at::where(x > alpha, x, 0.0);
      case kScaledTanh:
        return at::tanh(x * beta) * alpha;
      case kHardSigmoid:
        return at::clamp(x * alpha + beta, 0.0, 1.0);
      case kElu:
        return at::elu(x, alpha);
      case kSoftsign:
        return x / (at::abs(x) + 1.0);
      case kSoftplus:
        return at::softplus(x);
    }
    return x;
  }
};

// Parses one activation name (ONNX spells them "Tanh", runtimes accept any case). alpha and beta
// are consumed in order by the functions that take them; the defaults are those of the ONNX
// operators of the same name.
Activation ParseActivation(const NodeView& n, const std::string& name,
                           const std::vector<float>& alphas, size_t* next_alpha,
                           const std::vector<float>& betas, size_t* next_beta) {
  struct Known {
    const char* name;
    Activation::Kind kind;
    bool has_alpha, has_beta;
    double alpha, beta;
  };
  static constexpr Known kKnown[] = {
      {"relu", Activation::kRelu, false, false, 0, 0},
      {"tanh", Activation::kTanh, false, false, 0, 0},
      {"sigmoid", Activation::kSigmoid, false, false, 0, 0},
      {"affine", Activation::kAffine, true, true, 1.0, 0.0},
      {"leakyrelu", Activation::kLeakyRelu, true, false, 0.01, 0},
      {"thresholdedrelu", Activation::kThresholdedRelu, true, false, 1.0, 0},
      {"scaledtanh", Activation::kScaledTanh, true, true, 1.0, 1.0},
      {"hardsigmoid", Activation::kHardSigmoid, true, true, 0.2, 0.5},
      {"elu", Activation::kElu, true, false, 1.0, 0},
      {"softsign", Activation::kSoftsign, false, false, 0, 0},
      {"softplus", Activation::kSoftplus, false, false, 0, 0},
  };
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const Known& k : kKnown) {
    if (lower != k.name) continue;
    Activation a{k.kind, k.alpha, k.beta};
    if (k.has_alpha && *next_alpha < alphas.size()) a.alpha = alphas[(*next_alpha)++];
    if (k.has_beta && *next_beta < betas.size()) a.beta = betas[(*next_beta)++];
    return a;
  }
  n.Fail("activation '{}' is not one ONNX defines for recurrent layers", name);
}

struct RnnSpec {
  Cell cell = Cell::kRnn;
  int64_t gates = 1;         // 1, 3 (zrh) or 4 (iofc)
  int64_t directions = 1;    // 2 when bidirectional
  bool reverse = false;      // the single direction runs backwards
  bool batch_first = false;  // layout 1
  std::optional<double> clip;
  bool input_forget = false;
  bool linear_before_reset = false;
  std::vector<Activation> activations;  // per direction: RNN f; GRU f, g; LSTM f, g, h
};

// One direction's parameters, arranged for the recurrence.
struct DirectionWeights {
  at::Tensor wt;    // W^T [input, gates*hidden]
  at::Tensor rt;    // R^T [hidden, gates*hidden]
  at::Tensor bias;  // Wb + Rb, added to X·W^T; undefined without B. For GRU with
                    // linear_before_reset, Rb of the h gate is left out: it goes inside r·(...)
  at::Tensor rbh;   // that Rbh [hidden]; undefined otherwise
  at::Tensor pi, po, pf;  // LSTM peepholes [hidden]; undefined without P
};

using Weights = std::vector<DirectionWeights>;

Weights PrepareWeights(const RnnSpec& s, const at::Tensor& w, const at::Tensor& r,
                       const at::Tensor& b, const at::Tensor& p, at::ScalarType type) {
  if (w.dim() != 3 || r.dim() != 3 || w.size(0) != s.directions || r.size(0) != s.directions) {
    throw std::invalid_argument(
        fmt::format("W and R must be [{}, gates*hidden, ...], not {} and {}", s.directions,
                    model::Shape::Of(w.sizes().vec()).ToString(),
                    model::Shape::Of(r.sizes().vec()).ToString()));
  }
  const int64_t hidden = r.size(2);
  const int64_t gh = s.gates * hidden;
  if (w.size(1) != gh || r.size(1) != gh) {
    throw std::invalid_argument(
        fmt::format("W and R must have {} rows ({} gates of {})", gh, s.gates, hidden));
  }
  Weights out;
  for (int64_t d = 0; d < s.directions; ++d) {
    DirectionWeights dw;
    dw.wt = w[d].to(type).t().contiguous();
    dw.rt = r[d].to(type).t().contiguous();
    if (b.defined()) {
      const at::Tensor bd = b[d].to(type);
      at::Tensor wb = bd.narrow(0, 0, gh), rb = bd.narrow(0, gh, gh);
      if (s.cell == Cell::kGru && s.linear_before_reset) {
        dw.rbh = rb.narrow(0, 2 * hidden, hidden);
        rb = at::cat({rb.narrow(0, 0, 2 * hidden), at::zeros({hidden}, rb.options())});
      }
      dw.bias = wb + rb;
    }
    if (p.defined()) {
      const at::Tensor pd = p[d].to(type);
      dw.pi = pd.narrow(0, 0, hidden);
      dw.po = pd.narrow(0, hidden, hidden);
      dw.pf = pd.narrow(0, 2 * hidden, hidden);
    }
    out.push_back(std::move(dw));
  }
  return out;
}

struct DirectionResult {
  at::Tensor y;  // [seq, batch, hidden]; undefined when not asked for
  at::Tensor h;  // [batch, hidden]
  at::Tensor c;  // [batch, hidden], LSTM only
};

// For reversed variable-length sequences: index[t][b] = len_b - 1 - t for t < len_b, else t.
// Gathering with it reverses each sequence within its length; it is its own inverse.
at::Tensor ReverseIndex(const at::Tensor& lens, int64_t seq) {
  const at::Tensor t = at::arange(seq, lens.options()).unsqueeze(1);
  const at::Tensor l = lens.unsqueeze(0);
  return at::where(t < l, l - 1 - t, t);
}

DirectionResult RunDirection(const RnnSpec& s, const DirectionWeights& w, const Activation* act,
                             const at::Tensor& x, at::Tensor h, at::Tensor c,
                             const at::Tensor& lens, bool reverse, bool want_y) {
  const int64_t seq = x.size(0), batch = x.size(1), hidden = w.rt.size(0);
  at::Tensor xs = x, index;
  if (reverse && lens.defined()) {
    index = ReverseIndex(lens, seq);
    xs = x.gather(0, index.unsqueeze(2).expand({seq, batch, x.size(2)}));
  } else if (reverse) {
    xs = x.flip(0);
  }
  // Note [Recurrence on ATen]: the input projection of all steps at once.
  at::Tensor xw = at::matmul(xs, w.wt);
  if (w.bias.defined()) xw = xw + w.bias;
  auto clip = [&](const at::Tensor& v) { return s.clip ? at::clamp(v, -*s.clip, *s.clip) : v; };
  // active[t][b]: step t is within sequence b (only with sequence_lens shorter than seq).
  const at::Tensor active =
      lens.defined()
          ? (at::arange(seq, lens.options()).unsqueeze(1) < lens.unsqueeze(0)).unsqueeze(2)
          : at::Tensor();
  std::vector<at::Tensor> ys;
  for (int64_t t = 0; t < seq; ++t) {
    const at::Tensor xt = xw[t];
    at::Tensor nh, nc;
    switch (s.cell) {
      case Cell::kRnn:
        nh = act[0](clip(at::addmm(xt, h, w.rt)));
        break;
      case Cell::kGru: {
        const at::Tensor hzr =
            at::addmm(xt.narrow(1, 0, 2 * hidden), h, w.rt.narrow(1, 0, 2 * hidden));
        const at::Tensor z = act[0](clip(hzr.narrow(1, 0, hidden)));
        const at::Tensor r = act[0](clip(hzr.narrow(1, hidden, hidden)));
        const at::Tensor xh = xt.narrow(1, 2 * hidden, hidden);
        const at::Tensor rh = w.rt.narrow(1, 2 * hidden, hidden);
        at::Tensor pre;
        if (s.linear_before_reset) {
          at::Tensor lin = at::matmul(h, rh);
          if (w.rbh.defined()) lin = lin + w.rbh;
          pre = xh + r * lin;
        } else {
          pre = at::addmm(xh, r * h, rh);
        }
        const at::Tensor ht = act[1](clip(pre));
        nh = (1.0 - z) * ht + z * h;
        break;
      }
      case Cell::kLstm: {
        const at::Tensor g = at::addmm(xt, h, w.rt);  // gates in ONNX's order i, o, f, c
        at::Tensor gi = g.narrow(1, 0, hidden), go = g.narrow(1, hidden, hidden);
        at::Tensor gf = g.narrow(1, 2 * hidden, hidden), gc = g.narrow(1, 3 * hidden, hidden);
        if (w.pi.defined()) {
          gi = gi + w.pi * c;
          gf = gf + w.pf * c;
        }
        const at::Tensor i = act[0](clip(gi));
        const at::Tensor f = s.input_forget ? 1.0 - i : act[0](clip(gf));
        nc = f * c + i * act[1](clip(gc));
        if (w.po.defined()) go = go + w.po * nc;
        nh = act[0](clip(go)) * act[2](nc);
        break;
      }
    }
    if (active.defined()) {
      // Past its length a sequence keeps its state and outputs zeros.
      const at::Tensor on = active[t];
      nh = at::where(on, nh, h);
      if (nc.defined()) nc = at::where(on, nc, c);
      if (want_y) ys.push_back(at::where(on, nh, 0.0));
    } else if (want_y) {
      ys.push_back(nh);
    }
    h = nh;
    if (nc.defined()) c = nc;
  }
  DirectionResult r;
  if (want_y) {
    r.y = ys.empty() ? at::zeros({0, batch, hidden}, x.options()) : at::stack(ys, 0);
    if (reverse) {
      r.y = lens.defined() ? r.y.gather(0, index.unsqueeze(2).expand({seq, batch, hidden}))
                           : r.y.flip(0);
    }
  }
  r.h = h;
  r.c = c;
  if (lens.defined()) {
    // Like onnxruntime, an empty sequence's final state is zero (not the initial one).
    const at::Tensor nonempty = (lens > 0).unsqueeze(1);
    r.h = at::where(nonempty, r.h, 0.0);
    if (r.c.defined()) r.c = at::where(nonempty, r.c, 0.0);
  }
  return r;
}

Tensors RunRecurrent(const RnnSpec& s, const std::shared_ptr<const Weights>& prepared,
                     const Tensors& in, bool want_y) {
  auto opt = [&](size_t i) { return i < in.size() ? in[i] : at::Tensor(); };
  const at::ScalarType out_type = in[0].scalar_type();
  const at::ScalarType type = IsNarrowFloat(out_type) ? at::kFloat : out_type;
  at::Tensor x = s.batch_first ? in[0].transpose(0, 1) : in[0];
  x = x.to(type);
  if (x.dim() != 3) throw std::invalid_argument("X must have rank 3");
  const int64_t seq = x.size(0), batch = x.size(1);
  const Weights weights =
      prepared ? *prepared : PrepareWeights(s, in[1], in[2], opt(3), opt(7), type);
  const int64_t hidden = weights[0].rt.size(0);

  at::Tensor lens;
  if (opt(4).defined()) {
    lens = opt(4).to(at::kLong);
    if (lens.dim() != 1 || lens.size(0) != batch) {
      throw std::invalid_argument(fmt::format("sequence_lens must have {} values", batch));
    }
    if (lens.lt(0).any().item<bool>() || lens.gt(seq).any().item<bool>()) {
      throw std::invalid_argument(fmt::format("sequence_lens must lie in [0, {}]", seq));
    }
    if (lens.eq(seq).all().item<bool>()) lens = at::Tensor();  // no masking needed
  }
  auto initial = [&](size_t i) {
    at::Tensor v = opt(i);
    if (!v.defined()) return at::zeros({s.directions, batch, hidden}, x.options());
    return (s.batch_first ? v.transpose(0, 1) : v).to(type);
  };
  const at::Tensor h0 = initial(5);
  const at::Tensor c0 = s.cell == Cell::kLstm ? initial(6) : at::Tensor();

  const size_t per_direction = s.activations.size() / static_cast<size_t>(s.directions);
  std::vector<at::Tensor> ys, hs, cs;
  for (int64_t d = 0; d < s.directions; ++d) {
    DirectionResult r = RunDirection(
        s, weights[static_cast<size_t>(d)], &s.activations[static_cast<size_t>(d) * per_direction],
        x, h0[d], c0.defined() ? c0[d] : at::Tensor(), lens, s.reverse || d == 1, want_y);
    if (want_y) ys.push_back(r.y);
    hs.push_back(r.h);
    if (r.c.defined()) cs.push_back(r.c);
  }
  // Y [seq, directions, batch, hidden]; Y_h, Y_c [directions, batch, hidden]. Layout 1 puts
  // batch first in all three.
  at::Tensor y = want_y ? at::stack(ys, 1) : at::Tensor();
  at::Tensor yh = at::stack(hs, 0);
  at::Tensor yc = cs.empty() ? at::Tensor() : at::stack(cs, 0);
  if (s.batch_first) {
    if (y.defined()) y = y.permute({2, 0, 1, 3});
    yh = yh.transpose(0, 1);
    if (yc.defined()) yc = yc.transpose(0, 1);
  }
  Tensors out{y.defined() ? y.to(out_type) : y, yh.to(out_type)};
  if (s.cell == Cell::kLstm) out.push_back(yc.to(out_type));
  return out;
}

Builder RecurrentBuilder(Cell cell) {
  return [cell](const NodeView& n) -> Kernel {
    RnnSpec s;
    s.cell = cell;
    s.gates = cell == Cell::kRnn ? 1 : cell == Cell::kGru ? 3 : 4;
    const std::string direction = n.String("direction", "forward");
    if (direction == "bidirectional") {
      s.directions = 2;
    } else if (direction == "reverse") {
      s.reverse = true;
    } else if (direction != "forward") {
      n.Fail("direction '{}' is not forward, reverse or bidirectional", direction);
    }
    const int64_t layout = n.Int("layout", 0);
    if (layout != 0 && layout != 1) n.Fail("layout {} is not 0 or 1", layout);
    s.batch_first = layout == 1;
    if (n.Has("clip")) {
      const float clip = n.Float("clip", 0);
      if (!(clip > 0)) n.Fail("clip {} is not positive", clip);
      s.clip = clip;
    }
    if (cell == Cell::kLstm) s.input_forget = n.Int("input_forget", 0) != 0;
    if (cell == Cell::kGru) s.linear_before_reset = n.Int("linear_before_reset", 0) != 0;

    // Activations: one set per direction; a single set serves both directions.
    std::vector<std::string> names;
    for (const auto& a : n.node().proto->attribute()) {
      if (a.name() == "activations") names.assign(a.strings().begin(), a.strings().end());
    }
    const size_t per_direction = cell == Cell::kRnn ? 1 : cell == Cell::kGru ? 2 : 3;
    if (names.empty()) {
      names = cell == Cell::kRnn   ? std::vector<std::string>{"Tanh"}
              : cell == Cell::kGru ? std::vector<std::string>{"Sigmoid", "Tanh"}
                                   : std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"};
    }
    if (names.size() == per_direction && s.directions == 2) {
      const std::vector<std::string> one = names;
      names.insert(names.end(), one.begin(), one.end());
    }
    if (names.size() != per_direction * static_cast<size_t>(s.directions)) {
      n.Fail("{} activations given; {} direction(s) need {}", names.size(), s.directions,
             per_direction * static_cast<size_t>(s.directions));
    }
    const std::vector<float> alphas = n.Floats("activation_alpha");
    const std::vector<float> betas = n.Floats("activation_beta");
    size_t next_alpha = 0, next_beta = 0;
    for (const auto& name : names) {
      s.activations.push_back(ParseActivation(n, name, alphas, &next_alpha, betas, &next_beta));
    }

    // Shapes the graph states: check them now rather than at the first run.
    const model::Shape& rs = n.InputShape(2);
    if (rs.rank_known && rs.rank() == 3 && rs.dims[2] >= 0 && n.Has("hidden_size") &&
        rs.dims[2] != n.Int("hidden_size", 0)) {
      n.Fail("hidden_size {} disagrees with R's shape {}", n.Int("hidden_size", 0), rs.ToString());
    }
    const model::Shape& ws = n.InputShape(1);
    if (ws.rank_known && (ws.rank() != 3 || (ws.dims[0] >= 0 && ws.dims[0] != s.directions))) {
      n.Fail("W has shape {}; {} direction(s) need [{}, gates*hidden, input]", ws.ToString(),
             s.directions, s.directions);
    }

    // Weights that are constants are arranged once.
    std::shared_ptr<const Weights> prepared;
    const bool constant = n.Constant(1) && n.Constant(2) && (!n.HasInput(3) || n.Constant(3)) &&
                          (!n.HasInput(7) || n.Constant(7));
    if (constant) {
      const int32_t xdtype = n.InputDtype(0);
      at::ScalarType type = xdtype ? ScalarTypeOf(xdtype) : n.Constant(1)->scalar_type();
      if (IsNarrowFloat(type)) type = at::kFloat;
      auto get = [&](size_t i) { return n.Constant(i) ? *n.Constant(i) : at::Tensor(); };
      try {
        prepared = std::make_shared<const Weights>(
            PrepareWeights(s, get(1), get(2), get(3), get(7), type));
      } catch (const std::invalid_argument& e) {
        n.Fail("{}", e.what());
      }
    }
    const bool want_y = OutputWanted(n, 0);
    return [s, prepared, want_y](const Tensors& in) -> Tensors {
      return RunRecurrent(s, prepared, in, want_y);
    };
  };
}

// ---------------------------------------------------------------------------------------------
// TopK, CumSum, NonZero, OneHot, Trilu

Builder TopKBuilder() {
  return [](const NodeView& n) -> Kernel {
    const int64_t axis = n.Int("axis", -1);
    CheckAxis(n, 0, axis);
    // largest and sorted arrived at opset 11; sorted=0 leaves the order open, so sorting is right.
    const bool largest = n.opset() < 11 || n.Int("largest", 1) != 0;
    std::optional<int64_t> k;
    if (n.opset() < 10) {
      if (!n.Has("k")) n.Fail("the k attribute is missing");
      k = n.Int("k", 0);
    } else {
      k = ConstantScalar(n, 1);
    }
    if (k && *k < 0) n.Fail("K is {}; it must not be negative", *k);
    return [axis, largest, k](const Tensors& in) -> Tensors {
      const at::Tensor& x = in[0];
      const int64_t a = RunAxis(axis, x.dim());
      const int64_t count = k ? *k : ScalarOf(in[1], "K");
      const int64_t size = x.dim() == 0 ? 1 : x.size(a);
      if (count < 0 || count > size) {
        throw std::invalid_argument(fmt::format("K {} is outside [0, {}]", count, size));
      }
      // ONNX breaks ties by the lower index, which a stable sort keeps; at::topk does not promise
      // it.
      auto [values, indices] = at::sort(x, /*stable=*/true, a, /*descending=*/largest);
      return {values.narrow(a, 0, count), indices.narrow(a, 0, count)};
    };
  };
}

Builder CumSumBuilder() {
  return [](const NodeView& n) -> Kernel {
    const bool exclusive = n.Int("exclusive", 0) != 0;
    const bool reverse = n.Int("reverse", 0) != 0;
    const std::optional<int64_t> axis = ConstantScalar(n, 1);
    if (axis) CheckAxis(n, 0, *axis);
    return [exclusive, reverse, axis](const Tensors& in) -> Tensors {
      const at::ScalarType t = in[0].scalar_type();
      const at::Tensor x = Widened(in[0]);
      const int64_t a = RunAxis(axis ? *axis : ScalarOf(in[1], "axis"), x.dim());
      const at::Tensor src = reverse ? x.flip(a) : x;
      at::Tensor y = at::cumsum(src, a, src.scalar_type());  // int32 stays int32
      if (exclusive && y.dim() > 0 && y.size(a) > 0) {
        // Shift by one along the axis (subtracting x would round differently and spread NaN).
        y = at::cat({at::zeros_like(y.narrow(a, 0, 1)), y.narrow(a, 0, y.size(a) - 1)}, a);
      }
      if (reverse) y = y.flip(a);
      return {y.to(t)};
    };
  };
}

Builder NonZeroBuilder() {
  return [](const NodeView&) -> Kernel {
    return [](const Tensors& in) -> Tensors {
      // [rank, count], numpy's layout; a scalar counts as a 1-D tensor, as in numpy.
      const at::Tensor x = in[0].dim() == 0 ? in[0].reshape({1}) : in[0];
      return {at::nonzero(x).t().contiguous()};
    };
  };
}

Builder OneHotBuilder() {
  return [](const NodeView& n) -> Kernel {
    const int64_t axis = n.Int("axis", -1);
    CheckAxis(n, 0, axis, 1);
    // Negative indices count from the end since opset 11; before, they are out of range.
    const bool wrap = n.opset() >= 11;
    const std::optional<int64_t> depth = ConstantScalar(n, 1);
    if (depth && *depth <= 0) n.Fail("depth {} is not positive", *depth);
    return [axis, wrap, depth](const Tensors& in) -> Tensors {
      at::Tensor index = in[0].to(at::kLong);
      const int64_t d = depth ? *depth : ScalarOf(in[1], "depth");
      if (d <= 0) throw std::invalid_argument(fmt::format("depth {} is not positive", d));
      if (wrap) index = at::where(index < 0, index + d, index);
      const int64_t rank = index.dim() + 1;
      const int64_t a = RunAxis(axis, rank);
      std::vector<int64_t> shape(static_cast<size_t>(rank - a), 1);
      shape[0] = d;
      const at::Tensor classes = at::arange(d, index.options()).reshape(shape);
      // Out-of-range indices match no class and give all off values.
      const at::Tensor hot = index.unsqueeze(a) == classes;
      const at::Tensor& values = in[2];
      if (values.numel() != 2) throw std::invalid_argument("values must hold [off, on]");
      const at::Tensor flat = values.reshape({2});
      return {at::where(hot, flat[1], flat[0])};
    };
  };
}

Builder TriluBuilder() {
  return [](const NodeView& n) -> Kernel {
    const bool upper = n.Int("upper", 1) != 0;
    const bool has_k = n.HasInput(1);
    const std::optional<int64_t> k = has_k ? ConstantScalar(n, 1) : std::optional<int64_t>(0);
    const model::Shape& s = n.InputShape(0);
    if (s.rank_known && s.rank() < 2) n.Fail("input has rank {}; Trilu needs 2 or more", s.rank());
    return [upper, k](const Tensors& in) -> Tensors {
      const int64_t diagonal = k ? *k : ScalarOf(in[1], "k");
      return {upper ? at::triu(in[0], diagonal) : at::tril(in[0], diagonal)};
    };
  };
}

}  // namespace

void AddSequenceOps(std::vector<OpEntry>* t) {
  AddTypeChecked(t, "RNN", RecurrentBuilder(Cell::kRnn), 1);
  AddTypeChecked(t, "GRU", RecurrentBuilder(Cell::kGru), 1);
  AddTypeChecked(t, "LSTM", RecurrentBuilder(Cell::kLstm), 1);
  AddTypeChecked(t, "TopK", TopKBuilder(), 1);
  AddTypeChecked(t, "CumSum", CumSumBuilder(), 11);
  AddTypeChecked(t, "NonZero", NonZeroBuilder(), 9);
  AddTypeChecked(t, "OneHot", OneHotBuilder(), 9);
  AddTypeChecked(t, "Trilu", TriluBuilder(), 14);
}

}  // namespace plaster::engine::torch_engine
