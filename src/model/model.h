#pragma once
/// Loading an ONNX model: parse, validate (structure, ONNX checker, tensor data, external data),
/// bind the input shapes the user asked for, infer every other shape, and build the Graph view.
/// Every problem with the file is a plaster::Error whose message names the file and the problem.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/graph.h"

namespace onnx {
class ModelProto;
class TensorProto;
}  // namespace onnx

namespace plaster::model {

/// `--shape input:1x3x224x224`: the full shape of one graph input.
struct ShapeOverride {
  std::string input;
  std::vector<int64_t> dims;
  std::string origin = "--shape";  ///< what the user wrote, for messages ("--input")
};

/// Parses "name:1x3x224x224" (the name may itself contain ':'; the last one separates).
/// Throws plaster::Error on a malformed value or a dimension outside [1, kMaxDim].
ShapeOverride ParseShapeOverride(std::string_view text);

/// Largest dimension and element count plaster accepts anywhere (2^40): past that a model is
/// refused before anything is sized from it.
inline constexpr int64_t kMaxDim = int64_t{1} << 40;
inline constexpr int64_t kMaxElements = int64_t{1} << 40;

struct LoadOptions {
  /// Shapes of named inputs; dimensions the model fixes must agree.
  std::vector<ShapeOverride> shapes;
  /// Sets the first dimension of every input whose first dimension is not fixed.
  std::optional<int64_t> batch;
};

class Model {
 public:
  /// Loads path. External data is resolved inside path's folder only.
  static Model FromFile(const std::filesystem::path& path, const LoadOptions& options = {});
  /// Loads a serialized ModelProto; display_name names it in messages. External data is refused
  /// (there is no folder to resolve it in).
  static Model FromBytes(std::string_view bytes, std::string display_name,
                         const LoadOptions& options = {});

  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;
  ~Model();

  const onnx::ModelProto& proto() const;
  /// Nodes topologically sorted, shapes inferred with the requested input shapes bound.
  const Graph& graph() const;
  const std::string& display_name() const;
  /// Size of the model file; nullopt when loaded from memory.
  std::optional<uint64_t> file_bytes() const;
  /// Bytes of external data files the initializers reference (0 when none).
  uint64_t external_data_bytes() const;
  /// The opset of the default ONNX domain.
  int64_t opset() const;
  /// What plaster decided on the user's behalf ("input 'x': dimension 'batch' not set; using 1").
  const std::vector<std::string>& notes() const;

  /// The model as the file declared it, for writing out again: proto() with the inputs and
  /// outputs unbound (symbolic dimensions kept) and without the inferred value_info.
  onnx::ModelProto DeclaredCopy() const;

  /// The bytes of a tensor (little-endian, dense), reading external data from inside the model's
  /// folder. Throws plaster::Error when the data is missing or inconsistent.
  std::string ReadTensorData(const onnx::TensorProto& tensor) const;

 private:
  struct State;
  explicit Model(std::unique_ptr<State> state);
  // Validation, shape binding and inference, once the protobuf is parsed (or failed to).
  static Model Finish(std::unique_ptr<State> state, bool parsed, const LoadOptions& options);
  std::unique_ptr<State> state_;
};

}  // namespace plaster::model

namespace plaster::model {
/// "ONNX 1.12.0 (IR 8, ai.onnx opsets 1-17)" and "protobuf 3.21.12": the libraries this module
/// links.
std::vector<std::string> LinkedLibraryVersions();
}  // namespace plaster::model
