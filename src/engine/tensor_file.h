#pragma once
/// Tensors in files: NumPy .npy (read and write) and ONNX TensorProto .pb (read, as in ONNX's
/// test data folders). Every problem is a plaster::Error naming the file.

#include <filesystem>
#include <string>

#include "engine/host_tensor.h"

namespace plaster::engine {

/// Reads a .npy file (format 1.0, 2.0 or 3.0; little-endian or byte-order-free dtypes; C order).
HostTensor ReadNpy(const std::filesystem::path& path);

/// Parses .npy bytes; name is used in messages.
HostTensor ParseNpy(const std::string& bytes, const std::string& name);

/// Serialises to .npy format 1.0 (2.0 if the header needs it).
std::string SerializeNpy(const HostTensor& tensor);

/// Writes a .npy file.
void WriteNpy(const std::filesystem::path& path, const HostTensor& tensor);

/// Reads a serialized onnx::TensorProto (.pb), external data refused.
HostTensor ReadTensorProto(const std::filesystem::path& path);

/// .npy or .pb, by extension.
HostTensor ReadTensorFile(const std::filesystem::path& path);

}  // namespace plaster::engine
