#pragma once
/// Tensor data inside a model: checking that a TensorProto's data agrees with its dims and dtype,
/// and reading it, with external data resolved strictly inside the model's folder.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace onnx {
class TensorProto;
}

namespace plaster::model {

/// Where a tensor's external data lives, after validation.
struct ExternalData {
  std::filesystem::path file;  ///< canonical path, inside the model's folder
  uint64_t offset = 0;
  uint64_t length = 0;
};

/// Checks dtype, dims (non-negative, element count ≤ kMaxElements) and that the stored data has
/// exactly the element count the dims promise. For external data, folder must be set: the
/// location must be relative, stay inside folder once symlinks are resolved, and the byte range
/// must lie within the file. Returns the resolved external data, if any.
/// Throws plaster::Error naming the tensor ("initializer 'w': ...").
std::optional<ExternalData> ValidateTensor(const onnx::TensorProto& tensor,
                                           const std::optional<std::filesystem::path>& folder);

/// The tensor's bytes, dense and little-endian, as raw_data would hold them (string tensors are
/// refused). External data is read from the validated location.
std::string ReadTensorBytes(const onnx::TensorProto& tensor,
                            const std::optional<std::filesystem::path>& folder);

}  // namespace plaster::model
