#include "model/op_cost.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <unordered_map>

#include "core/error.h"
#include "core/units.h"

namespace plaster::model {
namespace {

// Thrown inside a formula when something it needs is unknown; becomes an uncounted cost.
struct Uncountable {
  std::string reason;
};

// Multiplication that turns overflow into "uncountable" rather than a wrong number.
int64_t Mul(int64_t a, int64_t b) {
  int64_t out = 0;
  if (!CheckedMul(a, b, &out)) throw Uncountable{"the count overflows 64 bits"};
  return out;
}

int64_t Add(int64_t a, int64_t b) {
  if (a > INT64_MAX - b) throw Uncountable{"the count overflows 64 bits"};
  return a + b;
}

// What a formula sees of its node.
class Ctx {
 public:
  Ctx(const Graph& graph, const NodeInfo& node) : graph_(graph), node_(node) {}

  bool HasInput(size_t i) const { return i < node_.inputs.size() && node_.inputs[i] >= 0; }
  size_t InputCount() const { return node_.inputs.size(); }

  const Shape& In(size_t i) const { return ShapeOf(node_.inputs, i, "input"); }
  const Shape& Out(size_t i = 0) const { return ShapeOf(node_.outputs, i, "output"); }

  int64_t InElements(size_t i) const { return Elements(In(i), node_.inputs, i); }
  int64_t OutElements(size_t i = 0) const { return Elements(Out(i), node_.outputs, i); }

  int64_t Dim(const Shape& s, int64_t axis) const {
    const auto rank = static_cast<int64_t>(s.rank());
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank || s.dims[static_cast<size_t>(axis)] < 0) {
      throw Uncountable{"a dimension it needs is unknown"};
    }
    return s.dims[static_cast<size_t>(axis)];
  }

  const onnx::AttributeProto* Attr(const char* name) const {
    for (const auto& a : node_.proto->attribute()) {
      if (a.name() == name) return &a;
    }
    return nullptr;
  }
  int64_t AttrInt(const char* name, int64_t fallback) const {
    const auto* a = Attr(name);
    return a ? a->i() : fallback;
  }
  float AttrFloat(const char* name, float fallback) const {
    const auto* a = Attr(name);
    return a ? a->f() : fallback;
  }
  std::string AttrString(const char* name, const std::string& fallback) const {
    const auto* a = Attr(name);
    return a ? a->s() : fallback;
  }
  std::vector<int64_t> AttrInts(const char* name) const {
    const auto* a = Attr(name);
    if (!a) return {};
    return {a->ints().begin(), a->ints().end()};
  }

 private:
  const Shape& ShapeOf(const std::vector<int>& ids, size_t i, const char* what) const {
    if (i >= ids.size() || ids[i] < 0) throw Uncountable{fmt::format("{} {} is missing", what, i)};
    const auto& t = graph_.tensor(ids[i]);
    if (!t.shape.rank_known) {
      throw Uncountable{fmt::format("the shape of {} '{}' is unknown", what, t.name)};
    }
    return t.shape;
  }
  int64_t Elements(const Shape& s, const std::vector<int>& ids, size_t i) const {
    auto n = s.NumElements();
    if (!n) {
      throw Uncountable{fmt::format("the shape of '{}' is not fully known ({})",
                                    graph_.tensor(ids[i]).name, s.ToString())};
    }
    return *n;
  }

  const Graph& graph_;
  const NodeInfo& node_;
};

int64_t Product(const std::vector<int64_t>& dims, size_t from = 0) {
  int64_t n = 1;
  for (size_t k = from; k < dims.size(); ++k) {
    if (dims[k] < 0) throw Uncountable{"a dimension it needs is unknown"};
    n = Mul(n, dims[k]);
  }
  return n;
}

OpCost Contraction(int64_t macs, int64_t other = 0) {
  return {CostRule::kContraction, macs, other, {}};
}
OpCost Arithmetic(int64_t flops) { return {CostRule::kArithmetic, 0, flops, {}}; }
OpCost Movement() { return {CostRule::kDataMovement, 0, 0, {}}; }

// ---- Formulas. Each is documented in docs/metrics.md ("How MACs and FLOPs are counted").

// Conv family: every output element is a dot product over (C/group) × kernel, which is exactly
// prod(W.shape[1:]); the bias adds one FLOP per output element.
OpCost ConvCost(const Ctx& c, size_t x, size_t w, std::optional<size_t> bias) {
  (void)x;
  const int64_t per_output = Product(c.In(w).dims, 1);
  const int64_t outputs = c.OutElements();
  const int64_t bias_flops = bias && c.HasInput(*bias) ? outputs : 0;
  return Contraction(Mul(outputs, per_output), bias_flops);
}

// ConvTranspose: every input element is scattered through (M/group) × kernel weights.
OpCost ConvTransposeCost(const Ctx& c) {
  const int64_t macs = Mul(c.InElements(0), Product(c.In(1).dims, 1));
  return Contraction(macs, c.HasInput(2) ? c.OutElements() : 0);
}

// MatMul family: every output element is a dot product of length K (A's last axis), batch axes
// broadcast included, so attention's Q·Kᵀ and P·V count in full.
OpCost MatMulCost(const Ctx& c, size_t a) {
  const int64_t k = c.Dim(c.In(a), -1);
  return Contraction(Mul(c.OutElements(), k));
}

OpCost GemmCost(const Ctx& c) {
  const Shape& a = c.In(0);
  const int64_t k = c.AttrInt("transA", 0) ? c.Dim(a, 0) : c.Dim(a, 1);
  const int64_t outputs = c.OutElements();
  int64_t other = 0;
  if (c.AttrFloat("alpha", 1.0f) != 1.0f) other = Add(other, outputs);
  if (c.HasInput(2)) {
    other = Add(other, outputs);  // + C
    if (c.AttrFloat("beta", 1.0f) != 1.0f) other = Add(other, outputs);
  }
  return Contraction(Mul(outputs, k), other);
}

// Einsum: with two or more operands, one multiply-accumulate per point of the full index space
// (every letter, summed or kept) per extra operand; with one operand, one add per input element
// when something is summed, else a pure transpose.
OpCost EinsumCost(const Ctx& c) {
  std::string eq = c.AttrString("equation", "");
  eq.erase(std::remove(eq.begin(), eq.end(), ' '), eq.end());
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<std::string> terms;
  for (size_t start = 0;;) {
    size_t comma = lhs.find(',', start);
    terms.push_back(lhs.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != c.InputCount()) throw Uncountable{"the equation and inputs disagree"};
  std::map<char, int64_t> size;
  std::vector<int64_t> ellipsis;
  for (size_t t = 0; t < terms.size(); ++t) {
    const Shape& s = c.In(t);
    const std::string& term = terms[t];
    const size_t dots = term.find("...");
    const size_t letters = term.size() - (dots == std::string::npos ? 0 : 3);
    if (s.rank() < letters) throw Uncountable{"the equation and input ranks disagree"};
    const size_t ellipsis_rank = s.rank() - letters;
    size_t axis = 0;
    for (size_t k = 0; k < term.size(); ++k) {
      if (dots != std::string::npos && k == dots) {
        // Broadcast the ellipsis axes, right-aligned.
        if (ellipsis.size() < ellipsis_rank)
          ellipsis.insert(ellipsis.begin(), ellipsis_rank - ellipsis.size(), 1);
        for (size_t e = 0; e < ellipsis_rank; ++e) {
          int64_t& slot = ellipsis[ellipsis.size() - ellipsis_rank + e];
          slot = std::max(slot, c.Dim(s, static_cast<int64_t>(axis + e)));
        }
        axis += ellipsis_rank;
        k += 2;
        continue;
      }
      int64_t& slot = size[term[k]];
      slot = std::max(slot, c.Dim(s, static_cast<int64_t>(axis)));
      ++axis;
    }
  }
  int64_t space = Product(ellipsis);
  for (const auto& [letter, n] : size) space = Mul(space, n);
  if (terms.size() >= 2) {
    return Contraction(Mul(space, static_cast<int64_t>(terms.size() - 1)));
  }
  // One operand: ONNX infers only the output's rank, so read what is summed off the equation: a
  // letter (or the ellipsis) of the input that the output drops. Implicit output: the letters
  // that occur once, so a repeated letter is summed.
  const std::string& term = terms[0];
  bool reduces = false;
  const std::string rhs = arrow == std::string::npos ? "" : eq.substr(arrow + 2);
  for (char ch : term) {
    if (ch == '.') continue;
    const bool kept = arrow == std::string::npos ? std::count(term.begin(), term.end(), ch) == 1
                                                 : rhs.find(ch) != std::string::npos;
    if (!kept) reduces = true;
  }
  if (arrow != std::string::npos && term.find("...") != std::string::npos &&
      rhs.find("...") == std::string::npos && !ellipsis.empty()) {
    reduces = true;
  }
  return reduces ? Arithmetic(c.InElements(0)) : Movement();
}

// Recurrent layers: per time step, per batch row, per direction, `gates` matrix-vector products
// of size hidden × (input + hidden); then bias adds, gate activations and the state update.
OpCost RecurrentCost(const Ctx& c, int64_t gates, int64_t update_flops_per_hidden) {
  const Shape& x = c.In(0);
  const bool batch_first = c.AttrInt("layout", 0) == 1;
  const int64_t seq = c.Dim(x, batch_first ? 1 : 0);
  const int64_t batch = c.Dim(x, batch_first ? 0 : 1);
  const int64_t input = c.Dim(x, 2);
  const int64_t hidden = c.AttrInt("hidden_size", -1);
  if (hidden <= 0) {
    throw Uncountable{"attribute 'hidden_size' is missing"};
  }
  const int64_t dirs = c.AttrString("direction", "forward") == "bidirectional" ? 2 : 1;
  const int64_t rows = Mul(Mul(seq, batch), dirs);
  const int64_t macs = Mul(rows, Mul(Mul(gates, hidden), Add(input, hidden)));
  const int64_t bias = c.HasInput(3) ? Mul(2 * gates, hidden) : 0;
  const int64_t per_row = Add(Add(bias, Mul(gates, hidden)), Mul(update_flops_per_hidden, hidden));
  return Contraction(macs, Mul(rows, per_row));
}

// Windowed pooling: `per_tap` FLOPs per kernel tap per output element, plus `per_output`.
OpCost PoolCost(const Ctx& c, int64_t per_tap, int64_t per_output) {
  const int64_t taps = Product(c.AttrInts("kernel_shape"));
  return Arithmetic(Mul(c.OutElements(), Add(Mul(taps, per_tap), per_output)));
}

OpCost PerInput(const Ctx& c, int64_t per_element, int64_t per_output = 0) {
  // The output shape only when it is used: NonZero's, for one, is never known before running.
  const int64_t outputs = per_output ? Mul(c.OutElements(), per_output) : 0;
  return Arithmetic(Add(Mul(c.InElements(0), per_element), outputs));
}

OpCost PerOutput(const Ctx& c, int64_t per_element) {
  return Arithmetic(Mul(c.OutElements(), per_element));
}

// Variadic elementwise (Sum, Max, Mean...): n inputs take n-1 binary ops per output element.
OpCost Variadic(const Ctx& c, int64_t extra_per_output) {
  const auto n = static_cast<int64_t>(c.InputCount());
  return PerOutput(c, std::max<int64_t>(n - 1, 0) + extra_per_output);
}

OpCost ResizeCost(const Ctx& c) {
  const std::string mode = c.AttrString("mode", "nearest");
  if (mode == "nearest") return Movement();
  const Shape& in = c.In(0);
  const Shape& out = c.Out();
  int64_t axes = 0;
  for (size_t k = 0; k < std::min(in.rank(), out.rank()); ++k) {
    if (in.dims[k] != out.dims[k]) ++axes;
  }
  // Separable 1-D interpolation per resized axis: 2 taps (linear) or 4 (cubic), a multiply and an
  // add per tap, less the first add.
  const int64_t taps = mode == "cubic" ? 4 : 2;
  return PerOutput(c, axes * (2 * taps - 1));
}

OpCost TopKCost(const Ctx& c) {
  // A heap of k over the axis: about n·log2(k) comparisons.
  const int64_t n = c.InElements(0);
  const int64_t k = std::max<int64_t>(c.Dim(c.Out(), c.AttrInt("axis", -1)), 1);
  const auto log_k = static_cast<int64_t>(std::ceil(std::log2(static_cast<double>(k) + 1.0)));
  return Arithmetic(Mul(n, std::max<int64_t>(log_k, 1)));
}

using Formula = std::function<OpCost(const Ctx&)>;

const std::unordered_map<std::string, Formula>& Table() {
  static const auto* table = [] {
    auto* t = new std::unordered_map<std::string, Formula>();
    auto& m = *t;
    // Contractions.
    m["Conv"] = [](const Ctx& c) { return ConvCost(c, 0, 1, 2); };
    m["ConvInteger"] = [](const Ctx& c) { return ConvCost(c, 0, 1, std::nullopt); };
    m["QLinearConv"] = [](const Ctx& c) { return ConvCost(c, 0, 3, 8); };
    m["ConvTranspose"] = ConvTransposeCost;
    m["MatMul"] = [](const Ctx& c) { return MatMulCost(c, 0); };
    m["MatMulInteger"] = [](const Ctx& c) { return MatMulCost(c, 0); };
    m["QLinearMatMul"] = [](const Ctx& c) { return MatMulCost(c, 0); };
    m["Gemm"] = GemmCost;
    m["Einsum"] = EinsumCost;
    m["LSTM"] = [](const Ctx& c) { return RecurrentCost(c, 4, 5); };
    m["GRU"] = [](const Ctx& c) { return RecurrentCost(c, 3, 4); };
    m["RNN"] = [](const Ctx& c) { return RecurrentCost(c, 1, 0); };
    // Pooling.
    m["MaxPool"] = [](const Ctx& c) { return PoolCost(c, 1, 0); };
    m["AveragePool"] = [](const Ctx& c) { return PoolCost(c, 1, 1); };
    m["LpPool"] = [](const Ctx& c) { return PoolCost(c, 2, 1); };
    m["GlobalMaxPool"] = [](const Ctx& c) { return PerInput(c, 1); };
    m["GlobalAveragePool"] = [](const Ctx& c) { return PerInput(c, 1, 1); };
    m["GlobalLpPool"] = [](const Ctx& c) { return PerInput(c, 2, 1); };
    // Normalisation (inference): BatchNorm folds to a per-channel scale and shift.
    m["BatchNormalization"] = [](const Ctx& c) { return PerInput(c, 2); };
    m["InstanceNormalization"] = [](const Ctx& c) { return PerInput(c, 8); };
    m["LayerNormalization"] = [](const Ctx& c) { return PerInput(c, 8); };
    m["MeanVarianceNormalization"] = [](const Ctx& c) { return PerInput(c, 6); };
    m["LpNormalization"] = [](const Ctx& c) { return PerInput(c, 3); };
    m["LRN"] = [](const Ctx& c) { return PerInput(c, 2 * c.AttrInt("size", 1) + 3); };
    // Softmax family: max, subtract, exp, sum, divide (or log).
    for (const char* op : {"Softmax", "LogSoftmax"})
      m[op] = [](const Ctx& c) { return PerInput(c, 5); };
    m["Hardmax"] = [](const Ctx& c) { return PerInput(c, 1); };
    // Elementwise: one FLOP per output element, whatever the function.
    for (const char* op : {"Relu",     "LeakyRelu",   "PRelu",
                           "Sigmoid",  "HardSigmoid", "HardSwish",
                           "Tanh",     "Exp",         "Log",
                           "Sqrt",     "Reciprocal",  "Neg",
                           "Abs",      "Ceil",        "Floor",
                           "Round",    "Sign",        "Erf",
                           "Elu",      "Selu",        "Celu",
                           "Softplus", "Softsign",    "ThresholdedRelu",
                           "Sin",      "Cos",         "Tan",
                           "Asin",     "Acos",        "Atan",
                           "Sinh",     "Cosh",        "Asinh",
                           "Acosh",    "Atanh",       "Not",
                           "IsNaN",    "IsInf",       "Clip",
                           "Mish",     "Shrink",      "BitShift",
                           "Add",      "Sub",         "Mul",
                           "Div",      "Pow",         "Mod",
                           "Equal",    "Greater",     "GreaterOrEqual",
                           "Less",     "LessOrEqual", "And",
                           "Or",       "Xor",         "Where",
                           "NonZero"}) {
      m[op] = [](const Ctx& c) { return PerOutput(c, 1); };
    }
    m["NonZero"] = [](const Ctx& c) { return PerInput(c, 1); };
    m["Sum"] = [](const Ctx& c) { return Variadic(c, 0); };
    m["Max"] = [](const Ctx& c) { return Variadic(c, 0); };
    m["Min"] = [](const Ctx& c) { return Variadic(c, 0); };
    m["Mean"] = [](const Ctx& c) { return Variadic(c, 1); };
    // Quantisation: scale and shift per element (with rounding and saturation as one).
    m["QuantizeLinear"] = [](const Ctx& c) { return PerInput(c, 3); };
    m["DequantizeLinear"] = [](const Ctx& c) { return PerInput(c, 2); };
    m["DynamicQuantizeLinear"] = [](const Ctx& c) { return PerInput(c, 5); };
    // Reductions: one op per input element (two where the element is transformed first).
    for (const char* op :
         {"ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ArgMax", "ArgMin", "CumSum"}) {
      m[op] = [](const Ctx& c) { return PerInput(c, 1); };
    }
    m["ReduceMean"] = [](const Ctx& c) { return PerInput(c, 1, 1); };
    m["ReduceSumSquare"] = [](const Ctx& c) { return PerInput(c, 2); };
    m["ReduceL1"] = [](const Ctx& c) { return PerInput(c, 2); };
    m["ReduceL2"] = [](const Ctx& c) { return PerInput(c, 2, 1); };
    m["ReduceLogSum"] = [](const Ctx& c) { return PerInput(c, 1, 1); };
    m["ReduceLogSumExp"] = [](const Ctx& c) { return PerInput(c, 2, 1); };
    m["TopK"] = TopKCost;
    m["Resize"] = ResizeCost;
    m["Upsample"] = ResizeCost;
    // Data movement: no arithmetic.
    for (const char* op : {"Reshape",
                           "Flatten",
                           "Squeeze",
                           "Unsqueeze",
                           "Transpose",
                           "Concat",
                           "Split",
                           "Slice",
                           "Gather",
                           "GatherElements",
                           "GatherND",
                           "Scatter",
                           "ScatterND",
                           "ScatterElements",
                           "Expand",
                           "Tile",
                           "Pad",
                           "Identity",
                           "Dropout",
                           "Shape",
                           "Size",
                           "Constant",
                           "ConstantOfShape",
                           "Range",
                           "Cast",
                           "CastLike",
                           "DepthToSpace",
                           "SpaceToDepth",
                           "OneHot",
                           "EyeLike",
                           "Trilu",
                           "ReverseSequence",
                           "Compress",
                           "SequenceAt",
                           "SequenceConstruct",
                           "SequenceEmpty",
                           "SequenceInsert",
                           "SequenceErase",
                           "SequenceLength",
                           "SplitToSequence",
                           "ConcatFromSequence",
                           "Optional",
                           "OptionalGetElement",
                           "OptionalHasElement"}) {
      m[op] = [](const Ctx&) { return Movement(); };
    }
    return t;
  }();
  return *table;
}

}  // namespace

OpCost CostOfNode(const Graph& graph, const NodeInfo& node) {
  OpCost uncounted;
  if (!node.domain.empty()) {
    uncounted.reason =
        fmt::format("no cost formula for op type '{}' of domain '{}'", node.op_type, node.domain);
    return uncounted;
  }
  if (node.op_type == "If" || node.op_type == "Loop" || node.op_type == "Scan") {
    uncounted.reason = "control flow: its cost depends on run-time branches and trip counts";
    return uncounted;
  }
  const auto& table = Table();
  auto it = table.find(node.op_type);
  if (it == table.end()) {
    uncounted.reason = fmt::format("no cost formula for op type '{}'", node.op_type);
    return uncounted;
  }
  try {
    return it->second(Ctx(graph, node));
  } catch (const Uncountable& u) {
    uncounted.reason = u.reason;
    return uncounted;
  }
}

std::vector<std::string> CountedOpTypes() {
  std::vector<std::string> ops;
  for (const auto& [op, formula] : Table()) ops.push_back(op);
  std::sort(ops.begin(), ops.end());
  return ops;
}

const char* CostRuleName(CostRule rule) {
  switch (rule) {
    case CostRule::kUncounted:
      return "uncounted";
    case CostRule::kContraction:
      return "contraction";
    case CostRule::kArithmetic:
      return "arithmetic";
    case CostRule::kDataMovement:
      return "data movement";
  }
  return "uncounted";
}

}  // namespace plaster::model
