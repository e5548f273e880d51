#pragma once
/// Building ONNX models in code: the built-in default model and the test fixtures use it.

#include <cstdint>
#include <string>
#include <vector>

namespace onnx {
class ModelProto;
class NodeProto;
}  // namespace onnx

namespace plaster::model {

/// One dimension of a declared input or output: a value, or a symbolic name.
struct Dim {
  Dim(int64_t v) : value(v) {}                  // NOLINT(runtime/explicit): reads like a shape
  Dim(const char* s) : value(-1), symbol(s) {}  // NOLINT(runtime/explicit)
  int64_t value;
  std::string symbol;
};

/// Adds attributes to a node just added; valid until the next AddNode.
class NodeRef {
 public:
  explicit NodeRef(onnx::NodeProto* node) : node_(node) {}
  NodeRef& Int(const std::string& name, int64_t value);
  NodeRef& Ints(const std::string& name, const std::vector<int64_t>& values);
  NodeRef& Float(const std::string& name, float value);
  NodeRef& String(const std::string& name, const std::string& value);

 private:
  onnx::NodeProto* node_;
};

class ModelBuilder {
 public:
  /// A model of IR 8 importing the default domain at `opset`.
  explicit ModelBuilder(const std::string& graph_name, int64_t opset = 17);
  ~ModelBuilder();
  ModelBuilder(const ModelBuilder&) = delete;
  ModelBuilder& operator=(const ModelBuilder&) = delete;

  void Input(const std::string& name, int32_t dtype, const std::vector<Dim>& dims);
  /// An output; the ONNX checker requires its shape declared (symbolic dims are fine).
  void Output(const std::string& name, int32_t dtype, const std::vector<Dim>& dims);
  /// A float32 initializer stored as raw_data; values.size() must match dims.
  void Initializer(const std::string& name, const std::vector<int64_t>& dims,
                   const std::vector<float>& values);
  /// An int64 initializer stored as raw_data.
  void InitializerInt64(const std::string& name, const std::vector<int64_t>& dims,
                        const std::vector<int64_t>& values);
  NodeRef Node(const std::string& op_type, const std::vector<std::string>& inputs,
               const std::vector<std::string>& outputs, const std::string& name = "");

  onnx::ModelProto& proto() { return *proto_; }
  std::string Serialize() const;

 private:
  onnx::ModelProto* proto_;
};

}  // namespace plaster::model
