// The optimizer's rules (src/optimize/search.h): when a batch ladder stops, the Pareto front,
// and the recommendation.
#include "optimize/search.h"

#include <gtest/gtest.h>

namespace plaster::optimize {
namespace {

Rung Passed(int64_t batch, double p99_ms, double rate) { return {batch, true, p99_ms, rate, ""}; }

TEST(StopLadder, GoesOnWhileThroughputRisesWithinTheBound) {
  EXPECT_FALSE(StopLadder({}, 5.0));
  EXPECT_FALSE(StopLadder({Passed(1, 1, 100)}, 5.0));
  EXPECT_FALSE(StopLadder({Passed(1, 1, 100), Passed(2, 1.5, 150), Passed(4, 2, 300)}, 5.0));
  EXPECT_FALSE(StopLadder({Passed(1, 1, 100), Passed(2, 1.5, 150), Passed(4, 2, 300)}, std::nullopt));
}

TEST(StopLadder, StopsOverTheBound) {
  const auto why = StopLadder({Passed(1, 1, 100), Passed(2, 7.5, 150)}, 5.0);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("batch 2's p99 (7.5 ms) is over the bound (5 ms)"), std::string::npos) << *why;
  EXPECT_FALSE(StopLadder({Passed(1, 1, 100), Passed(2, 7.5, 150)}, std::nullopt));
  EXPECT_FALSE(StopLadder({Passed(1, 5.0, 100)}, 5.0));  // at the bound meets it
}

TEST(StopLadder, StopsAtAFailure) {
  Rung failed{8, false, 0, 0, "out of memory"};
  const auto why = StopLadder({Passed(4, 1, 100), failed}, 5.0);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("batch 8 did not pass (out of memory)"), std::string::npos) << *why;
}

TEST(StopLadder, StopsAfterTwoRungsWithoutAGain) {
  // One flat rung is noise; two in a row is saturation.
  EXPECT_FALSE(StopLadder({Passed(1, 1, 100), Passed(2, 1, 300), Passed(4, 2, 301)}, 10.0));
  const auto why =
      StopLadder({Passed(1, 1, 100), Passed(2, 1, 300), Passed(4, 2, 301), Passed(8, 4, 305)}, 10.0);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("throughput stopped rising"), std::string::npos) << *why;
  EXPECT_NE(why->find("at batch 8"), std::string::npos) << *why;  // the best so far
  // A gain of kLadderGain on the last rung keeps it going.
  EXPECT_FALSE(StopLadder(
      {Passed(1, 1, 100), Passed(2, 1, 300), Passed(4, 2, 301), Passed(8, 4, 301 * kLadderGain)},
      10.0));
}

Point P(std::string id, double accuracy, double rate, double p99, bool meets = true) {
  return {std::move(id), accuracy, true, meets, rate, p99};
}

TEST(ParetoFront, KeepsWhatNothingBeatsOnBothAxes) {
  const std::vector<Point> points = {
      P("fp32/b1", 82.3, 100, 1),  // dominated by fp32/b8 (same accuracy, more throughput)
      P("fp32/b8", 82.3, 400, 4),
      P("int8/b8", 81.9, 900, 3),
      P("int8/b1", 81.9, 300, 1),  // dominated by int8/b8
      P("bf16/b8", 82.0, 350, 4),  // dominated by fp32/b8
  };
  const auto front = ParetoFront(points, std::nullopt);
  ASSERT_EQ(front.size(), 2u);
  EXPECT_EQ(points[front[0]].id, "int8/b8");  // by throughput, highest first
  EXPECT_EQ(points[front[1]].id, "fp32/b8");
}

TEST(ParetoFront, LeavesOutWhatMissesTheBound) {
  const std::vector<Point> points = {P("fp32/b8", 82.3, 400, 4), P("int8/b8", 81.9, 900, 6),
                                     P("int8/b4", 81.9, 600, 2.5)};
  const auto front = ParetoFront(points, 5.0);
  ASSERT_EQ(front.size(), 2u);
  EXPECT_EQ(points[front[0]].id, "int8/b4");
  EXPECT_EQ(points[front[1]].id, "fp32/b8");
  EXPECT_TRUE(ParetoFront(points, 1.0).empty());
}

TEST(ParetoFront, LowerIsBetterForAnError) {
  std::vector<Point> points = {P("fp32", 0.10, 100, 1), P("int8", 0.12, 300, 1),
                               P("bf16", 0.13, 200, 1)};
  for (auto& p : points) p.higher_is_better = false;
  const auto front = ParetoFront(points, std::nullopt);
  ASSERT_EQ(front.size(), 2u);  // bf16: worse error and slower than int8
  EXPECT_EQ(points[front[0]].id, "int8");
  EXPECT_EQ(points[front[1]].id, "fp32");
}

TEST(ParetoFront, OfTwoEqualPointsKeepsOne) {
  const std::vector<Point> points = {P("a", 80, 100, 1), P("b", 80, 100, 1)};
  const auto front = ParetoFront(points, std::nullopt);
  ASSERT_EQ(front.size(), 1u);
  EXPECT_EQ(points[front[0]].id, "a");
}

TEST(Recommend, TheFastestOnTheFrontThatMeetsTheAccuracyTarget) {
  const std::vector<Point> points = {P("fp32", 82.3, 400, 4), P("int8", 79.0, 900, 3, false),
                                     P("bf16", 82.0, 600, 3)};
  const auto front = ParetoFront(points, std::nullopt);
  EXPECT_EQ(front.size(), 3u);
  const auto chosen = Recommend(points, front);
  ASSERT_TRUE(chosen);
  EXPECT_EQ(points[*chosen].id, "bf16");
  EXPECT_FALSE(Recommend({P("int8", 79.0, 900, 3, false)}, {0}));
  EXPECT_FALSE(Recommend(points, {}));
}

TEST(Recommend, TiesGoToTheBetterAccuracyThenTheLowerLatency) {
  const std::vector<Point> points = {P("a", 80, 500, 3), P("b", 81, 500, 3), P("c", 81, 500, 2)};
  const auto chosen = Recommend(points, {0, 1, 2});
  ASSERT_TRUE(chosen);
  EXPECT_EQ(points[*chosen].id, "c");
}

TEST(Recommend, EnergyChoosesTheMostInferencesPerJouleNotTheFastest) {
  // A large batch on a power-hungry path can be faster yet cost more per inference.
  std::vector<Point> points = {P("fp32/b8", 82.3, 400, 4), P("bf16/b8", 82.1, 700, 3),
                               P("bf16/b32", 82.1, 800, 9), P("int8/b8", 82.0, 650, 3)};
  points[0].inferences_per_joule = 20;
  points[1].inferences_per_joule = 30;
  points[2].inferences_per_joule = 25;
  points[3].inferences_per_joule = 45;
  const auto by_speed = Recommend(points, ParetoFront(points, std::nullopt));
  ASSERT_TRUE(by_speed);
  EXPECT_EQ(points[*by_speed].id, "bf16/b32");
  const auto front = ParetoFront(points, std::nullopt, Objective::kEnergy);
  ASSERT_EQ(front.size(), 3u);  // bf16/b32 is beaten by bf16/b8 on both accuracy and energy
  EXPECT_EQ(points[front[0]].id, "int8/b8");
  const auto by_energy = Recommend(points, front, Objective::kEnergy);
  ASSERT_TRUE(by_energy);
  EXPECT_EQ(points[*by_energy].id, "int8/b8");
  // A point without an energy figure is not eligible for the energy objective.
  points[3].inferences_per_joule = 0;
  const auto without = Recommend(points, ParetoFront(points, std::nullopt, Objective::kEnergy),
                                 Objective::kEnergy);
  ASSERT_TRUE(without);
  EXPECT_EQ(points[*without].id, "bf16/b8");
  EXPECT_EQ(ParseObjective("energy"), Objective::kEnergy);
}

}  // namespace
}  // namespace plaster::optimize
