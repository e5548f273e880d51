#include "engine/host_tensor.h"

#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/units.h"
#include "model/dtype.h"
#include "model/model.h"
#include "model/shape.h"

namespace plaster::engine {
namespace {

constexpr int32_t kStringDtype = 8;  // TensorProto.STRING

// The element count of shape; plaster::Error for a negative dim or too many elements.
int64_t ElementCount(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    PLASTER_CHECK(d >= 0, "negative dimension {} in shape {}", d,
                  model::Shape::Of(shape).ToString());
    PLASTER_CHECK(CheckedMul(n, d, &n) && n <= model::kMaxElements,
                  "shape {} has more than {} elements", model::Shape::Of(shape).ToString(),
                  FormatCount(model::kMaxElements));
  }
  return n;
}

int64_t CheckedElements(int32_t dtype, const std::vector<int64_t>& shape) {
  PLASTER_CHECK(model::DtypeSize(dtype) > 0, "tensors of type {} are not supported here",
                model::DtypeName(dtype));
  return ElementCount(shape);
}

}  // namespace

HostTensor::HostTensor(int32_t dtype, std::vector<int64_t> shape)
    : dtype_(dtype), shape_(std::move(shape)) {
  const int64_t n = CheckedElements(dtype_, shape_);
  bytes_.assign(static_cast<size_t>(n * model::DtypeSize(dtype_)), '\0');
}

HostTensor::HostTensor(int32_t dtype, std::vector<int64_t> shape, std::string bytes)
    : dtype_(dtype), shape_(std::move(shape)), bytes_(std::move(bytes)) {
  const int64_t n = CheckedElements(dtype_, shape_);
  PLASTER_ASSERT(static_cast<int64_t>(bytes_.size()) == n * model::DtypeSize(dtype_));
}

HostTensor HostTensor::Strings(std::vector<int64_t> shape, std::vector<std::string> values) {
  HostTensor t;
  t.dtype_ = kStringDtype;
  t.shape_ = std::move(shape);
  const int64_t n = ElementCount(t.shape_);
  PLASTER_CHECK(static_cast<int64_t>(values.size()) == n,
                "a string tensor of shape {} needs {} values, not {}",
                model::Shape::Of(t.shape_).ToString(), n, values.size());
  t.strings_ = std::move(values);
  return t;
}

bool HostTensor::is_string() const { return dtype_ == kStringDtype; }

int64_t HostTensor::NumElements() const {
  int64_t n = 1;
  for (int64_t d : shape_) n *= d;
  return n;
}

std::string HostTensor::Describe() const {
  return model::DtypeName(dtype_) + "[" + model::Shape::Of(shape_).ToString() + "]";
}

namespace {

// IEEE half and bfloat16 bits to double (the comparison needs values, not bytes).
double HalfToDouble(uint16_t h) {
  const int exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
  const double sign = (h & 0x8000) ? -1.0 : 1.0;
  if (exponent == 0) return sign * std::ldexp(mantissa, -24);
  if (exponent == 31) return mantissa ? NAN : sign * INFINITY;
  return sign * std::ldexp(mantissa + 1024, exponent - 25);
}

double Bfloat16ToDouble(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace

double ValueAt(const HostTensor& t, int64_t k) {
  switch (t.dtype()) {
    case onnx::TensorProto::FLOAT16: return HalfToDouble(t.data_as<uint16_t>()[k]);
    case onnx::TensorProto::BFLOAT16: return Bfloat16ToDouble(t.data_as<uint16_t>()[k]);
    case onnx::TensorProto::FLOAT: return t.data_as<float>()[k];
    case onnx::TensorProto::DOUBLE: return t.data_as<double>()[k];
    case onnx::TensorProto::INT64: return static_cast<double>(t.data_as<int64_t>()[k]);
    case onnx::TensorProto::INT32: return t.data_as<int32_t>()[k];
    case onnx::TensorProto::INT16: return t.data_as<int16_t>()[k];
    case onnx::TensorProto::INT8: return t.data_as<int8_t>()[k];
    case onnx::TensorProto::UINT8:
    case onnx::TensorProto::BOOL: return t.data_as<uint8_t>()[k];
    case onnx::TensorProto::UINT16: return t.data_as<uint16_t>()[k];
    case onnx::TensorProto::UINT32: return t.data_as<uint32_t>()[k];
    case onnx::TensorProto::UINT64: return static_cast<double>(t.data_as<uint64_t>()[k]);
    default: return NAN;
  }
}


}  // namespace plaster::engine
