#pragma once
/// The statistics a static int8 calibration pass gathers for one activation tensor, and the
/// int8 range each calibration method picks from them (Note [Int8 sessions] in
/// program.cpp). No torch headers: the arithmetic is unit-tested on its own.

#include <cstdint>
#include <vector>

#include "engine/engine.h"

namespace plaster::engine::torch_engine {

/// One tensor's values over the calibration set, gathered in two passes over the data: the
/// range first, then (for the percentile and entropy methods) a histogram of the nonzero |x|
/// over [0, max |x|] in kBins equal bins.
class RangeStats {
 public:
  static constexpr int kBins = 2048;

  /// Pass 1.
  void ObserveRange(float lo, float hi);
  /// Pass 2: n values; ObserveRange must have seen them all already (larger ones count in the
  /// last bin).
  void ObserveValues(const float* values, int64_t n);

  bool seen() const { return seen_; }
  float min() const { return min_; }
  float max() const { return max_; }
  float abs_max() const;
  /// Counts per bin of width abs_max() / kBins; empty before pass 2.
  const std::vector<double>& histogram() const { return histogram_; }

 private:
  bool seen_ = false;
  float min_ = 0, max_ = 0;
  std::vector<double> histogram_;
};

/// How one activation tensor maps to int8: real ≈ scale · q, with q in [0, 255] when the tensor
/// never went below zero during calibration (after a Relu, say), else in [−127, 127]; values
/// beyond ±threshold saturate.
struct Int8Range {
  float threshold = 0;
  float scale = 1;
  bool is_unsigned = false;
};

/// The range for a clipping threshold: scale = threshold / 255 (unsigned) or / 127; 1 for 0.
Int8Range MakeInt8Range(float threshold, bool is_unsigned);

/// The range `method` picks (percentile in percent, for kPercentile). A tensor that was zero
/// throughout gets scale 1.
Int8Range ChooseRange(const RangeStats& stats, CalibrationMethod method, double percentile);

/// The smallest bin edge below which `percentile` percent of the histogram's mass lies.
double PercentileThreshold(const std::vector<double>& histogram, double bin_width,
                           double percentile);

/// The clipping threshold whose `levels`-level quantization of the histogram's distribution
/// loses least information: the KL divergence of the quantized distribution from the clipped
/// one, minimised over every candidate edge from `levels` bins up (TensorRT's entropy
/// calibration).
double EntropyThreshold(const std::vector<double>& histogram, double bin_width, int levels);

}  // namespace plaster::engine::torch_engine
