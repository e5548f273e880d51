// The learning-rate schedules of plaster learn (src/learn/learn.h, LearningRate).
#include <gtest/gtest.h>

#include "learn/learn.h"
#include "support/fixtures.h"

namespace plaster::learn {
namespace {

using plaster::testing::ErrorOf;

TEST(LearningRate, WarmsUpLinearlyFromATenth) {
  EXPECT_DOUBLE_EQ(LearningRate(Schedule::kCosine, 0.1, 2, 0, 10), 0.01);
  EXPECT_DOUBLE_EQ(LearningRate(Schedule::kCosine, 0.1, 2, 1, 10), 0.055);
  EXPECT_DOUBLE_EQ(LearningRate(Schedule::kConstant, 0.1, 2, 1.5, 10), 0.1 * (0.1 + 0.9 * 0.75));
}

TEST(LearningRate, CosineFallsFromThePeakToZeroAfterTheWarmUp) {
  EXPECT_DOUBLE_EQ(LearningRate(Schedule::kCosine, 0.1, 2, 2, 10), 0.1);
  EXPECT_NEAR(LearningRate(Schedule::kCosine, 0.1, 2, 6, 10), 0.05, 1e-12);  // halfway
  EXPECT_NEAR(LearningRate(Schedule::kCosine, 0.1, 2, 10, 10), 0.0, 1e-12);
  EXPECT_DOUBLE_EQ(LearningRate(Schedule::kCosine, 0.1, 0, 0, 10), 0.1);  // no warm-up
}

TEST(LearningRate, StepDecaysTenfoldAtHalfAndThreeQuarters) {
  EXPECT_DOUBLE_EQ(LearningRate(Schedule::kStep, 0.1, 0, 4.99, 10), 0.1);
  EXPECT_DOUBLE_EQ(LearningRate(Schedule::kStep, 0.1, 0, 5, 10), 0.01);
  EXPECT_DOUBLE_EQ(LearningRate(Schedule::kStep, 0.1, 0, 7.5, 10), 0.001);
  EXPECT_DOUBLE_EQ(LearningRate(Schedule::kConstant, 0.1, 0, 9.9, 10), 0.1);
}

TEST(Schedule, NamesRoundTripAndABadOneIsNamed) {
  for (Schedule s : {Schedule::kCosine, Schedule::kStep, Schedule::kConstant}) {
    EXPECT_EQ(ParseSchedule(ScheduleName(s)), s);
  }
  EXPECT_NE(ErrorOf([] { ParseSchedule("linear"); }).find("--schedule 'linear'"),
            std::string::npos);
}

TEST(OlympicMean, DropsTheFastestAndTheSlowest) {
  EXPECT_DOUBLE_EQ(*OlympicMean({3, 1, 2}), 2);
  EXPECT_DOUBLE_EQ(*OlympicMean({10, 1, 2, 3, 100}), 5);
  EXPECT_DOUBLE_EQ(*OlympicMean({2, 2, 2, 2}), 2);
  EXPECT_FALSE(OlympicMean({1, 2}));
}

}  // namespace
}  // namespace plaster::learn
