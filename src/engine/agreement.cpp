#include "engine/agreement.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "model/dtype.h"
#include "model/shape.h"

namespace plaster::engine {

void Agreement::Add(const HostTensor& got, const HostTensor& want) {
  PLASTER_CHECK(got.shape() == want.shape(), "the output has shape {}; the reference's is {}",
                model::Shape::Of(got.shape()).ToString(), model::Shape::Of(want.shape()).ToString());
  const int64_t n = want.NumElements();
  values_ += n;
  if (want.is_string() || got.is_string()) {
    for (int64_t k = 0; k < n && got.is_string() && want.is_string(); ++k) {
      exact_mismatches_ += got.strings()[static_cast<size_t>(k)] != want.strings()[static_cast<size_t>(k)];
    }
    if (got.is_string() != want.is_string()) exact_mismatches_ += n;
    return;
  }
  if (!model::IsFloatingDtype(want.dtype())) {
    for (int64_t k = 0; k < n; ++k) exact_mismatches_ += ValueAt(got, k) != ValueAt(want, k);
    return;
  }
  for (int64_t k = 0; k < n; ++k) {
    const double g = ValueAt(got, k), w = ValueAt(want, k);
    if (!std::isfinite(g) || !std::isfinite(w)) {
      const bool same = (std::isnan(g) && std::isnan(w)) || g == w;
      non_finite_ += !same;
      continue;
    }
    max_abs_ = std::max(max_abs_, std::fabs(g - w));
    max_ref_ = std::max(max_ref_, std::fabs(w));
    dot_ += g * w;
    got_sq_ += g * g;
    want_sq_ += w * w;
  }
  // Top-1 per row of the last axis.
  const auto& shape = want.shape();
  if (shape.size() < 2 || shape.back() < 2) return;
  const int64_t width = shape.back();
  for (int64_t row = 0; row < n / width; ++row) {
    int64_t best_got = 0, best_want = 0;
    for (int64_t k = 1; k < width; ++k) {
      if (ValueAt(got, row * width + k) > ValueAt(got, row * width + best_got)) best_got = k;
      if (ValueAt(want, row * width + k) > ValueAt(want, row * width + best_want)) best_want = k;
    }
    ++rows_;
    same_top1_ += best_got == best_want;
  }
}

double Agreement::max_rel_error() const { return max_ref_ > 0 ? max_abs_ / max_ref_ : max_abs_; }

double Agreement::cosine() const {
  if (got_sq_ == 0 && want_sq_ == 0) return 1;
  if (got_sq_ == 0 || want_sq_ == 0) return 0;
  return dot_ / (std::sqrt(got_sq_) * std::sqrt(want_sq_));
}

}  // namespace plaster::engine
