#pragma once
/// Tensors in files: NumPy .npy (read and write) and ONNX TensorProto .pb (read, as in ONNX's
/// test data folders). Every problem is a plaster::Error naming the file.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "engine/host_tensor.h"

namespace plaster::engine {

/// Reads a .npy file (format 1.0, 2.0 or 3.0; little-endian or byte-order-free dtypes; C order).
HostTensor ReadNpy(const std::filesystem::path& path);

/// Parses .npy bytes; name is used in messages.
HostTensor ParseNpy(const std::string& bytes, const std::string& name);

/// What a .npy header says, for reading the data piecewise (a sample at a time) from a file too
/// large to hold.
struct NpyHeader {
  int32_t dtype = 0;
  std::vector<int64_t> shape;
  size_t data_offset = 0;  ///< the data's first byte: magic, version, length field and header
};

/// Where a .npy file's data starts, from its first bytes (12 suffice; 10 for format 1.0): the
/// number of bytes to hand ParseNpyHeader. plaster::Error for bytes that are not .npy, an
/// unsupported version, or a header over 1 MiB.
size_t NpyDataOffset(std::string_view first_bytes, const std::string& name);

/// Parses the header of a .npy file from its first bytes, which must hold the whole header (at
/// least NpyDataOffset of them; the data need not follow). Checks the dtype, order and shape as
/// ParseNpy does; plaster::Error naming `name` otherwise.
NpyHeader ParseNpyHeader(std::string_view bytes, const std::string& name);

/// Serialises to .npy format 1.0 (2.0 if the header needs it).
std::string SerializeNpy(const HostTensor& tensor);

/// Writes a .npy file.
void WriteNpy(const std::filesystem::path& path, const HostTensor& tensor);

/// Reads a serialized onnx::TensorProto (.pb), external data refused.
HostTensor ReadTensorProto(const std::filesystem::path& path);

/// .npy or .pb, by extension.
HostTensor ReadTensorFile(const std::filesystem::path& path);

}  // namespace plaster::engine
