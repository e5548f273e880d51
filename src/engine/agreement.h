#pragma once
/// How far one engine's outputs are from a reference's (`plaster check`): the largest absolute
/// and scale-relative error, cosine similarity and top-1 agreement, accumulated over several runs.

#include <cstdint>
#include <string>
#include <vector>

#include "engine/host_tensor.h"

namespace plaster::engine {

/// One output's agreement with the reference, over every run Add was given.
class Agreement {
 public:
  /// Adds one run's output and the reference's (same shape; plaster::Error otherwise). Float
  /// outputs (float32, float64, float16, bfloat16) are compared as values; others exactly.
  void Add(const HostTensor& got, const HostTensor& want);

  int64_t values() const { return values_; }
  /// max |got − want|.
  double max_abs_error() const { return max_abs_; }
  /// max |got − want| ÷ max |want|: the error on the output's own scale (0 when want is all 0).
  double max_rel_error() const;
  /// got·want ÷ (‖got‖‖want‖) over all values of all runs; 1 when both are all zero.
  double cosine() const;
  /// Values that are NaN or infinite in one and not the other.
  int64_t non_finite_mismatches() const { return non_finite_; }
  /// Rows (every index but the last axis) whose largest value is at the same place; meaningful
  /// for a float output of rank ≥ 2 whose last axis has ≥ 2 entries (a classifier's scores).
  bool has_top1() const { return rows_ > 0; }
  double top1_agreement() const { return rows_ ? static_cast<double>(same_top1_) / rows_ : 0; }
  int64_t rows() const { return rows_; }
  /// Non-float outputs: values that differ.
  int64_t exact_mismatches() const { return exact_mismatches_; }

 private:
  int64_t values_ = 0;
  double max_abs_ = 0, max_ref_ = 0;
  double dot_ = 0, got_sq_ = 0, want_sq_ = 0;
  int64_t non_finite_ = 0;
  int64_t rows_ = 0, same_top1_ = 0;
  int64_t exact_mismatches_ = 0;
};

}  // namespace plaster::engine
