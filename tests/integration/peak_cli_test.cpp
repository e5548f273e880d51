// `plaster peak` end to end: the JSON record, the cache (stored, hit, refreshed, corrupt) and
// bad options. Uses --quick (about a second per measurement) and a private cache folder.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support/fixtures.h"

namespace plaster {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::TempDir;

using Result = testing::CommandResult;
using testing::Slurp;

Result Plaster(const std::string& args) {
  return testing::RunCommand(std::string(PLASTER_BIN) + " " + args);
}

nlohmann::json Json(const Result& r) {
  EXPECT_EQ(r.exit_code, 0) << r.err;
  try {
    return nlohmann::json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what() << "\n" << r.out;
    return {};
  }
}

TEST(PeakCli, MeasuresCachesAndRefreshes) {
  TempDir cache;
  const std::string args = "peak --quick --threads 1 --json --cache-dir " + cache.path().string();
  const auto first = Json(Plaster(args));
  EXPECT_EQ(first["schema"], "plaster.peak");
  EXPECT_EQ(first["threads"], 1);
  EXPECT_EQ(first["quick"], true);
  EXPECT_EQ(first["cache"]["status"], "stored");
  EXPECT_EQ(first["cache"]["file"], (cache / "peak.json").string());
  for (const char* precision : {"fp32", "bf16", "int8"}) {
    const auto& peak = first["precisions"][precision]["peak"];
    SCOPED_TRACE(precision);
    EXPECT_EQ(peak["unit"], std::string(precision) == "int8" ? "OP/s" : "FLOP/s");
    if (peak["source"] == "measured") {
      EXPECT_GT(peak["value"].get<double>(), 0);
      EXPECT_THAT(peak["how"].get<std::string>(), HasSubstr("1 thread"));
    } else {
      EXPECT_EQ(peak["value"], nullptr);
      EXPECT_FALSE(peak["reason"].get<std::string>().empty());
    }
  }
  EXPECT_GT(first["memory"]["triad"]["value"].get<double>(), 0);
  // The int8 GEMM runs where the engine offers int8 (dynamic: no calibration data), with the
  // weights constant as a model's are; else it is unavailable with the reason.
  const auto& int8_gemm = first["precisions"]["int8"]["gemm"];
  if (int8_gemm["source"] == "measured") {
    EXPECT_GT(int8_gemm["value"].get<double>(), 0);
  } else {
    EXPECT_FALSE(int8_gemm["reason"].get<std::string>().empty());
  }

  // The second run reads the cache: the same measurement, not a new one.
  const auto second = Json(Plaster(args));
  EXPECT_EQ(second["cache"]["status"], "hit");
  EXPECT_EQ(second["measured_utc"], first["measured_utc"]);
  EXPECT_EQ(second["memory"], first["memory"]);

  const auto refreshed = Json(Plaster(args + " --refresh"));
  EXPECT_EQ(refreshed["cache"]["status"], "refreshed");
  EXPECT_NE(refreshed["memory"]["read"]["value"], first["memory"]["read"]["value"]);
}

TEST(PeakCli, CorruptCacheIsAWarning) {
  TempDir cache;
  testing::WriteFile(cache / "peak.json", "not json");
  const Result r = Plaster("peak --quick --threads 1 --cache-dir " + cache.path().string());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("plaster: warning: ignoring the peak cache " +
                               (cache / "peak.json").string()));
  EXPECT_THAT(r.out, StartsWith("plaster peak · "));
  EXPECT_THAT(r.out, HasSubstr("(stored)"));
  EXPECT_THAT(r.out, HasSubstr("fp32"));
  EXPECT_THAT(r.out, HasSubstr("triad"));
  EXPECT_THAT(r.out, HasSubstr("OP/s"));
  // The corrupt file was replaced by a good one.
  EXPECT_TRUE(nlohmann::json::accept(Slurp(cache / "peak.json")));
}

TEST(PeakCli, BadThreadsIsOneLineError) {
  const Result r = Plaster("peak --threads -3");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("plaster: error: "));
  EXPECT_THAT(r.err, HasSubstr("--threads"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace plaster
