#include "engine/torch/kernel.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cstring>

#include "model/dtype.h"

namespace plaster::engine::torch_engine {

NodeView::NodeView(const model::Graph& graph, const model::NodeInfo& node, int opset,
                   const std::vector<std::optional<at::Tensor>>& constants)
    : graph_(graph), node_(node), opset_(opset), constants_(constants) {}

const at::Tensor* NodeView::Constant(size_t i) const {
  if (!HasInput(i)) return nullptr;
  const auto& c = constants_[static_cast<size_t>(node_.inputs[i])];
  return c ? &*c : nullptr;
}

std::vector<int64_t> NodeView::ConstantInts(size_t i) const {
  const at::Tensor* t = Constant(i);
  if (!t) Fail("input {} must be known when the model is compiled", i);
  at::Tensor v = t->to(at::kLong).contiguous();
  return {v.data_ptr<int64_t>(), v.data_ptr<int64_t>() + v.numel()};
}

const model::Shape& NodeView::InputShape(size_t i) const {
  static const model::Shape kUnknown;
  return HasInput(i) ? graph_.tensor(node_.inputs[i]).shape : kUnknown;
}

const model::Shape& NodeView::OutputShape(size_t i) const {
  static const model::Shape kUnknown;
  if (i >= node_.outputs.size() || node_.outputs[i] < 0) return kUnknown;
  return graph_.tensor(node_.outputs[i]).shape;
}

int32_t NodeView::InputDtype(size_t i) const {
  return HasInput(i) ? graph_.tensor(node_.inputs[i]).dtype : 0;
}

int32_t NodeView::OutputDtype(size_t i) const {
  if (i >= node_.outputs.size() || node_.outputs[i] < 0) return 0;
  return graph_.tensor(node_.outputs[i]).dtype;
}

const onnx::AttributeProto* NodeView::Attr(const char* name) const {
  for (const auto& a : node_.proto->attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

int64_t NodeView::Int(const char* attr, int64_t fallback) const {
  const auto* a = Attr(attr);
  return a ? a->i() : fallback;
}

float NodeView::Float(const char* attr, float fallback) const {
  const auto* a = Attr(attr);
  return a ? a->f() : fallback;
}

std::string NodeView::String(const char* attr, const std::string& fallback) const {
  const auto* a = Attr(attr);
  return a ? a->s() : fallback;
}

std::vector<int64_t> NodeView::Ints(const char* attr) const {
  const auto* a = Attr(attr);
  if (!a) return {};
  return {a->ints().begin(), a->ints().end()};
}

std::vector<float> NodeView::Floats(const char* attr) const {
  const auto* a = Attr(attr);
  if (!a) return {};
  return {a->floats().begin(), a->floats().end()};
}

const onnx::TensorProto* NodeView::TensorAttr(const char* attr) const {
  const auto* a = Attr(attr);
  return a && a->has_t() ? &a->t() : nullptr;
}

const std::vector<OpEntry>& OpTable() {
  static const auto* table = [] {
    auto* t = new std::vector<OpEntry>();
    AddConvPoolOps(t);
    AddNormActivationOps(t);
    AddResizeOps(t);
    AddMathOps(t);
    AddTensorOps(t);
    AddSequenceOps(t);
    AddSequenceValueOps(t);
    AddStringOps(t);
    AddLossOps(t);
    AddQuantOps(t);
    AddVisionOps(t);
    AddSignalOps(t);
    return t;
  }();
  return *table;
}

const OpEntry* FindOp(const std::string& op_type, int opset) {
  for (const auto& e : OpTable()) {
    if (e.op_type == op_type && opset >= e.since_opset && opset <= e.until_opset) return &e;
  }
  return nullptr;
}

at::ScalarType ScalarTypeOf(int32_t dtype) {
  switch (dtype) {
    case onnx::TensorProto::FLOAT: return at::kFloat;
    case onnx::TensorProto::DOUBLE: return at::kDouble;
    case onnx::TensorProto::FLOAT16: return at::kHalf;
    case onnx::TensorProto::BFLOAT16: return at::kBFloat16;
    case onnx::TensorProto::INT64: return at::kLong;
    case onnx::TensorProto::INT32: return at::kInt;
    case onnx::TensorProto::INT16: return at::kShort;
    case onnx::TensorProto::INT8: return at::kChar;
    case onnx::TensorProto::UINT8: return at::kByte;
    case onnx::TensorProto::BOOL: return at::kBool;
    default:
      throw Unsupported{"tensors of type " + model::DtypeName(dtype) + " are not supported"};
  }
}

int32_t OnnxDtypeOf(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return onnx::TensorProto::FLOAT;
    case at::kDouble: return onnx::TensorProto::DOUBLE;
    case at::kHalf: return onnx::TensorProto::FLOAT16;
    case at::kBFloat16: return onnx::TensorProto::BFLOAT16;
    case at::kLong: return onnx::TensorProto::INT64;
    case at::kInt: return onnx::TensorProto::INT32;
    case at::kShort: return onnx::TensorProto::INT16;
    case at::kChar: return onnx::TensorProto::INT8;
    case at::kByte: return onnx::TensorProto::UINT8;
    case at::kBool: return onnx::TensorProto::BOOL;
    default: return 0;
  }
}

at::Tensor TensorFromBytes(int32_t dtype, const std::vector<int64_t>& shape,
                           const std::string& bytes) {
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(ScalarTypeOf(dtype)));
  if (!bytes.empty()) std::memcpy(t.data_ptr(), bytes.data(), bytes.size());
  return t;
}

int64_t Axis(const NodeView& n, int64_t axis, int64_t rank) {
  const int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= std::max<int64_t>(rank, 1)) n.Fail("axis {} is out of range for rank {}", axis, rank);
  return a;
}

}  // namespace plaster::engine::torch_engine
