#include "engine/host_tensor.h"

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

}  // namespace plaster::engine
