#pragma once
/// The op table of the torch engine: ONNX op type (and opset range) → a builder that, at compile
/// time, reads the node's attributes and constant inputs once and returns a kernel that runs it
/// on ATen tensors. Kernels are pure functions of their inputs (no in-place writes to inputs), so
/// the same program can run under autograd for training.

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/graph.h"

namespace onnx {
class AttributeProto;
class TensorProto;
}  // namespace onnx

namespace plaster::engine::torch_engine {

/// Thrown by a builder for a node it cannot run; becomes "unsupported: <reason>".
struct Unsupported {
  std::string reason;
};

/// Inputs in node order; an omitted optional input is an undefined tensor.
using Tensors = std::vector<at::Tensor>;
/// Runs one node: inputs → outputs (one per node output; undefined for an omitted one).
using Kernel = std::function<Tensors(const Tensors& inputs)>;

/// An ONNX sequence value, seq(tensor): its tensors in order (ops_sequence_values.cpp).
using Sequence = std::vector<at::Tensor>;
/// An ONNX string tensor (ATen has none): one value per element, row-major (ops_strings.cpp).
struct StringTensor {
  std::vector<int64_t> shape;
  std::vector<std::string> values;
};
/// A value at run time: a tensor, or a sequence or string tensor when that member is set. They
/// are immutable once made, so steps share them.
struct Value {
  at::Tensor tensor = {};
  std::shared_ptr<const Sequence> sequence = nullptr;
  std::shared_ptr<const StringTensor> strings = nullptr;
};
using Values = std::vector<Value>;
/// A kernel of an op that takes or makes sequences or strings: values in, values out.
using ValueKernel = std::function<Values(const Values& inputs)>;

/// What a builder sees of its node at compile time.
class NodeView {
 public:
  NodeView(const model::Graph& graph, const model::NodeInfo& node, int opset,
           const std::vector<std::optional<at::Tensor>>& constants);

  const model::NodeInfo& node() const { return node_; }
  int opset() const { return opset_; }
  size_t InputCount() const { return node_.inputs.size(); }
  size_t OutputCount() const { return node_.outputs.size(); }
  bool HasInput(size_t i) const { return i < node_.inputs.size() && node_.inputs[i] >= 0; }

  /// The value of input i when known at compile time (initializer or folded), else nullptr.
  const at::Tensor* Constant(size_t i) const;
  /// Input i as int64 values; Unsupported when it is not a compile-time constant.
  std::vector<int64_t> ConstantInts(size_t i) const;
  /// Inferred shapes (may be unknown).
  const model::Shape& InputShape(size_t i) const;
  const model::Shape& OutputShape(size_t i) const;
  int32_t InputDtype(size_t i) const;
  int32_t OutputDtype(size_t i) const;

  bool Has(const char* attr) const { return Attr(attr) != nullptr; }
  int64_t Int(const char* attr, int64_t fallback) const;
  float Float(const char* attr, float fallback) const;
  std::string String(const char* attr, const std::string& fallback) const;
  std::vector<int64_t> Ints(const char* attr) const;
  std::vector<float> Floats(const char* attr) const;
  const onnx::TensorProto* TensorAttr(const char* attr) const;

  template <typename... Args>
  [[noreturn]] void Fail(fmt::format_string<Args...> format, Args&&... args) const {
    throw Unsupported{fmt::format(format, std::forward<Args>(args)...)};
  }

  /// A builder whose kernel runs on a library kernel other than ATen's says which ("oneDNN
  /// int8"); the step carries it (plaster profile's kernel column).
  void NameKernel(std::string name) const { kernel_name_ = std::move(name); }
  const std::string& kernel_name() const { return kernel_name_; }

 private:
  const onnx::AttributeProto* Attr(const char* name) const;
  mutable std::string kernel_name_;

  const model::Graph& graph_;
  const model::NodeInfo& node_;
  int opset_;
  const std::vector<std::optional<at::Tensor>>& constants_;  // by tensor id
};

using Builder = std::function<Kernel(const NodeView&)>;
using ValueBuilder = std::function<ValueKernel(const NodeView&)>;

struct OpEntry {
  std::string op_type;
  Builder build;        ///< tensors in, tensors out; empty for a sequence op
  int since_opset = 1;  ///< the table entry serves opsets [since, until]
  int until_opset = 1000;
  /// Set instead of `build` for ops on sequences or strings (never folded).
  ValueBuilder build_values = nullptr;
};

/// Every op the engine runs, gathered from the ops_*.cpp files.
const std::vector<OpEntry>& OpTable();
/// The entry for op_type at opset, or nullptr.
const OpEntry* FindOp(const std::string& op_type, int opset);

// Each ops_*.cpp file adds its entries.
void AddConvPoolOps(std::vector<OpEntry>* table);        // Conv, ConvTranspose, pooling
void AddNormActivationOps(std::vector<OpEntry>* table);  // normalization, activations, softmax
void AddResizeOps(std::vector<OpEntry>* table);   // Resize, Upsample, DepthToSpace, SpaceToDepth
void AddMathOps(std::vector<OpEntry>* table);     // elementwise, matmul, reductions, softmax
void AddTensorOps(std::vector<OpEntry>* table);   // shapes, indexing, casts, constants
void AddSequenceOps(std::vector<OpEntry>* table); // LSTM, GRU, RNN, TopK, CumSum, ...
void AddSequenceValueOps(std::vector<OpEntry>* table);  // SequenceAt, ConcatFromSequence, ...
void AddStringOps(std::vector<OpEntry>* table);         // StringNormalizer

/// Conversions between ONNX element types and ATen's.
at::ScalarType ScalarTypeOf(int32_t onnx_dtype);  ///< Unsupported for types ATen lacks
int32_t OnnxDtypeOf(at::ScalarType type);

/// A constant tensor from an ONNX TensorProto's bytes.
at::Tensor TensorFromBytes(int32_t onnx_dtype, const std::vector<int64_t>& shape,
                           const std::string& bytes);

/// Normalises a possibly negative axis against rank; Unsupported when out of range.
int64_t Axis(const NodeView& n, int64_t axis, int64_t rank);

/// Losses and quantization (ops_loss.cpp, ops_quant.cpp).
void AddLossOps(std::vector<OpEntry>* table);   // NegativeLogLikelihoodLoss, SoftmaxCrossEntropy
void AddQuantOps(std::vector<OpEntry>* table);  // (De)QuantizeLinear, *Integer, QLinear*

/// Vision and signal processing (ops_vision.cpp, ops_signal.cpp).
void AddVisionOps(std::vector<OpEntry>* table);  // GridSample, NMS, RoiAlign, MaxUnpool
void AddSignalOps(std::vector<OpEntry>* table);  // DFT, STFT, windows, MelWeightMatrix

}  // namespace plaster::engine::torch_engine
