// Tests of the accuracy metrics: tiny inputs with exact answers, the defined edge cases (empty,
// n = 1, all equal, zero vectors, NaN), and published or independently computed values. The
// references marked "mpmath" were computed at 40 digits with mpmath 1.2 (betainc for the t
// distribution, exact binomial sums for McNemar), not with the code under test.
#include "accuracy/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <random>
#include <vector>

#include "support/fixtures.h"

namespace plaster::accuracy {
namespace {

using ::plaster::testing::ErrorOf;
using ::testing::HasSubstr;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr float kNaNf = std::numeric_limits<float>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kZ95 = 1.959963984540054;  // z(0.975)

// |actual − expected| ≤ relative·|expected|.
void ExpectRelative(double actual, double expected, double relative) {
  EXPECT_NEAR(actual, expected, relative * std::fabs(expected)) << "expected " << expected;
}

// ---------------------------------------------------------------------------------------------
// Student's t quantile

TEST(StudentTQuantile, TableValues) {
  // t(0.975) from the standard tables, to the tables' 9 digits, and mpmath's digits beyond.
  ExpectRelative(StudentTQuantile(0.975, 1), 12.706204736174705, 1e-12);
  ExpectRelative(StudentTQuantile(0.975, 2), 4.3026527297494639, 1e-12);
  ExpectRelative(StudentTQuantile(0.975, 3), 3.1824463052837096, 1e-12);
  ExpectRelative(StudentTQuantile(0.975, 5), 2.5705818356363155, 1e-12);
  ExpectRelative(StudentTQuantile(0.975, 10), 2.2281388519862747, 1e-12);
  ExpectRelative(StudentTQuantile(0.975, 30), 2.0422724563012383, 1e-12);
  ExpectRelative(StudentTQuantile(0.975, 100), 1.9839715185235523, 1e-12);
  ExpectRelative(StudentTQuantile(0.975, 1000), 1.9623390808264085, 1e-12);
  EXPECT_NEAR(StudentTQuantile(0.975, 1000), 1.96233908, 1e-8);
  // Other levels (mpmath).
  ExpectRelative(StudentTQuantile(0.995, 1), 63.656741162871581, 1e-12);
  ExpectRelative(StudentTQuantile(0.995, 4), 4.6040948713499932, 1e-12);
  ExpectRelative(StudentTQuantile(0.995, 30), 2.7499956535672253, 1e-12);
  ExpectRelative(StudentTQuantile(0.9, 2), 1.8856180831641267, 1e-12);
  ExpectRelative(StudentTQuantile(0.9, 10), 1.3721836411103356, 1e-12);
  ExpectRelative(StudentTQuantile(0.6, 3), 0.27667066233268991, 1e-12);
}

TEST(StudentTQuantile, ClosedFormsForOneAndTwoDegrees) {
  // dof 1 is Cauchy: t = tan(π(p − ½)); dof 2: t = (2p − 1)/√(2p(1 − p)).
  for (double p : {0.001, 0.01, 0.1, 0.3, 0.45, 0.55, 0.7, 0.9, 0.99, 0.999}) {
    SCOPED_TRACE(p);
    ExpectRelative(StudentTQuantile(p, 1), std::tan(std::numbers::pi * (p - 0.5)), 1e-11);
    ExpectRelative(StudentTQuantile(p, 2), (2 * p - 1) / std::sqrt(2 * p * (1 - p)), 1e-11);
  }
}

TEST(StudentTQuantile, SymmetricAroundTheMedian) {
  EXPECT_EQ(StudentTQuantile(0.5, 1), 0);
  EXPECT_EQ(StudentTQuantile(0.5, 1000), 0);
  for (int64_t dof : {1, 3, 17, 500}) {
    for (double p : {0.6, 0.9, 0.975, 0.9999}) {
      EXPECT_DOUBLE_EQ(StudentTQuantile(1 - p, dof), -StudentTQuantile(p, dof));
    }
  }
}

TEST(StudentTQuantile, ExtremeTails) {
  // dof 1, p = 1e-10: −1/tan(π·1e-10).
  ExpectRelative(StudentTQuantile(1e-10, 1), -3183098861.8379067, 1e-10);
  // dof 5, upper tail 1e-12 (mpmath).
  ExpectRelative(StudentTQuantile(1e-12, 5), -393.95695957760377, 1e-9);
  // Just above the median: t ≈ 2.5e-9 (mpmath; p itself carries ~1e-8 relative rounding here).
  ExpectRelative(StudentTQuantile(0.5 + 1e-9, 50), 2.5191919618161415e-9, 1e-6);
}

TEST(StudentTQuantile, MatchesMpmathAcrossTheRange) {
  // Every evaluation path: the continued fraction (small dof, and deep tails), the TOMS 708
  // expansion (dof ≥ 30 near the centre), tails down to 1e-200 and quantiles up to 1e199.
  struct Case {
    int64_t dof;
    double p;
    double quantile;
  };
  // {dof, lower tail p, quantile}, mpmath at 50 digits.
  const Case cases[] = {
      {1, 0.4, -0.32491969623290633},
      {1, 0.025, -12.706204736174705},
      {1, 1e-6, -318309.88618274347},
      {1, 1e-12, -318309886183.79067},
      {1, 1e-50, -3.1830988618379067e+49},
      {1, 1e-200, -3.1830988618379067e+199},
      {2, 0.4, -0.28867513459481288},
      {2, 0.025, -4.3026527297494639},
      {2, 1e-6, -707.1057205259338},
      {2, 1e-12, -707106.78118548686},
      {2, 1e-50, -7.0710678118654752e+24},
      {2, 1e-200, -7.0710678118654752e+99},
      {3, 0.4, -0.27667066233268991},
      {3, 0.025, -3.1824463052837096},
      {3, 1e-6, -103.29946778041934},
      {3, 1e-12, -10331.108244292486},
      {3, 1e-50, -47952757204692233.0},
      {3, 1e-200, -4.7952757204692233e+66},
      {5, 0.4, -0.26718086570414513},
      {5, 0.025, -2.5705818356363155},
      {5, 1e-6, -24.771029720515944},
      {5, 1e-12, -393.95695957760377},
      {5, 1e-50, -15683925590.993378},
      {5, 1e-200, -1.5683925590993378e+40},
      {10, 0.4, -0.26018482949208024},
      {10, 0.025, -2.2281388519862747},
      {10, 1e-6, -9.7519954909405802},
      {10, 1e-12, -40.532096178662597},
      {10, 1e-50, -256452.57187694773},
      {10, 1e-200, -2.5645257189481978e+20},
      {15, 0.4, -0.25788530093726113},
      {15, 0.025, -2.1314495455597757},
      {15, 1e-6, -7.4643849400963717},
      {15, 1e-12, -20.638607310216085},
      {15, 1e-50, -7162.8799373427083},
      {15, 1e-200, -71628809228154.582},
      {29, 0.4, -0.25568363457125614},
      {29, 0.025, -2.0452296421327043},
      {29, 1e-6, -5.9171055404595622},
      {29, 1e-12, -11.613158011561407},
      {29, 1e-50, -260.70101848197296},
      {29, 1e-200, -38783425.730671737},
      {30, 0.4, -0.25560536495191277},
      {30, 0.025, -2.0422724563012383},
      {30, 1e-6, -5.8711171204188826},
      {30, 1e-12, -11.397217523311411},
      {30, 1e-50, -232.84591679865064},
      {30, 1e-200, -23290831.507991146},
      {31, 0.4, -0.25553216831752771},
      {31, 0.025, -2.0395134463964085},
      {31, 1e-6, -5.828601803899664},
      {31, 1e-12, -11.200207192884789},
      {31, 1e-50, -209.60155202823688},
      {31, 1e-200, -14462810.643203806},
      {60, 0.4, -0.25447339498953118},
      {60, 0.025, -2.0002978220142605},
      {60, 1e-6, -5.2635548546525448},
      {60, 1e-12, -8.8180447629200671},
      {60, 1e-50, -49.632718111547209},
      {60, 1e-200, -15882.151109777812},
      {1000, 0.4, -0.25341451583949876},
      {1000, 0.025, -1.9623390808264085},
      {1000, 1e-6, -4.7816086204583506},
      {1000, 1e-12, -7.1242289253144091},
      {1000, 1e-50, -15.810221175149825},
      {1000, 1e-200, -38.617194453226751},
      {100000, 0.4, -0.25334777715717994},
      {100000, 0.025, -1.9599877075346096},
      {100000, 1e-6, -4.7537047163912883},
      {100000, 1e-12, -7.0353717423935763},
      {100000, 1e-50, -14.941704299270516},
      {100000, 1e-200, -30.2746985856849},
      {1000000000, 0.4, -0.25334710320320183},
      {1000000000, 0.025, -1.9599639869123255},
      {1000000000, 1e-6, -4.7534243368622114},
      {1000000000, 1e-12, -7.0344839140832876},
      {1000000000, 1e-50, -14.933338371072491},
      {1000000000, 1e-200, -30.205601076861651},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << "dof " << c.dof << ", p " << c.p);
    ExpectRelative(StudentTQuantile(c.p, c.dof), c.quantile, 1e-12);
    // The upper quantile, where 1 − p is representable; rounding 1 − p moves the tail by up to
    // 1.1e-16, which moves the quantile by at most that relative to p.
    if (1 - c.p < 1) {
      ExpectRelative(StudentTQuantile(1 - c.p, c.dof), -c.quantile, 1e-12 + 2.3e-16 / c.p);
    }
  }
}

TEST(StudentTQuantile, LargeDegreesOfFreedomApproachTheNormal) {
  // mpmath. From dof 30 on, tails near the centre come from TOMS 708's expansion rather than
  // the continued fraction, which loses ~log2(dof) bits there.
  ExpectRelative(StudentTQuantile(0.975, 19999), 1.9600826110898155, 1e-12);
  ExpectRelative(StudentTQuantile(0.975, 20000), 1.9600826051581352, 1e-12);
  ExpectRelative(StudentTQuantile(0.975, 20001), 1.960082599227048, 1e-12);
  ExpectRelative(StudentTQuantile(0.975, 1'000'000), 1.959966356814107, 1e-12);
  ExpectRelative(StudentTQuantile(0.995, 1'000'000), 2.5758342201053342, 1e-12);
  ExpectRelative(StudentTQuantile(0.975, 1'000'000'000), 1.9599639869123255, 1e-12);
  // Decreasing in dof, towards z.
  double previous = kInf;
  for (int64_t dof : {1, 2, 5, 30, 1000, 9999, 10000, 10001, 100000, 10000000}) {
    const double t = StudentTQuantile(0.975, dof);
    EXPECT_LT(t, previous) << dof;
    EXPECT_GT(t, kZ95) << dof;
    previous = t;
  }
}

// ---------------------------------------------------------------------------------------------
// Wilson's interval

TEST(WilsonProportion, HandComputedValues) {
  const Proportion p = WilsonProportion(8, 10);
  EXPECT_EQ(p.successes, 8);
  EXPECT_EQ(p.trials, 10);
  EXPECT_DOUBLE_EQ(p.value, 0.8);
  EXPECT_NEAR(p.ci.low, 0.4901624715366417, 1e-12);
  EXPECT_NEAR(p.ci.high, 0.94331784854562475, 1e-12);
  EXPECT_NEAR(p.ci.low, 0.4902, 5e-5);  // the textbook's 4 digits
  EXPECT_NEAR(p.ci.high, 0.9433, 5e-5);

  const Proportion large = WilsonProportion(7600, 10000);
  EXPECT_NEAR(large.ci.low, 0.7515304967056231, 1e-12);
  EXPECT_NEAR(large.ci.high, 0.76826982414162507, 1e-12);
}

TEST(WilsonProportion, OtherConfidenceLevels) {
  const Proportion p90 = WilsonProportion(3, 7, 0.9);
  EXPECT_NEAR(p90.ci.low, 0.186443190363956, 1e-12);
  EXPECT_NEAR(p90.ci.high, 0.71052290898640718, 1e-12);
  const Proportion p99 = WilsonProportion(50, 100, 0.99);  // symmetric around ½
  EXPECT_NEAR(p99.ci.low, 0.37527962504483982, 1e-12);
  EXPECT_NEAR(p99.ci.high, 0.62472037495516018, 1e-12);
  // Wider at a higher confidence.
  EXPECT_LT(WilsonProportion(50, 100, 0.99).ci.low, WilsonProportion(50, 100, 0.9).ci.low);
}

TEST(WilsonProportion, EdgeCasesAreExact) {
  const Proportion none = WilsonProportion(0, 10);
  EXPECT_EQ(none.value, 0);
  EXPECT_EQ(none.ci.low, 0);
  EXPECT_NEAR(none.ci.high, 0.27753279986288925, 1e-12);

  const Proportion all = WilsonProportion(10, 10);
  EXPECT_EQ(all.value, 1);
  EXPECT_NEAR(all.ci.low, 0.72246720013711075, 1e-12);
  EXPECT_EQ(all.ci.high, 1);

  const Proportion empty = WilsonProportion(0, 0);
  EXPECT_EQ(empty.value, 0);
  EXPECT_EQ(empty.ci.low, 0);
  EXPECT_EQ(empty.ci.high, 1);

  const Proportion one = WilsonProportion(1, 1);
  EXPECT_NEAR(one.ci.low, 0.20654931437723739, 1e-12);
  EXPECT_EQ(one.ci.high, 1);
  const Proportion zero_of_one = WilsonProportion(0, 1);
  EXPECT_EQ(zero_of_one.ci.low, 0);
  EXPECT_NEAR(zero_of_one.ci.high, 0.79345068562276261, 1e-12);
}

TEST(WilsonProportion, IntervalHoldsTheValueAndMovesWithIt) {
  double previous_low = -1;
  double previous_high = -1;
  for (int64_t k = 0; k <= 20; ++k) {
    const Proportion p = WilsonProportion(k, 20);
    EXPECT_GE(p.ci.low, 0);
    EXPECT_LE(p.ci.high, 1);
    EXPECT_LE(p.ci.low, p.value);
    EXPECT_GE(p.ci.high, p.value);
    EXPECT_GT(p.ci.low, previous_low);
    EXPECT_GT(p.ci.high, previous_high);
    previous_low = p.ci.low;
    previous_high = p.ci.high;
    // Symmetric: k and n − k mirror each other around ½.
    const Proportion mirror = WilsonProportion(20 - k, 20);
    EXPECT_NEAR(p.ci.low, 1 - mirror.ci.high, 1e-15);
  }
}

// ---------------------------------------------------------------------------------------------
// A mean with its t interval

TEST(MeanWithInterval, EmptyAndSingle) {
  const MeanEstimate empty = MeanWithInterval({});
  EXPECT_EQ(empty.count, 0);
  EXPECT_EQ(empty.mean, 0);
  EXPECT_EQ(empty.ci.low, 0);
  EXPECT_EQ(empty.ci.high, 0);
  EXPECT_FALSE(empty.interval_known);

  const std::vector<double> one = {5.5};
  const MeanEstimate single = MeanWithInterval(one);
  EXPECT_EQ(single.count, 1);
  EXPECT_EQ(single.mean, 5.5);
  EXPECT_EQ(single.ci.low, 5.5);
  EXPECT_EQ(single.ci.high, 5.5);
  EXPECT_FALSE(single.interval_known);
}

TEST(MeanWithInterval, AllEqualIsExact) {
  // 0.1 + 0.1 + 0.1 = 0.30000000000000004, and /3 is not 0.1: the mean must still be exact.
  const std::vector<double> values = {0.1, 0.1, 0.1};
  const MeanEstimate m = MeanWithInterval(values);
  EXPECT_EQ(m.count, 3);
  EXPECT_EQ(m.mean, 0.1);
  EXPECT_EQ(m.ci.low, 0.1);
  EXPECT_EQ(m.ci.high, 0.1);
  EXPECT_TRUE(m.interval_known);
}

TEST(MeanWithInterval, StudentInterval) {
  // Two values: mean 2, s = √2, half-width t(0.975, 1)·s/√2 = t itself.
  const std::vector<double> two = {1, 3};
  const MeanEstimate m2 = MeanWithInterval(two);
  EXPECT_DOUBLE_EQ(m2.mean, 2);
  EXPECT_NEAR(m2.ci.low, 2 - 12.706204736174705, 1e-11);
  EXPECT_NEAR(m2.ci.high, 2 + 12.706204736174705, 1e-11);
  EXPECT_TRUE(m2.interval_known);

  // mpmath: mean 4, s = √12.5, t(0.975, 4)·s/√5.
  const std::vector<double> values = {1, 2, 3, 4, 10};
  const MeanEstimate m = MeanWithInterval(values);
  EXPECT_EQ(m.count, 5);
  EXPECT_DOUBLE_EQ(m.mean, 4);
  EXPECT_NEAR(m.ci.low, -0.38994516542541548, 1e-12);
  EXPECT_NEAR(m.ci.high, 8.3899451654254155, 1e-12);
  const MeanEstimate m90 = MeanWithInterval(values, 0.9);
  EXPECT_NEAR(m90.ci.low, 0.62925426634874065, 1e-12);
  EXPECT_NEAR(m90.ci.high, 7.3707457336512594, 1e-12);
}

TEST(MeanWithInterval, NaNPropagates) {
  const std::vector<double> values = {1, kNaN, 2};
  const MeanEstimate m = MeanWithInterval(values);
  EXPECT_TRUE(std::isnan(m.mean));
  EXPECT_TRUE(std::isnan(m.ci.low));
  const std::vector<double> trailing = {1, kNaN};  // not "all equal" to 1
  EXPECT_TRUE(std::isnan(MeanWithInterval(trailing).mean));
}

// ---------------------------------------------------------------------------------------------
// Classification

TEST(Argmax, TiesGoToTheLowerIndex) {
  EXPECT_EQ(Argmax(std::vector<float>{0.5f}), 0);
  EXPECT_EQ(Argmax(std::vector<float>{1, 2, 2}), 1);
  EXPECT_EQ(Argmax(std::vector<float>{3, 1, 3}), 0);
  EXPECT_EQ(Argmax(std::vector<float>{-1, -0.5f, -2}), 1);
  EXPECT_EQ(Argmax(std::vector<float>{-0.0f, 0.0f}), 0);  // equal, as in NumPy
  constexpr float kMinusInf = -std::numeric_limits<float>::infinity();
  EXPECT_EQ(Argmax(std::vector<float>{kMinusInf, kMinusInf}), 0);
}

TEST(Argmax, FirstNaNWinsAsInNumPy) {
  EXPECT_EQ(Argmax(std::vector<float>{1, kNaNf, 5, kNaNf}), 1);
  EXPECT_EQ(Argmax(std::vector<float>{kNaNf, 5}), 0);
  EXPECT_EQ(Argmax(std::vector<float>{5, 7, kNaNf}), 2);
}

TEST(Argmax, EmptyIsAnError) {
  EXPECT_EQ(ErrorOf([] { Argmax({}); }), "argmax of an empty score row");
}

TEST(ClassificationAccuracy, CountsTop1AndTop5) {
  ClassificationAccuracy acc;
  EXPECT_EQ(acc.count(), 0);
  EXPECT_EQ(acc.Top1().trials, 0);
  EXPECT_EQ(acc.Top1().ci.high, 1);

  const std::vector<float> scores = {0.1f, 0.9f, 0.3f, 0.5f, 0.2f, 0.0f, 0.4f, 0.6f};
  // Ranks: 1 (0.9), 7 (0.6), 3 (0.5), 6 (0.4), 2 (0.3), 4 (0.2), 0 (0.1), 5 (0.0).
  acc.Add(scores, 1, "s0");  // rank 0: top-1 and top-5
  acc.Add(scores, 2, "s1");  // rank 4: top-5 only
  acc.Add(scores, 4, "s2");  // rank 5: neither
  acc.Add(scores, 5, "s3");  // last: neither
  EXPECT_EQ(acc.count(), 4);
  EXPECT_EQ(acc.top1_correct(), (std::vector<bool>{true, false, false, false}));
  EXPECT_EQ(acc.predictions(), (std::vector<int64_t>{1, 1, 1, 1}));
  const Proportion top1 = acc.Top1();
  EXPECT_EQ(top1.successes, 1);
  EXPECT_EQ(top1.trials, 4);
  EXPECT_DOUBLE_EQ(top1.value, 0.25);
  const Proportion expected = WilsonProportion(1, 4);
  EXPECT_EQ(top1.ci.low, expected.ci.low);
  EXPECT_EQ(top1.ci.high, expected.ci.high);
  EXPECT_EQ(acc.Top5().successes, 2);
  EXPECT_EQ(acc.Top5().trials, 4);
}

TEST(ClassificationAccuracy, TiesRankTowardsTheLowerIndex) {
  ClassificationAccuracy acc;
  const std::vector<float> tied = {1, 3, 3, 0};
  acc.Add(tied, 1, "a");  // the argmax
  acc.Add(tied, 2, "b");  // tied with 1 but after it: not top-1
  EXPECT_EQ(acc.top1_correct(), (std::vector<bool>{true, false}));
  EXPECT_EQ(acc.predictions(), (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(acc.Top5().successes, 2);

  // The top-5 boundary inside a tie: classes 0..5 all score 1; class 4 is 5th, class 5 is 6th.
  ClassificationAccuracy boundary;
  const std::vector<float> flat = {1, 1, 1, 1, 1, 1, 0};
  boundary.Add(flat, 4, "in");
  boundary.Add(flat, 5, "out");
  boundary.Add(flat, 0, "first");
  EXPECT_EQ(boundary.Top5().successes, 2);
  EXPECT_EQ(boundary.Top1().successes, 1);
}

TEST(ClassificationAccuracy, FewerThanFiveClassesAreAllTop5) {
  ClassificationAccuracy acc;
  const std::vector<float> three = {0.7f, 0.2f, 0.1f};
  acc.Add(three, 2, "a");  // the worst class is still among the top 5 of 3
  acc.Add(three, 1, "b");
  acc.Add(std::vector<float>{0.0f}, 0, "one-class");
  EXPECT_EQ(acc.Top5().successes, 3);
  EXPECT_EQ(acc.Top5().value, 1);
  EXPECT_EQ(acc.Top1().successes, 1);  // only the single-class sample
}

TEST(ClassificationAccuracy, NaNScoresRankFirst) {
  ClassificationAccuracy acc;
  const std::vector<float> scores = {1, kNaNf, 5};
  acc.Add(scores, 1, "nan");
  acc.Add(scores, 2, "five");
  EXPECT_EQ(acc.top1_correct(), (std::vector<bool>{true, false}));
  EXPECT_EQ(acc.predictions(), (std::vector<int64_t>{1, 1}));
}

TEST(ClassificationAccuracy, BadInputNamesTheSample) {
  ClassificationAccuracy acc;
  const std::vector<float> scores = {0.1f, 0.2f, 0.7f};
  EXPECT_EQ(ErrorOf([&] { acc.Add(scores, 3, "val.npz[17]"); }),
            "val.npz[17]: label 3 is out of range for an output of 3 class scores (0 to 2)");
  EXPECT_EQ(ErrorOf([&] { acc.Add(scores, -1, "cats/003.jpg"); }),
            "cats/003.jpg: label -1 is out of range for an output of 3 class scores (0 to 2)");
  EXPECT_EQ(ErrorOf([&] { acc.Add({}, 0, "val.npz[2]"); }),
            "val.npz[2]: the output has no class scores");
  EXPECT_EQ(acc.count(), 0);  // nothing was recorded
  EXPECT_TRUE(acc.predictions().empty());
}

// ---------------------------------------------------------------------------------------------
// Regression

TEST(RegressionError, PerSampleAverages) {
  RegressionError err;
  err.Add(std::vector<float>{1, 2, 3}, std::vector<float>{1, 0, 0}, "s0");  // errors 0, 2, 3
  err.Add(std::vector<float>{0.5f}, std::vector<float>{-0.5f}, "s1");       // error 1
  EXPECT_EQ(err.count(), 2);
  ASSERT_EQ(err.per_sample_squared().size(), 2u);
  EXPECT_DOUBLE_EQ(err.per_sample_squared()[0], 13.0 / 3);
  EXPECT_DOUBLE_EQ(err.per_sample_squared()[1], 1);
  const MeanEstimate mse = err.Mse();
  EXPECT_DOUBLE_EQ(mse.mean, (13.0 / 3 + 1) / 2);
  const MeanEstimate mae = err.Mae();
  EXPECT_DOUBLE_EQ(mae.mean, (5.0 / 3 + 1) / 2);
  EXPECT_TRUE(mae.interval_known);
}

TEST(RegressionError, IntervalsAreTheTIntervalClampedAtZero) {
  RegressionError err;
  for (float e : {1.0f, 2.0f, 3.0f, 4.0f, 10.0f}) {
    err.Add(std::vector<float>{e}, std::vector<float>{0}, "s");
  }
  const MeanEstimate mae = err.Mae();  // the t interval of {1, 2, 3, 4, 10}: [−0.39, 8.39]
  EXPECT_DOUBLE_EQ(mae.mean, 4);
  EXPECT_EQ(mae.ci.low, 0);
  EXPECT_NEAR(mae.ci.high, 8.3899451654254155, 1e-12);
  const MeanEstimate mse = err.Mse();  // {1, 4, 9, 16, 100}
  EXPECT_DOUBLE_EQ(mse.mean, 26);
  EXPECT_EQ(mse.ci.low, 0);
  EXPECT_EQ(mse.ci.high, MeanWithInterval(err.per_sample_squared()).ci.high);
}

TEST(RegressionError, EdgeCases) {
  RegressionError none;
  EXPECT_EQ(none.Mse().count, 0);
  EXPECT_EQ(none.Mse().mean, 0);
  EXPECT_FALSE(none.Mae().interval_known);

  RegressionError err;
  err.Add({}, {}, "empty");  // no elements: error 0
  err.Add(std::vector<float>{2, 2}, std::vector<float>{2, 2}, "exact");
  EXPECT_EQ(err.per_sample_squared(), (std::vector<double>{0, 0}));
  EXPECT_EQ(err.Mse().mean, 0);
  EXPECT_EQ(err.Mse().ci.low, 0);
  EXPECT_EQ(err.Mse().ci.high, 0);

  RegressionError broken;
  broken.Add(std::vector<float>{kNaNf}, std::vector<float>{1}, "nan");
  broken.Add(std::vector<float>{1}, std::vector<float>{1}, "fine");
  EXPECT_TRUE(std::isnan(broken.Mse().mean));
  EXPECT_TRUE(std::isnan(broken.Mae().mean));
}

TEST(RegressionError, MismatchedSizesNameTheSample) {
  RegressionError err;
  EXPECT_EQ(ErrorOf([&] {
              err.Add(std::vector<float>{1, 2}, std::vector<float>{1, 2, 3}, "test_data_set_0");
            }),
            "test_data_set_0: the output has 2 elements but the target has 3");
  EXPECT_EQ(err.count(), 0);
}

// ---------------------------------------------------------------------------------------------
// Agreement with a reference output

TEST(Agreement, IdenticalOutputs) {
  Agreement ag;
  const std::vector<float> v = {0.25f, -1, 3};
  ag.Add(v, v, "s");
  EXPECT_EQ(ag.count(), 1);
  EXPECT_EQ(ag.max_abs_error(), 0);
  EXPECT_EQ(ag.max_rel_error(), 0);
  EXPECT_DOUBLE_EQ(ag.mean_cosine(), 1);
  EXPECT_DOUBLE_EQ(ag.min_cosine(), 1);
  EXPECT_EQ(ag.Top1Agreement().successes, 1);
  EXPECT_EQ(ag.Top1Agreement().trials, 1);
}

TEST(Agreement, HandComputedErrorsAndCosines) {
  Agreement ag;
  ag.Add(std::vector<float>{1, 2, 3}, std::vector<float>{1, 2, 4}, "a");
  // |3 − 4| = 1 absolute, 1/4 relative; cosine 17/√(14·21).
  EXPECT_DOUBLE_EQ(ag.max_abs_error(), 1);
  EXPECT_DOUBLE_EQ(ag.max_rel_error(), 0.25);
  const double first = 17 / std::sqrt(14.0 * 21.0);
  EXPECT_DOUBLE_EQ(ag.min_cosine(), first);

  ag.Add(std::vector<float>{-1, -2, -3}, std::vector<float>{1, 2, 3}, "b");  // opposite
  EXPECT_DOUBLE_EQ(ag.min_cosine(), -1);
  EXPECT_NEAR(ag.mean_cosine(), (first - 1) / 2, 1e-15);
  EXPECT_DOUBLE_EQ(ag.max_abs_error(), 6);
  EXPECT_DOUBLE_EQ(ag.max_rel_error(), 2);
  EXPECT_EQ(ag.top1_same(), (std::vector<bool>{true, false}));
  EXPECT_EQ(ag.Top1Agreement().successes, 1);
  EXPECT_EQ(ag.Top1Agreement().trials, 2);
}

TEST(Agreement, RelativeErrorFloorsNearZeroReferences) {
  Agreement ag;
  // The reference's largest magnitude is 1000, so the floor is 1e-3: 0.5 off a 0 is 500×.
  ag.Add(std::vector<float>{1000, 0.5f}, std::vector<float>{1000, 0}, "s");
  EXPECT_DOUBLE_EQ(ag.max_abs_error(), 0.5);
  EXPECT_NEAR(ag.max_rel_error(), 500, 1e-9);
  // Above the floor the plain relative error applies: |0.3 − 0.2|/0.2.
  Agreement plain;
  plain.Add(std::vector<float>{0.3f, 10}, std::vector<float>{0.2f, 10}, "t");
  EXPECT_NEAR(plain.max_rel_error(), (0.3f - 0.2f) / 0.2f, 1e-6);
}

TEST(Agreement, ZeroVectorsHaveDefinedCosines) {
  Agreement both;
  both.Add(std::vector<float>{0, 0}, std::vector<float>{0, 0}, "zeros");
  EXPECT_EQ(both.min_cosine(), 1);
  EXPECT_EQ(both.max_rel_error(), 0);
  EXPECT_TRUE(both.top1_same()[0]);

  Agreement output_zero;
  output_zero.Add(std::vector<float>{0, 0}, std::vector<float>{0, 2}, "o");
  EXPECT_EQ(output_zero.min_cosine(), 0);
  EXPECT_DOUBLE_EQ(output_zero.max_rel_error(), 1);

  Agreement reference_zero;
  reference_zero.Add(std::vector<float>{0, 2}, std::vector<float>{0, 0}, "r");
  EXPECT_EQ(reference_zero.min_cosine(), 0);
  EXPECT_EQ(reference_zero.max_rel_error(), kInf);  // nothing to be relative to
  EXPECT_DOUBLE_EQ(reference_zero.max_abs_error(), 2);
  EXPECT_FALSE(std::isnan(reference_zero.mean_cosine()));
}

TEST(Agreement, EmptyAndNoSamples) {
  Agreement none;
  EXPECT_EQ(none.count(), 0);
  EXPECT_EQ(none.mean_cosine(), 1);
  EXPECT_EQ(none.min_cosine(), 1);
  EXPECT_EQ(none.max_abs_error(), 0);
  EXPECT_EQ(none.Top1Agreement().trials, 0);

  Agreement empty;
  empty.Add({}, {}, "empty");
  EXPECT_EQ(empty.count(), 1);
  EXPECT_EQ(empty.Top1Agreement().successes, 1);
  EXPECT_EQ(empty.mean_cosine(), 1);
  EXPECT_EQ(empty.max_abs_error(), 0);
}

TEST(Agreement, NaNStaysVisible) {
  Agreement ag;
  ag.Add(std::vector<float>{1, kNaNf}, std::vector<float>{1, 2}, "nan");
  ag.Add(std::vector<float>{1, 2}, std::vector<float>{1, 2}, "fine");  // must not wash it out
  EXPECT_TRUE(std::isnan(ag.max_abs_error()));
  EXPECT_TRUE(std::isnan(ag.max_rel_error()));
  EXPECT_TRUE(std::isnan(ag.min_cosine()));
  EXPECT_TRUE(std::isnan(ag.mean_cosine()));
  EXPECT_EQ(ag.top1_same(), (std::vector<bool>{true, true}));  // NaN's argmax is index 1
}

TEST(Agreement, MismatchedSizesNameTheSample) {
  Agreement ag;
  EXPECT_EQ(ErrorOf([&] {
              ag.Add(std::vector<float>{1}, std::vector<float>{1, 2}, "x.npy[4]");
            }),
            "x.npy[4]: the output has 1 elements but the reference output has 2");
  EXPECT_EQ(ag.count(), 0);
}

// ---------------------------------------------------------------------------------------------
// McNemar's test

// Paired correctness with the given counts: both right, a only, b only, both wrong.
struct Pairs {
  std::vector<bool> a, b;
};
Pairs MakePairs(int64_t both, int64_t a_only, int64_t b_only, int64_t neither) {
  Pairs p;
  auto push = [&](int64_t count, bool a, bool b) {
    for (int64_t i = 0; i < count; ++i) {
      p.a.push_back(a);
      p.b.push_back(b);
    }
  };
  push(both, true, true);
  push(a_only, true, false);
  push(b_only, false, true);
  push(neither, false, false);
  return p;
}

TEST(McNemar, ExactSmallCases) {
  {
    const Pairs p = MakePairs(3, 0, 5, 2);  // p = 2·½⁵
    const McNemarResult r = McNemar(p.a, p.b);
    EXPECT_EQ(r.n, 10);
    EXPECT_EQ(r.a_only, 0);
    EXPECT_EQ(r.b_only, 5);
    EXPECT_NEAR(r.p_value, 0.0625, 1e-15);
    EXPECT_FALSE(r.Significant());
    EXPECT_TRUE(r.Significant(0.1));
  }
  {
    const Pairs p = MakePairs(0, 1, 9, 0);  // p = 2·(1 + 10)/1024
    const McNemarResult r = McNemar(p.a, p.b);
    EXPECT_NEAR(r.p_value, 0.021484375, 1e-15);
    EXPECT_TRUE(r.Significant());
  }
  {
    const Pairs p = MakePairs(5, 3, 12, 0);  // p = 2·(1 + 15 + 105 + 455)/32768
    const McNemarResult r = McNemar(p.a, p.b);
    EXPECT_NEAR(r.p_value, 0.03515625, 1e-15);
  }
  {
    const Pairs p = MakePairs(2, 4, 4, 2);  // equal counts: 2·P(X ≤ 4) > 1, capped
    EXPECT_EQ(McNemar(p.a, p.b).p_value, 1);
  }
  {
    const Pairs p = MakePairs(0, 1, 0, 0);  // one discordant pair: 2·½ = 1
    EXPECT_EQ(McNemar(p.a, p.b).p_value, 1);
  }
}

TEST(McNemar, DifferenceAndItsWaldInterval) {
  const Pairs p = MakePairs(5, 3, 12, 0);
  const McNemarResult r = McNemar(p.a, p.b);
  EXPECT_EQ(r.n, 20);
  EXPECT_DOUBLE_EQ(r.difference, 9.0 / 20);
  // Variance ((3 + 12) − 9²/20)/20² = 10.95/400.
  const double half = kZ95 * std::sqrt(10.95) / 20;
  EXPECT_NEAR(r.difference_ci.low, 0.45 - half, 1e-12);
  EXPECT_NEAR(r.difference_ci.high, 0.45 + half, 1e-12);

  // At 90%: narrower, same centre.
  const McNemarResult r90 = McNemar(p.a, p.b, 0.9);
  EXPECT_NEAR(r90.difference_ci.high - r90.difference, 1.6448536269514722 * std::sqrt(10.95) / 20,
              1e-12);
  EXPECT_EQ(r90.p_value, r.p_value);  // the test does not depend on the confidence
}

TEST(McNemar, SwappingTheRunsMirrorsTheResult) {
  const Pairs p = MakePairs(40, 7, 2, 11);
  const McNemarResult ab = McNemar(p.a, p.b);
  const McNemarResult ba = McNemar(p.b, p.a);
  EXPECT_EQ(ab.a_only, ba.b_only);
  EXPECT_EQ(ab.b_only, ba.a_only);
  EXPECT_EQ(ab.p_value, ba.p_value);
  EXPECT_DOUBLE_EQ(ab.difference, -ba.difference);
  EXPECT_DOUBLE_EQ(ab.difference_ci.low, -ba.difference_ci.high);
  EXPECT_DOUBLE_EQ(ab.difference_ci.high, -ba.difference_ci.low);
  EXPECT_DOUBLE_EQ(ab.difference, -5.0 / 60);
}

TEST(McNemar, EdgeCases) {
  const McNemarResult empty = McNemar({}, {});
  EXPECT_EQ(empty.n, 0);
  EXPECT_EQ(empty.p_value, 1);
  EXPECT_EQ(empty.difference, 0);
  EXPECT_EQ(empty.difference_ci.low, -1);
  EXPECT_EQ(empty.difference_ci.high, 1);

  const Pairs same = MakePairs(6, 0, 0, 4);  // no discordant pairs
  const McNemarResult r = McNemar(same.a, same.b);
  EXPECT_EQ(r.p_value, 1);
  EXPECT_EQ(r.difference, 0);
  EXPECT_EQ(r.difference_ci.low, 0);
  EXPECT_EQ(r.difference_ci.high, 0);

  const Pairs all_b = MakePairs(0, 0, 5, 0);  // b right everywhere a is wrong
  const McNemarResult rb = McNemar(all_b.a, all_b.b);
  EXPECT_EQ(rb.difference, 1);
  EXPECT_EQ(rb.difference_ci.low, 1);  // variance (5 − 25/5)/25 = 0
  EXPECT_EQ(rb.difference_ci.high, 1);

  const Pairs near_top = MakePairs(1, 0, 9, 0);  // 0.9 ± 0.186: clamped to 1 above
  const McNemarResult rc = McNemar(near_top.a, near_top.b);
  EXPECT_DOUBLE_EQ(rc.difference, 0.9);
  EXPECT_EQ(rc.difference_ci.high, 1);
  EXPECT_NEAR(rc.difference_ci.low, 0.9 - kZ95 * std::sqrt(0.9) / 10, 1e-12);
}

TEST(McNemar, MillionsOfDiscordantPairs) {
  // mpmath, exact binomial sums: 2·P(X ≤ k) for X ~ Binomial(10⁶, ½).
  {
    const Pairs p = MakePairs(10, 499'000, 501'000, 0);
    const McNemarResult r = McNemar(p.a, p.b);
    EXPECT_NEAR(r.p_value, 0.045608299865382086, 1e-10);
    EXPECT_TRUE(r.Significant());
    EXPECT_DOUBLE_EQ(r.difference, 2000.0 / 1'000'010);
  }
  {
    const Pairs p = MakePairs(0, 498'500, 501'500, 0);
    EXPECT_NEAR(McNemar(p.a, p.b).p_value, 0.0027086553060597568, 1e-11);
  }
  {
    const Pairs p = MakePairs(0, 500'000, 500'000, 0);
    EXPECT_EQ(McNemar(p.a, p.b).p_value, 1);
  }
}

TEST(McNemar, MismatchedLengthsAreAnError) {
  const std::vector<bool> a = {true, false, true};
  const std::vector<bool> b = {true, false};
  EXPECT_EQ(ErrorOf([&] { McNemar(a, b); }),
            "McNemar's test pairs the samples of two runs, but one has 3 samples and the other 2");
}

// ---------------------------------------------------------------------------------------------
// The paired t test

TEST(PairedT, ClosedFormsForSmallSamples) {
  {
    // Differences {1, 3}: t = 2 on 1 dof (Cauchy): p = 1 − 2·atan(2)/π.
    const std::vector<double> a = {0, 0};
    const std::vector<double> b = {1, 3};
    const PairedDifference r = PairedT(a, b);
    EXPECT_NEAR(r.p_value, 1 - 2 * std::atan(2.0) / std::numbers::pi, 1e-13);
    EXPECT_DOUBLE_EQ(r.difference.mean, 2);
    EXPECT_NEAR(r.difference.ci.low, 2 - 12.706204736174705, 1e-11);
    EXPECT_NEAR(r.difference.ci.high, 2 + 12.706204736174705, 1e-11);
  }
  {
    // Differences {1, 2, 6}: mean 3, s² = 7, t² = 27/7 on 2 dof, where
    // P(|T| > t) = 1 − t/√(2 + t²) = 1 − √(27/41).
    const std::vector<double> a = {10, 20, 30};
    const std::vector<double> b = {11, 22, 36};
    const PairedDifference r = PairedT(a, b);
    EXPECT_NEAR(r.p_value, 1 - std::sqrt(27.0 / 41), 1e-13);
    const double half = 4.3026527297494639 * std::sqrt(7.0 / 3);
    EXPECT_NEAR(r.difference.ci.low, 3 - half, 1e-12);
    EXPECT_NEAR(r.difference.ci.high, 3 + half, 1e-12);
  }
}

TEST(PairedT, EightSamples) {
  // mpmath: differences {0.25, 0.125, 0.375, 0.25, 0, 0.25, −0.125, 0.625}, t = 2.7014574 on 7 dof.
  const std::vector<double> a = {0.25, 0.5, 0.125, 1.0, 0.75, 0.375, 0.625, 0.875};
  const std::vector<double> b = {0.5, 0.625, 0.5, 1.25, 0.75, 0.625, 0.5, 1.5};
  const PairedDifference r = PairedT(a, b);
  EXPECT_EQ(r.difference.count, 8);
  EXPECT_DOUBLE_EQ(r.difference.mean, 0.21875);
  EXPECT_NEAR(r.p_value, 0.030574482707795075, 1e-13);
  EXPECT_NEAR(r.difference.ci.low, 0.027275003596603678, 1e-12);
  EXPECT_NEAR(r.difference.ci.high, 0.41022499640339632, 1e-12);
  // The reverse comparison: same p, mirrored difference.
  const PairedDifference back = PairedT(b, a);
  EXPECT_DOUBLE_EQ(back.p_value, r.p_value);
  EXPECT_DOUBLE_EQ(back.difference.mean, -0.21875);
}

TEST(PairedT, PValueAgreesWithTheQuantile) {
  // The p-value (through the t CDF) and the interval (through the quantile) come from separate
  // code; for any data, P(|T| > |t|) = p must give back |t| = Q(1 − p/2). Sizes up to 1e5 cover
  // the Stirling form of ln B too.
  // The true shift is 2 standard errors, so p lands near 0.05, where the duality below bites.
  std::mt19937_64 random(7);
  for (size_t n : {3u, 4u, 9u, 30u, 200u, 5000u, 100000u}) {
    std::normal_distribution<double> normal(2 / std::sqrt(static_cast<double>(n)), 1.0);
    std::vector<double> a(n, 0.0);
    std::vector<double> b(n);
    for (double& v : b) v = normal(random);
    const PairedDifference r = PairedT(a, b);
    const MeanEstimate m = r.difference;
    double squares = 0;
    for (double v : b) squares += (v - m.mean) * (v - m.mean);
    const double t = m.mean / std::sqrt(squares / static_cast<double>(n - 1) / n);
    SCOPED_TRACE(n);
    ASSERT_GT(r.p_value, 1e-12);
    ExpectRelative(StudentTQuantile(1 - r.p_value / 2, static_cast<int64_t>(n) - 1), std::fabs(t),
                   1e-8);
    // Duality: the 95% interval excludes 0 exactly when p < 0.05.
    EXPECT_EQ(r.p_value<0.05, m.ci.low> 0 || m.ci.high < 0);
  }
}

TEST(PairedT, EdgeCases) {
  const PairedDifference empty = PairedT({}, {});
  EXPECT_EQ(empty.p_value, 1);
  EXPECT_EQ(empty.difference.count, 0);

  const std::vector<double> one_a = {1};
  const std::vector<double> one_b = {4};
  const PairedDifference single = PairedT(one_a, one_b);
  EXPECT_EQ(single.p_value, 1);
  EXPECT_EQ(single.difference.mean, 3);
  EXPECT_FALSE(single.difference.interval_known);

  const std::vector<double> a = {0.1, 0.2, 0.7};
  const PairedDifference same = PairedT(a, a);
  EXPECT_EQ(same.p_value, 1);
  EXPECT_EQ(same.difference.mean, 0);
  EXPECT_EQ(same.difference.ci.low, 0);
  EXPECT_EQ(same.difference.ci.high, 0);

  const std::vector<double> base = {0.5, 0.5, 0.5};
  const std::vector<double> plus = {1.5, 1.5, 1.5};
  const PairedDifference constant = PairedT(base, plus);
  EXPECT_EQ(constant.p_value, 0);
  EXPECT_EQ(constant.difference.mean, 1);
  EXPECT_EQ(constant.difference.ci.low, 1);
  EXPECT_EQ(constant.difference.ci.high, 1);
}

TEST(PairedT, MismatchedLengthsAreAnError) {
  const std::vector<double> a = {1, 2};
  const std::vector<double> b = {1, 2, 3};
  EXPECT_THAT(ErrorOf([&] { PairedT(a, b); }), HasSubstr("one has 2 and the other 3"));
}

}  // namespace
}  // namespace plaster::accuracy
