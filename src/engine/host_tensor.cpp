#include "engine/host_tensor.h"

#include "core/error.h"
#include "core/units.h"
#include "model/dtype.h"
#include "model/model.h"
#include "model/shape.h"

namespace plaster::engine {
namespace {

int64_t CheckedElements(int32_t dtype, const std::vector<int64_t>& shape) {
  PLASTER_CHECK(model::DtypeSize(dtype) > 0, "tensors of type {} are not supported here",
                model::DtypeName(dtype));
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

int64_t HostTensor::NumElements() const {
  int64_t n = 1;
  for (int64_t d : shape_) n *= d;
  return n;
}

std::string HostTensor::Describe() const {
  return model::DtypeName(dtype_) + "[" + model::Shape::Of(shape_).ToString() + "]";
}

}  // namespace plaster::engine
