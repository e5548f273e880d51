#pragma once
/// HostTensor: a dense tensor in host memory: an ONNX element type, a shape, and owned bytes
/// (row-major, little-endian), or for ONNX's string type one std::string per element. The only
/// tensor type outside src/engine/*; engines convert at their boundary, and inputs are staged as
/// HostTensors before any clock starts.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace plaster::engine {

class HostTensor {
 public:
  HostTensor() = default;
  /// Zero-filled. Throws plaster::Error for a negative dimension, an unsized dtype (string), or
  /// more than model::kMaxElements elements.
  HostTensor(int32_t dtype, std::vector<int64_t> shape);
  /// Takes bytes, which must hold exactly NumElements() × element size (a bug otherwise).
  HostTensor(int32_t dtype, std::vector<int64_t> shape, std::string bytes);
  /// A string tensor (dtype STRING): one value per element, row-major; values.size() must be
  /// the shape's element count (plaster::Error otherwise).
  static HostTensor Strings(std::vector<int64_t> shape, std::vector<std::string> values);

  int32_t dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t NumElements() const;
  size_t size_bytes() const { return bytes_.size(); }
  const char* data() const { return bytes_.data(); }
  char* mutable_data() { return bytes_.data(); }
  const std::string& bytes() const { return bytes_; }
  /// A string tensor's values (empty for every other dtype, whose bytes() hold the data).
  const std::vector<std::string>& strings() const { return strings_; }
  bool is_string() const;

  template <typename T>
  const T* data_as() const {
    return reinterpret_cast<const T*>(bytes_.data());
  }
  template <typename T>
  T* mutable_data_as() {
    return reinterpret_cast<T*>(bytes_.data());
  }

  /// "float32[2x3]".
  std::string Describe() const;

 private:
  int32_t dtype_ = 0;
  std::vector<int64_t> shape_;
  std::string bytes_;
  std::vector<std::string> strings_;
};

/// Element k of a numeric tensor as a double (float16 and bfloat16 decoded, bools 0/1); NaN for
/// strings and types without a value.
double ValueAt(const HostTensor& t, int64_t k);

}  // namespace plaster::engine
