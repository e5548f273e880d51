#include "model/shape.h"

#include "core/units.h"

namespace plaster::model {

Shape Shape::Of(std::vector<int64_t> values) {
  Shape shape;
  shape.rank_known = true;
  shape.symbols.assign(values.size(), "");
  shape.dims = std::move(values);
  return shape;
}

bool Shape::IsFullyKnown() const {
  if (!rank_known) return false;
  for (int64_t d : dims) {
    if (d < 0) return false;
  }
  return true;
}

std::optional<int64_t> Shape::NumElements() const {
  if (!IsFullyKnown()) return std::nullopt;
  int64_t n = 1;
  for (int64_t d : dims) {
    if (!CheckedMul(n, d, &n)) return std::nullopt;
  }
  return n;
}

std::string Shape::ToString() const {
  if (!rank_known) return "unknown";
  if (dims.empty()) return "scalar";
  std::string out;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i != 0) out += 'x';
    if (dims[i] >= 0) {
      out += std::to_string(dims[i]);
    } else {
      out += symbols[i].empty() ? "?" : symbols[i];
    }
  }
  return out;
}

}  // namespace plaster::model
