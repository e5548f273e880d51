// The P score (Note [The P score]): its parts, weights and scales, and the conformance cache it
// reads.
#include "evaluate/programmability.h"

#include <gtest/gtest.h>

#include <fstream>

#include "engine/registry.h"
#include "support/fixtures.h"

namespace plaster::evaluate {
namespace {

ProgrammabilityInputs Perfect() {
  ProgrammabilityInputs in;
  in.imports = true;
  in.nodes = in.nodes_supported = 10;
  in.op_types = in.op_types_supported = 4;
  in.conformance = ConformanceSummary{"x", 100, 100, ""};
  in.cold_start_ms = 50;
  in.cold_start_rss_bytes = 64.0 * (1 << 20);
  in.precisions = {"fp32", "bf16", "fp16", "int8"};
  return in;
}

TEST(ProgrammabilityScore, FullMarksAreOneHundred) {
  const ProgrammabilityScore s = ScoreProgrammability(Perfect());
  EXPECT_DOUBLE_EQ(s.score, 100);
  EXPECT_DOUBLE_EQ(s.measured_weight, 100);
  double weights = 0;
  for (const auto& p : s.parts) weights += p.weight;
  EXPECT_DOUBLE_EQ(weights, 100);
}

TEST(ProgrammabilityScore, EachPartOnItsStatedScale) {
  ProgrammabilityInputs in = Perfect();
  in.cold_start_ms = 1000;                          // a factor of 10 over 100 ms: half
  in.cold_start_rss_bytes = 512.0 * (1 << 20);      // two doublings over 128 MiB: 0.6
  in.precisions = {"fp32", "int8"};                 // 2 of 4
  in.emulated = {"fp16"};                           // does not count
  in.nodes_supported = 5;                           // 0.5
  const ProgrammabilityScore s = ScoreProgrammability(in);
  EXPECT_NEAR(s.score, 25 + 20 * 0.5 + 15 + 15 + 10 * 0.5 + 5 * 0.6 + 10 * 0.5, 1e-9);
  EXPECT_EQ(s.Formula(),
            "25×1.00 (imports as given) + 20×0.50 (nodes) + 15×1.00 (op types) + 15×1.00 "
            "(conformance) + 10×0.50 (cold start) + 5×0.60 (cold-start memory) + 10×0.50 "
            "(precisions) = 78.0");
  EXPECT_EQ(s.parts.back().shown, "2 of fp32, bf16, fp16, int8: fp32, int8 (fp16 emulated)");
  in.cold_start_ms = 20'000;
  in.cold_start_rss_bytes = 8e9;
  EXPECT_NEAR(ScoreProgrammability(in).score, 78 - 5 - 3, 1e-9);
}

TEST(ProgrammabilityScore, AModelThatDoesNotImportCannotBeDeployed) {
  ProgrammabilityInputs in = Perfect();
  in.imports = false;
  in.changes = "1 unsupported node(s), the first node 'c' (Clip): why";
  in.nodes_supported = 9;
  in.op_types_supported = 3;
  in.cold_start_ms.reset();
  in.cold_start_rss_bytes.reset();
  const ProgrammabilityScore s = ScoreProgrammability(in);
  EXPECT_NEAR(s.score, 20 * 0.9 + 15 * 0.75 + 15 + 10, 1e-9);
  EXPECT_EQ(s.parts[0].shown, "no: 1 unsupported node(s), the first node 'c' (Clip): why");
}

TEST(ProgrammabilityScore, APartNotMeasuredIsLeftOutAndSaid) {
  ProgrammabilityInputs in = Perfect();
  in.conformance.reset();
  in.conformance_missing = "no conformance run";
  in.nodes_supported = 5;
  const ProgrammabilityScore s = ScoreProgrammability(in);
  EXPECT_DOUBLE_EQ(s.measured_weight, 85);
  EXPECT_NEAR(s.score, 100 * 75.0 / 85, 1e-9);
  EXPECT_NE(s.Formula().find("= 75.0 of 85, rescaled to 88.2 of 100 (conformance not measured)"),
            std::string::npos)
      << s.Formula();
}

TEST(ProgrammabilityScore, OpTypesCountOnlyWhenEveryNodeIsSupported) {
  engine::SupportReport r;
  r.nodes = {{"a", "Conv", true, ""}, {"b", "Clip", true, ""}, {"c", "Clip", false, "no"},
             {"d", "Relu", true, ""}};
  EXPECT_EQ(OpTypeCoverage(r), (std::pair<int, int>{3, 2}));
  EXPECT_EQ(OpTypeCoverage({}), (std::pair<int, int>{0, 0}));
}

TEST(ConformanceCache, KeepsEachEngineAndForgetsAnotherVersion) {
  plaster::testing::TempDir dir;
  const engine::Engine& null = engine::FindEngine("null");
  EXPECT_FALSE(LoadConformance(dir.path(), null));
  SaveConformance(dir.path(), "null", {null.description(), 7, 10, ""});
  SaveConformance(dir.path(), "other", {"other 1.0", 1, 2, "2026-01-01T00:00:00Z"});
  const auto got = LoadConformance(dir.path(), null);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->passed, 7);
  EXPECT_EQ(got->cases, 10);
  EXPECT_DOUBLE_EQ(got->pass_rate(), 0.7);
  EXPECT_FALSE(got->when.empty());
  // Another version of the engine (its description) measured it: not this one's figure.
  SaveConformance(dir.path(), "null", {"null 0.9", 7, 10, ""});
  EXPECT_FALSE(LoadConformance(dir.path(), null));
  // A damaged file is no figure, and the next run rewrites it.
  std::ofstream(ConformanceCacheFile(dir.path())) << "{not json";
  EXPECT_FALSE(LoadConformance(dir.path(), null));
  SaveConformance(dir.path(), "null", {null.description(), 3, 4, ""});
  EXPECT_EQ(LoadConformance(dir.path(), null)->passed, 3);
}

}  // namespace
}  // namespace plaster::evaluate
