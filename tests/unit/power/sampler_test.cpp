// The Sampler: idle subtraction and per-inference attribution (exact on synthetic data), the
// uncertainty's parts, and the background threads reading a source that imitates a counter.
#include "power/sampler.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/clock.h"
#include "core/error.h"

namespace plaster::power {
namespace {

constexpr int64_t kS = 1'000'000'000;

// A counter whose power is fixed: energy = watts × seconds since it was made.
class SteadySource final : public PowerSource {
 public:
  explicit SteadySource(double watts, double accuracy = 0.05)
      : watts_(watts), accuracy_(accuracy), origin_(NowNs()) {
    domains_.push_back(Domain{"package-0", Quantity::kEnergy, true, 0, 0.001});
  }
  std::string name() const override { return "steady"; }
  std::string description() const override { return "a synthetic counter"; }
  const std::vector<Domain>& domains() const override { return domains_; }
  double relative_accuracy() const override { return accuracy_; }
  std::string accuracy_basis() const override { return "synthetic"; }
  Reading Read() override {
    if (fail_) Fail("the sensor went away");
    const int64_t t = NowNs();
    ++reads;
    return Reading{t, {watts_ * static_cast<double>(t - origin_) / 1e9}};
  }
  bool fail_ = false;
  std::atomic<int> reads{0};

 private:
  double watts_, accuracy_;
  int64_t origin_;
  std::vector<Domain> domains_;
};

Trace Linear(double watts, int seconds) {
  Trace t({Domain{"package-0", Quantity::kEnergy, true, 0, 0.001}});
  for (int i = 0; i <= seconds * 100; ++i) t.Add({i * kS / 100, {watts * i / 100.0}});
  return t;
}

TEST(Energy, IdleIsSubtractedAndInferencesAttributedExactly) {
  SteadySource source(100);
  const Trace trace = Linear(100, 20);
  const IdleBaseline idle{"steady", 40.0, 5.0, 0.0};
  const SourceEnergy e = EnergyOf(source, trace, 2 * kS, 12 * kS, 0.01, idle);
  ASSERT_TRUE(e.gross_joules && e.net_joules);
  EXPECT_NEAR(*e.gross_joules, 1000.0, 1e-9);
  EXPECT_NEAR(*e.net_joules, 600.0, 1e-9);
  EXPECT_NEAR(*e.AverageWatts(), 100.0, 1e-9);
  const InferenceEnergy per = Attribute(e, 3000);
  EXPECT_NEAR(*per.joules_per_inference, 1000.0 / 3000, 1e-12);
  EXPECT_NEAR(*per.net_joules_per_inference, 0.2, 1e-12);
  EXPECT_NEAR(*per.inferences_per_joule, 3.0, 1e-12);
  EXPECT_NEAR(*per.net_inferences_per_joule, 5.0, 1e-12);
  EXPECT_FALSE(Attribute(e, 0).joules_per_inference);
}

TEST(Energy, TheUncertaintyHasTheSensorsShareAndTheEnds) {
  SteadySource source(100, 0.05);
  const SourceEnergy e = EnergyOf(source, Linear(100, 20), 2 * kS, 12 * kS, 0.01, std::nullopt);
  // ±5% of 1000 J and 100 W × 10 ms for the ends, in quadrature.
  EXPECT_NEAR(e.gross_uncertainty_joules, std::hypot(50.0, 1.0), 1e-9);
  EXPECT_NE(e.uncertainty_basis.find("±5%"), std::string::npos) << e.uncertainty_basis;
  EXPECT_FALSE(e.net_joules);
  SteadySource rough(100, 0.5);
  const IdleBaseline idle{"steady", 40.0, 5.0, 0.0};
  const SourceEnergy est = EnergyOf(rough, Linear(100, 20), 2 * kS, 12 * kS, 0.01, idle);
  EXPECT_NEAR(est.net_uncertainty_joules, std::hypot(300.0, 1.0), 1e-9);  // 50% of net
}

TEST(Sampler, ReadsInTheBackgroundAndMeasuresIdleAndWindows) {
  auto owned = std::make_unique<SteadySource>(25.0);
  SteadySource* source = owned.get();
  std::vector<std::unique_ptr<PowerSource>> sources;
  sources.push_back(std::move(owned));
  Sampler sampler(std::move(sources), 0.01);
  sampler.Start();
  const auto idle = sampler.MeasureIdle(200'000'000);
  ASSERT_EQ(idle.size(), 1u);
  EXPECT_NEAR(idle[0].watts, 25.0, 0.25);
  const int64_t a = NowNs();
  WaitUntilNs(a + 150'000'000);
  const int64_t b = NowNs();
  const auto windows = sampler.Window(a, b, idle);
  ASSERT_EQ(windows.size(), 1u);
  ASSERT_TRUE(windows[0].gross_joules);
  EXPECT_NEAR(*windows[0].AverageWatts(), 25.0, 0.25);
  EXPECT_NEAR(*windows[0].net_joules, 0.0, 0.05);
  EXPECT_GE(windows[0].window.domains[0].readings, 5);
  sampler.Stop();
  const int reads = source->reads;
  WaitUntilNs(NowNs() + 50'000'000);
  EXPECT_EQ(source->reads, reads) << "a stopped sampler still reads";
}

TEST(Sampler, ASourceThatFailsAtTheStartIsDroppedWithItsReason) {
  auto failing = std::make_unique<SteadySource>(10.0);
  failing->fail_ = true;
  std::vector<std::unique_ptr<PowerSource>> sources;
  sources.push_back(std::move(failing));
  sources.push_back(std::make_unique<SteadySource>(20.0));
  Sampler sampler(std::move(sources), 0.01);
  sampler.Start();
  ASSERT_EQ(sampler.sources().size(), 1u);
  ASSERT_EQ(sampler.dropped().size(), 1u);
  EXPECT_EQ(sampler.dropped()[0].reason, "the sensor went away");
}

}  // namespace
}  // namespace plaster::power
