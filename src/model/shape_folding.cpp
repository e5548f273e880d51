#include "model/shape_folding.h"

#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <cmath>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"
#include "model/dtype.h"

namespace plaster::model {
namespace {

using onnx::TensorProto;

// Folding only ever touches small tensors: shapes, indices, scalars.
constexpr int64_t kMaxFoldElements = 4096;

// A small constant tensor. Integer and bool types keep exact int64 values; floating types double.
struct Const {
  int32_t dtype = TensorProto::INT64;
  std::vector<int64_t> dims;
  std::vector<int64_t> i;
  std::vector<double> f;

  bool is_float() const { return IsFloatingDtype(dtype); }
  int64_t size() const {
    return is_float() ? static_cast<int64_t>(f.size()) : static_cast<int64_t>(i.size());
  }
  double F(int64_t k) const {
    return is_float() ? f[static_cast<size_t>(k)] : static_cast<double>(i[static_cast<size_t>(k)]);
  }
  int64_t I(int64_t k) const {
    return is_float() ? static_cast<int64_t>(f[static_cast<size_t>(k)]) : i[static_cast<size_t>(k)];
  }
};

int64_t Count(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0 || (d > 0 && n > kMaxFoldElements / d)) return kMaxFoldElements + 1;
    n *= d;
  }
  return n;
}

std::optional<Const> FromTensor(const TensorProto& t) {
  Const c;
  c.dtype = t.data_type();
  c.dims.assign(t.dims().begin(), t.dims().end());
  const int64_t n = Count(c.dims);
  if (n > kMaxFoldElements || t.data_location() == TensorProto::EXTERNAL) return std::nullopt;
  const bool raw = t.has_raw_data();
  auto raw_at = [&](int64_t k, size_t width, void* out) {
    std::memcpy(out, t.raw_data().data() + static_cast<size_t>(k) * width, width);
  };
  const size_t width = static_cast<size_t>(DtypeSize(c.dtype));
  if (raw && t.raw_data().size() != static_cast<size_t>(n) * width) return std::nullopt;
  for (int64_t k = 0; k < n; ++k) {
    const int ki = static_cast<int>(k);
    switch (c.dtype) {
      case TensorProto::INT64: {
        int64_t v = 0;
        if (raw)
          raw_at(k, 8, &v);
        else if (ki < t.int64_data_size())
          v = t.int64_data(ki);
        else
          return std::nullopt;
        c.i.push_back(v);
        break;
      }
      case TensorProto::INT32:
      case TensorProto::BOOL:
      case TensorProto::INT8:
      case TensorProto::UINT8: {
        int64_t v = 0;
        if (raw) {
          if (width == 4) {
            int32_t x;
            raw_at(k, 4, &x);
            v = x;
          } else if (c.dtype == TensorProto::INT8) {
            int8_t x;
            raw_at(k, 1, &x);
            v = x;
          } else {
            uint8_t x;
            raw_at(k, 1, &x);
            v = x;
          }
        } else if (ki < t.int32_data_size()) {
          v = t.int32_data(ki);
        } else {
          return std::nullopt;
        }
        c.i.push_back(v);
        break;
      }
      case TensorProto::FLOAT: {
        float v = 0;
        if (raw)
          raw_at(k, 4, &v);
        else if (ki < t.float_data_size())
          v = t.float_data(ki);
        else
          return std::nullopt;
        c.f.push_back(v);
        break;
      }
      case TensorProto::DOUBLE: {
        double v = 0;
        if (raw)
          raw_at(k, 8, &v);
        else if (ki < t.double_data_size())
          v = t.double_data(ki);
        else
          return std::nullopt;
        c.f.push_back(v);
        break;
      }
      default:
        return std::nullopt;
    }
  }
  return c;
}

TensorProto ToTensor(const Const& c, const std::string& name) {
  TensorProto t;
  t.set_name(name);
  t.set_data_type(c.dtype);
  for (int64_t d : c.dims) t.add_dims(d);
  for (int64_t k = 0; k < c.size(); ++k) {
    switch (c.dtype) {
      case TensorProto::INT64:
        t.add_int64_data(c.i[static_cast<size_t>(k)]);
        break;
      case TensorProto::FLOAT:
        t.add_float_data(static_cast<float>(c.f[static_cast<size_t>(k)]));
        break;
      case TensorProto::DOUBLE:
        t.add_double_data(c.f[static_cast<size_t>(k)]);
        break;
      default:
        t.add_int32_data(static_cast<int32_t>(c.i[static_cast<size_t>(k)]));
        break;
    }
  }
  return t;
}

Const Make(int32_t dtype, std::vector<int64_t> dims) {
  Const c;
  c.dtype = dtype;
  c.dims = std::move(dims);
  if (c.is_float())
    c.f.assign(static_cast<size_t>(Count(c.dims)), 0.0);
  else
    c.i.assign(static_cast<size_t>(Count(c.dims)), 0);
  return c;
}

void Set(Const* c, int64_t k, double fv, int64_t iv) {
  if (c->is_float())
    c->f[static_cast<size_t>(k)] = fv;
  else
    c->i[static_cast<size_t>(k)] = iv;
}

// Numpy broadcasting of two shapes; nullopt when incompatible.
std::optional<std::vector<int64_t>> Broadcast(const std::vector<int64_t>& a,
                                              const std::vector<int64_t>& b) {
  std::vector<int64_t> out(std::max(a.size(), b.size()), 1);
  for (size_t k = 0; k < out.size(); ++k) {
    int64_t da = k < out.size() - a.size() ? 1 : a[k - (out.size() - a.size())];
    int64_t db = k < out.size() - b.size() ? 1 : b[k - (out.size() - b.size())];
    if (da != db && da != 1 && db != 1) return std::nullopt;
    out[k] = da == 1 ? db : da;
  }
  return out;
}

// Flat index into `dims` (right-aligned, broadcast) of the element at out-index `flat`.
int64_t Source(const std::vector<int64_t>& out, const std::vector<int64_t>& dims, int64_t flat) {
  int64_t index = 0, stride = 1;
  for (size_t k = out.size(); k-- > 0;) {
    const int64_t coord = flat % out[k];
    flat /= out[k];
    const size_t off = out.size() - dims.size();
    if (k >= off) {
      const int64_t d = dims[k - off];
      if (d != 1) index += coord * stride;
      stride *= d;
    }
  }
  return index;
}

std::optional<Const> Elementwise(const std::string& op, const std::vector<const Const*>& in) {
  std::vector<int64_t> shape = in[0]->dims;
  for (size_t k = 1; k < in.size(); ++k) {
    auto b = Broadcast(shape, in[k]->dims);
    if (!b) return std::nullopt;
    shape = *b;
  }
  if (Count(shape) > kMaxFoldElements) return std::nullopt;
  const bool compare = op == "Equal" || op == "Less" || op == "Greater" || op == "Not";
  int32_t dtype =
      compare ? static_cast<int32_t>(TensorProto::BOOL) : in[op == "Where" ? 1 : 0]->dtype;
  Const out = Make(dtype, shape);
  const bool fl = out.is_float() || (compare && in[0]->is_float());
  for (int64_t k = 0; k < Count(shape); ++k) {
    auto a = [&](size_t j) { return in[j]->F(Source(shape, in[j]->dims, k)); };
    auto ai = [&](size_t j) { return in[j]->I(Source(shape, in[j]->dims, k)); };
    double fv = 0;
    int64_t iv = 0;
    if (op == "Add") {
      fv = a(0) + a(1);
      iv = ai(0) + ai(1);
    } else if (op == "Sub") {
      fv = a(0) - a(1);
      iv = ai(0) - ai(1);
    } else if (op == "Mul") {
      fv = a(0) * a(1);
      iv = ai(0) * ai(1);
    } else if (op == "Div") {
      if (!out.is_float() && ai(1) == 0) return std::nullopt;
      fv = a(0) / a(1);
      iv = out.is_float() ? 0 : ai(0) / ai(1);
    } else if (op == "Neg") {
      fv = -a(0);
      iv = -ai(0);
    } else if (op == "Abs") {
      fv = std::fabs(a(0));
      iv = ai(0) < 0 ? -ai(0) : ai(0);
    } else if (op == "Sqrt") {
      if (!out.is_float()) return std::nullopt;
      fv = std::sqrt(a(0));
    } else if (op == "Floor") {
      fv = std::floor(a(0));
      iv = ai(0);
    } else if (op == "Ceil") {
      fv = std::ceil(a(0));
      iv = ai(0);
    } else if (op == "Max") {
      fv = std::max(a(0), a(1));
      iv = std::max(ai(0), ai(1));
    } else if (op == "Min") {
      fv = std::min(a(0), a(1));
      iv = std::min(ai(0), ai(1));
    } else if (op == "Equal") {
      iv = fl ? a(0) == a(1) : ai(0) == ai(1);
    } else if (op == "Less") {
      iv = fl ? a(0) < a(1) : ai(0) < ai(1);
    } else if (op == "Greater") {
      iv = fl ? a(0) > a(1) : ai(0) > ai(1);
    } else if (op == "Not") {
      iv = ai(0) == 0;
    } else if (op == "Where") {
      fv = ai(0) ? a(1) : a(2);
      iv = ai(0) ? ai(1) : ai(2);
    } else
      return std::nullopt;
    Set(&out, k, fv, iv);
  }
  return out;
}

std::vector<int64_t> AxesOf(const onnx::NodeProto& node, const std::vector<const Const*>& in,
                            size_t input) {
  if (in.size() > input && in[input]) return in[input]->i;
  for (const auto& a : node.attribute()) {
    if (a.name() == "axes") return {a.ints().begin(), a.ints().end()};
  }
  return {};
}

int64_t AttrInt(const onnx::NodeProto& node, const char* name, int64_t fallback) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) return a.i();
  }
  return fallback;
}

// Evaluates one node whose inputs are all known constants (or, for Shape/Size, whose input shape
// is fully known). Returns nullopt for anything it does not handle: folding is best effort.
std::optional<Const> Evaluate(const onnx::NodeProto& node, const std::vector<const Const*>& in,
                              const std::vector<int64_t>* input_shape) {
  const std::string& op = node.op_type();
  if (op == "Shape" || op == "Size") {
    if (!input_shape) return std::nullopt;
    const auto rank = static_cast<int64_t>(input_shape->size());
    if (op == "Size") {
      Const c = Make(TensorProto::INT64, {});
      c.i[0] = 1;
      for (int64_t d : *input_shape) c.i[0] *= d;
      return c;
    }
    int64_t start = AttrInt(node, "start", 0), end = AttrInt(node, "end", rank);
    if (start < 0) start += rank;
    if (end < 0) end += rank;
    start = std::clamp<int64_t>(start, 0, rank);
    end = std::clamp<int64_t>(end, start, rank);
    Const c = Make(TensorProto::INT64, {end - start});
    for (int64_t k = start; k < end; ++k)
      c.i[static_cast<size_t>(k - start)] = (*input_shape)[static_cast<size_t>(k)];
    return c;
  }
  for (const Const* c : in) {
    if (!c) return std::nullopt;
  }
  if (op == "Constant") {
    for (const auto& a : node.attribute()) {
      if (a.name() == "value") return FromTensor(a.t());
      if (a.name() == "value_int") {
        Const c = Make(TensorProto::INT64, {});
        c.i[0] = a.i();
        return c;
      }
      if (a.name() == "value_ints") {
        Const c = Make(TensorProto::INT64, {a.ints_size()});
        for (int k = 0; k < a.ints_size(); ++k) c.i[static_cast<size_t>(k)] = a.ints(k);
        return c;
      }
      if (a.name() == "value_float") {
        Const c = Make(TensorProto::FLOAT, {});
        c.f[0] = a.f();
        return c;
      }
    }
    return std::nullopt;
  }
  if (in.empty()) return std::nullopt;
  if (op == "Identity") return *in[0];
  if (op == "Cast") {
    const auto to = static_cast<int32_t>(AttrInt(node, "to", 0));
    if (to != TensorProto::INT64 && to != TensorProto::INT32 && to != TensorProto::FLOAT &&
        to != TensorProto::DOUBLE && to != TensorProto::BOOL) {
      return std::nullopt;
    }
    Const c = Make(to, in[0]->dims);
    for (int64_t k = 0; k < in[0]->size(); ++k) {
      const double v = in[0]->F(k);
      Set(&c, k, v, to == TensorProto::BOOL ? (v != 0) : in[0]->I(k));
    }
    return c;
  }
  if (op == "Unsqueeze" || op == "Squeeze") {
    Const c = *in[0];
    std::vector<int64_t> axes = AxesOf(node, in, 1);
    if (op == "Unsqueeze") {
      const auto rank = static_cast<int64_t>(c.dims.size() + axes.size());
      for (auto& a : axes) a = a < 0 ? a + rank : a;
      std::sort(axes.begin(), axes.end());
      for (int64_t a : axes) {
        if (a < 0 || a > static_cast<int64_t>(c.dims.size())) return std::nullopt;
        c.dims.insert(c.dims.begin() + a, 1);
      }
    } else {
      std::vector<int64_t> dims;
      const auto rank = static_cast<int64_t>(c.dims.size());
      for (int64_t k = 0; k < rank; ++k) {
        bool drop = axes.empty() ? c.dims[static_cast<size_t>(k)] == 1
                                 : std::count(axes.begin(), axes.end(), k) +
                                           std::count(axes.begin(), axes.end(), k - rank) >
                                       0;
        if (!drop) dims.push_back(c.dims[static_cast<size_t>(k)]);
      }
      c.dims = dims;
    }
    return c;
  }
  if (op == "Concat") {
    // Shapes are concatenated along axis 0 of 1-D tensors; that is all exporters need.
    Const c = Make(in[0]->dtype, {0});
    for (const Const* part : in) {
      if (part->dims.size() != 1 || part->dtype != in[0]->dtype) return std::nullopt;
      c.i.insert(c.i.end(), part->i.begin(), part->i.end());
      c.f.insert(c.f.end(), part->f.begin(), part->f.end());
      c.dims[0] += part->dims[0];
    }
    return c;
  }
  if (op == "Gather") {
    const Const& data = *in[0];
    const Const& idx = *in[1];
    if (data.dims.size() != 1 || AttrInt(node, "axis", 0) != 0) return std::nullopt;
    Const c = Make(data.dtype, idx.dims);
    for (int64_t k = 0; k < idx.size(); ++k) {
      int64_t j = idx.I(k);
      if (j < 0) j += data.dims[0];
      if (j < 0 || j >= data.dims[0]) return std::nullopt;
      Set(&c, k, data.F(j), data.I(j));
    }
    return c;
  }
  if (op == "Slice") {
    const Const& data = *in[0];
    if (data.dims.size() != 1 || in.size() < 3) return std::nullopt;
    // Slicing 1-D data takes one value each of starts, ends, axes and steps. They can be empty or
    // longer here (folded in this same pass, so ONNX never checked them): not folded then.
    for (size_t k = 1; k < in.size(); ++k) {
      if (in[k]->size() != 1) return std::nullopt;
    }
    const int64_t n = data.dims[0];
    int64_t start = in[1]->I(0), end = in[2]->I(0);
    const int64_t step = in.size() > 4 ? in[4]->I(0) : 1;
    if (step != 1) return std::nullopt;
    if (start < 0) start += n;
    if (end < 0) end += n;
    start = std::clamp<int64_t>(start, 0, n);
    end = std::clamp<int64_t>(end, start, n);
    Const c = Make(data.dtype, {end - start});
    for (int64_t k = start; k < end; ++k) Set(&c, k - start, data.F(k), data.I(k));
    return c;
  }
  if (op == "Range") {
    // start, limit and delta are scalars; an operand of any other size (see Slice) is not folded.
    if (in.size() != 3 || in[0]->size() != 1 || in[1]->size() != 1 || in[2]->size() != 1) {
      return std::nullopt;
    }
    const double start = in[0]->F(0), limit = in[1]->F(0), delta = in[2]->F(0);
    if (delta == 0) return std::nullopt;
    const auto n = static_cast<int64_t>(std::max(std::ceil((limit - start) / delta), 0.0));
    if (n > kMaxFoldElements) return std::nullopt;
    Const c = Make(in[0]->dtype, {n});
    for (int64_t k = 0; k < n; ++k) {
      Set(&c, k, start + static_cast<double>(k) * delta, in[0]->I(0) + k * in[2]->I(0));
    }
    return c;
  }
  if (op == "ConstantOfShape") {
    std::vector<int64_t> dims = in[0]->i;
    if (Count(dims) > kMaxFoldElements) return std::nullopt;
    Const value = Make(TensorProto::FLOAT, {1});
    for (const auto& a : node.attribute()) {
      if (a.name() == "value") {
        auto v = FromTensor(a.t());
        if (!v || v->size() != 1) return std::nullopt;
        value = *v;
      }
    }
    Const c = Make(value.dtype, dims);
    for (int64_t k = 0; k < c.size(); ++k) Set(&c, k, value.F(0), value.I(0));
    return c;
  }
  if (op == "Reshape") {
    std::vector<int64_t> dims = in[1]->i;
    int64_t known = 1, infer = -1;
    for (size_t k = 0; k < dims.size(); ++k) {
      if (dims[k] == 0 && AttrInt(node, "allowzero", 0) == 0 && k < in[0]->dims.size())
        dims[k] = in[0]->dims[k];
      if (dims[k] == -1)
        infer = static_cast<int64_t>(k);
      else
        known *= dims[k];
    }
    if (infer >= 0 && known > 0) dims[static_cast<size_t>(infer)] = in[0]->size() / known;
    if (Count(dims) != in[0]->size()) return std::nullopt;
    Const c = *in[0];
    c.dims = dims;
    return c;
  }
  return Elementwise(op, in);
}

// Tensors whose data shape inference never needs: large initializers. A copy without them keeps
// the repeated inference cheap for models of hundreds of megabytes.
onnx::ModelProto WeightlessCopy(const onnx::ModelProto& m) {
  onnx::ModelProto copy;
  copy.set_ir_version(m.ir_version());
  *copy.mutable_opset_import() = m.opset_import();
  *copy.mutable_functions() = m.functions();
  const auto& g = m.graph();
  auto* cg = copy.mutable_graph();
  cg->set_name(g.name());
  *cg->mutable_node() = g.node();
  *cg->mutable_input() = g.input();
  *cg->mutable_output() = g.output();
  *cg->mutable_value_info() = g.value_info();
  for (const auto& t : g.initializer()) {
    auto* c = cg->add_initializer();
    int64_t n = 1;
    for (int64_t d : t.dims()) n *= d;
    if (n <= kMaxFoldElements) {
      *c = t;
    } else {
      // Dims and dtype are all inference reads of a weight.
      c->set_name(t.name());
      c->set_data_type(t.data_type());
      *c->mutable_dims() = t.dims();
    }
  }
  return copy;
}

std::optional<std::vector<int64_t>> KnownShape(const onnx::TypeProto& type) {
  if (!type.tensor_type().has_shape()) return std::nullopt;
  std::vector<int64_t> dims;
  for (const auto& d : type.tensor_type().shape().dim()) {
    if (!d.has_dim_value()) return std::nullopt;
    dims.push_back(d.dim_value());
  }
  return dims;
}

void RunOnnxInference(onnx::ModelProto* m, bool data_propagation) {
  try {
    // Types are not checked against the schemas' constraints: old PyTorch exports declare, for
    // instance, int64 Constants at opsets whose Constant schema excludes int64, and every runtime
    // runs them. Shape inconsistencies still fail (strict mode).
    onnx::ShapeInferenceOptions options(/*check_type_val=*/false, /*strict_mode_val=*/1,
                                        data_propagation);
    onnx::shape_inference::InferShapes(*m, onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception& e) {
    // ONNX nests its own prefixes; keep "(op_type:X, node name: Y): what went wrong".
    std::string message = e.what();
    for (const char* noise :
         {"[ShapeInferenceError] ", "[TypeInferenceError] ", "Shape inference error(s): "}) {
      for (size_t at; (at = message.find(noise)) != std::string::npos;) {
        message.erase(at, std::strlen(noise));
      }
    }
    Fail("shape inference failed: {}", message);
  }
}

using Opsets = std::unordered_map<std::string, int>;

Opsets OpsetsOf(const google::protobuf::RepeatedPtrField<onnx::OperatorSetIdProto>& imports) {
  Opsets opsets;
  for (const auto& o : imports) {
    opsets[o.domain() == "ai.onnx" ? "" : o.domain()] = static_cast<int>(o.version());
  }
  return opsets;
}

bool PropagatesData(const onnx::NodeProto& node, const Opsets& opsets) {
  const std::string domain = node.domain() == "ai.onnx" ? "" : node.domain();
  auto it = opsets.find(domain);
  if (it == opsets.end()) return false;
  const auto* schema = onnx::OpSchemaRegistry::Schema(node.op_type(), it->second, domain);
  return schema != nullptr && schema->has_data_propagation_function();
}

bool AnyPropagatesData(const google::protobuf::RepeatedPtrField<onnx::NodeProto>& nodes,
                       const Opsets& opsets) {
  for (const auto& node : nodes) {
    if (PropagatesData(node, opsets)) return true;
    for (const auto& attr : node.attribute()) {
      if (attr.has_g() && AnyPropagatesData(attr.g().node(), opsets)) return true;
      for (const auto& g : attr.graphs()) {
        if (AnyPropagatesData(g.node(), opsets)) return true;
      }
    }
  }
  return false;
}

// Note [Data propagation guard]: ONNX 1.12's data propagation for Shape (opset 15 on) reads its
// input's type without checking that there is one: a null dereference inside libonnx. A tensor
// has no type when its producer has no inference (a custom-domain op), or when the producer's
// inference failed (strict mode reports failures only after the whole graph, so the nodes after
// it still run). So types are first inferred without data propagation, on a copy, which reports
// any failure; data propagation is then used only if every input of every node that propagates
// data has a type. Types inside subgraphs and functions are not checked here: a node there that
// propagates data turns it off.
bool DataPropagationIsSafe(const onnx::ModelProto& m) {
  onnx::ModelProto typed = m;
  try {
    RunOnnxInference(&typed, /*data_propagation=*/false);
  } catch (const Error&) {
    return false;  // the inference proper reports it (or folding resolves it first)
  }
  for (const auto& f : m.functions()) {
    if (AnyPropagatesData(f.node(), OpsetsOf(f.opset_import()))) return false;
  }
  const Opsets opsets = OpsetsOf(m.opset_import());
  const auto& g = typed.graph();
  std::unordered_set<std::string> has_type;
  for (const auto& v : g.input()) has_type.insert(v.name());
  for (const auto& t : g.initializer()) has_type.insert(t.name());
  for (const auto& v : g.value_info()) has_type.insert(v.name());
  for (const auto& v : g.output()) has_type.insert(v.name());
  for (const auto& node : g.node()) {
    for (const auto& attr : node.attribute()) {
      if (attr.has_g() && AnyPropagatesData(attr.g().node(), opsets)) return false;
      for (const auto& sub : attr.graphs()) {
        if (AnyPropagatesData(sub.node(), opsets)) return false;
      }
    }
    if (!PropagatesData(node, opsets)) continue;
    for (const auto& name : node.input()) {
      if (!name.empty() && !has_type.count(name)) return false;
    }
  }
  return true;
}

}  // namespace

void InferShapes(onnx::ModelProto* model) {
  onnx::ModelProto work = WeightlessCopy(*model);
  const bool data_propagation = DataPropagationIsSafe(work);
  std::unordered_map<std::string, onnx::TypeProto> folded_types;
  // Each round learns at least one new constant or stops, so the node count bounds the rounds.
  const int max_rounds = work.graph().node_size() + 1;
  for (int round = 0; round < max_rounds; ++round) {
    RunOnnxInference(&work, data_propagation);
    auto* g = work.mutable_graph();
    std::unordered_map<std::string, const onnx::TypeProto*> types;
    for (const auto& v : g->input()) types[v.name()] = &v.type();
    for (const auto& v : g->value_info()) types[v.name()] = &v.type();
    for (const auto& v : g->output()) types[v.name()] = &v.type();
    std::unordered_map<std::string, Const> consts;
    for (const auto& t : g->initializer()) {
      if (auto c = FromTensor(t)) consts.emplace(t.name(), std::move(*c));
    }
    // One pass in topological order (the checker has ensured it) folds chains end to end.
    std::vector<std::string> fresh;
    for (const auto& node : g->node()) {
      if (node.output_size() != 1 || node.output(0).empty() || !node.domain().empty()) continue;
      std::vector<const Const*> in;
      for (const auto& name : node.input()) {
        auto it = consts.find(name);
        in.push_back(it == consts.end() ? nullptr : &it->second);
      }
      std::optional<std::vector<int64_t>> shape;
      if ((node.op_type() == "Shape" || node.op_type() == "Size") && node.input_size() == 1) {
        auto it = types.find(node.input(0));
        if (it != types.end()) shape = KnownShape(*it->second);
      }
      auto value = Evaluate(node, in, shape ? &*shape : nullptr);
      if (!value || Count(value->dims) > kMaxFoldElements) continue;
      consts[node.output(0)] = *value;
      fresh.push_back(node.output(0));
    }
    if (fresh.empty()) break;
    // Replace the folded nodes by initializers holding their values, and infer again.
    std::unordered_set<std::string> folded(fresh.begin(), fresh.end());
    google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
    for (auto& node : *g->mutable_node()) {
      if (node.output_size() == 1 && folded.count(node.output(0))) continue;
      kept.Add()->Swap(&node);
    }
    g->mutable_node()->Swap(&kept);
    google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> infos;
    for (auto& v : *g->mutable_value_info()) {
      if (!folded.count(v.name())) infos.Add()->Swap(&v);
    }
    g->mutable_value_info()->Swap(&infos);
    for (const auto& name : fresh) {
      const Const& c = consts[name];
      *g->add_initializer() = ToTensor(c, name);
      onnx::TypeProto type;
      type.mutable_tensor_type()->set_elem_type(c.dtype);
      auto* shape = type.mutable_tensor_type()->mutable_shape();
      for (int64_t d : c.dims) shape->add_dim()->set_dim_value(d);
      folded_types[name] = type;
    }
  }

  // Copy what was learnt back: inferred value_info, folded tensors' types, refined outputs.
  auto* g = model->mutable_graph();
  std::unordered_set<std::string> outputs;
  for (const auto& v : g->output()) outputs.insert(v.name());
  g->clear_value_info();
  for (const auto& v : work.graph().value_info()) {
    if (!outputs.count(v.name())) *g->add_value_info() = v;
  }
  for (const auto& [name, type] : folded_types) {
    if (outputs.count(name)) continue;
    auto* v = g->add_value_info();
    v->set_name(name);
    *v->mutable_type() = type;
  }
  std::unordered_map<std::string, const onnx::ValueInfoProto*> inferred_outputs;
  for (const auto& v : work.graph().output()) inferred_outputs[v.name()] = &v;
  for (auto& v : *g->mutable_output()) {
    auto it = inferred_outputs.find(v.name());
    if (it != inferred_outputs.end()) *v.mutable_type() = it->second->type();
    auto ft = folded_types.find(v.name());
    if (ft != folded_types.end()) *v.mutable_type() = ft->second;
  }
}

}  // namespace plaster::model
