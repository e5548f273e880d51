// The calibration arithmetic of static int8 sessions (src/engine/torch/calibration.h): ranges,
// histograms, and the threshold each method picks, on distributions whose answer is known.
#include "engine/torch/calibration.h"

#include <gtest/gtest.h>

#include <vector>

namespace plaster::engine::torch_engine {
namespace {

TEST(RangeStats, KeepsTheExtremesOfEveryObservation) {
  RangeStats s;
  EXPECT_FALSE(s.seen());
  s.ObserveRange(-1.0f, 2.0f);
  s.ObserveRange(-3.0f, 1.0f);
  EXPECT_TRUE(s.seen());
  EXPECT_EQ(s.min(), -3.0f);
  EXPECT_EQ(s.max(), 2.0f);
  EXPECT_EQ(s.abs_max(), 3.0f);
}

TEST(RangeStats, HistogramsMagnitudesLeavingOutExactZeros) {
  RangeStats s;
  s.ObserveRange(-4.0f, 4.0f);
  const std::vector<float> v = {0.0f, 0.0f, 0.0f, -4.0f, 4.0f, 1.0f, -1.0f, 0.001f};
  s.ObserveValues(v.data(), static_cast<int64_t>(v.size()));
  const auto& h = s.histogram();
  ASSERT_EQ(h.size(), static_cast<size_t>(RangeStats::kBins));
  double total = 0;
  for (double c : h) total += c;
  EXPECT_EQ(total, 5.0);                         // the three zeros are not counted
  EXPECT_EQ(h[RangeStats::kBins - 1], 2.0);      // ±4 (the top edge) in the last bin
  EXPECT_EQ(h[RangeStats::kBins / 4], 2.0);      // ±1 at a quarter of the range
  EXPECT_EQ(h[0], 1.0);                          // 0.001
}

TEST(Calibration, PercentileIsTheEdgeBelowWhichTheShareLies) {
  std::vector<double> h(100, 1.0);  // uniform over 100 bins of width 0.5
  EXPECT_DOUBLE_EQ(PercentileThreshold(h, 0.5, 50.0), 25.0);
  EXPECT_DOUBLE_EQ(PercentileThreshold(h, 0.5, 100.0), 50.0);
  EXPECT_DOUBLE_EQ(PercentileThreshold(h, 0.5, 99.0), 49.5);
}

TEST(Calibration, EntropyClipsARareOutlierAndKeepsAFullRange) {
  // Mass spread over the first 512 bins and one value far out: clipping it loses almost
  // nothing, so the threshold lands near the bulk's edge, far below the outlier.
  std::vector<double> bulk(RangeStats::kBins, 0.0);
  for (int b = 0; b < 512; ++b) bulk[b] = 1000.0 + (b % 7);
  bulk[RangeStats::kBins - 1] = 1.0;
  const double t = EntropyThreshold(bulk, 1.0, 127);
  EXPECT_GE(t, 480.0);
  EXPECT_LE(t, 600.0);
  // Mass over the whole range: any clipping loses a lot; the threshold is the full range.
  std::vector<double> flat(RangeStats::kBins, 1000.0);
  EXPECT_GE(EntropyThreshold(flat, 1.0, 127), 0.95 * RangeStats::kBins);
}

TEST(Calibration, ChooseRangeBySignAndMethod) {
  RangeStats relu;
  relu.ObserveRange(0.0f, 6.0f);
  Int8Range r = ChooseRange(relu, CalibrationMethod::kMinMax, 99.99);
  EXPECT_TRUE(r.is_unsigned);
  EXPECT_FLOAT_EQ(r.threshold, 6.0f);
  EXPECT_FLOAT_EQ(r.scale, 6.0f / 255);

  RangeStats signed_values;
  signed_values.ObserveRange(-5.0f, 2.0f);
  r = ChooseRange(signed_values, CalibrationMethod::kMinMax, 99.99);
  EXPECT_FALSE(r.is_unsigned);
  EXPECT_FLOAT_EQ(r.threshold, 5.0f);
  EXPECT_FLOAT_EQ(r.scale, 5.0f / 127);

  // Percentile: 1000 values evenly over (0, 10] and a single 100: the 99.9th percentile edge
  // sits near 10, far below the outlier that min-max would keep.
  RangeStats tail;
  std::vector<float> v;
  for (int i = 1; i <= 1000; ++i) v.push_back(0.01f * static_cast<float>(i));
  v.push_back(100.0f);
  tail.ObserveRange(0.0f, 100.0f);
  tail.ObserveValues(v.data(), static_cast<int64_t>(v.size()));
  r = ChooseRange(tail, CalibrationMethod::kPercentile, 99.9);
  EXPECT_GT(r.threshold, 9.5f);
  EXPECT_LT(r.threshold, 10.5f);
  EXPECT_FLOAT_EQ(ChooseRange(tail, CalibrationMethod::kMinMax, 99.9).threshold, 100.0f);

  RangeStats zeros;
  zeros.ObserveRange(0.0f, 0.0f);
  r = ChooseRange(zeros, CalibrationMethod::kEntropy, 99.99);
  EXPECT_EQ(r.threshold, 0.0f);
  EXPECT_EQ(r.scale, 1.0f);
}

}  // namespace
}  // namespace plaster::engine::torch_engine
