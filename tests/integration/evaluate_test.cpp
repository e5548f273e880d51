// `plaster evaluate` end to end: the record validates against its schema, a case whose process
// is killed loses no other case, an interrupted record resumes without re-measuring, and bad
// options are one-line errors. The null engine keeps it fast; one torch case checks the real path.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/fixtures.h"

namespace plaster {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::TempDir;

using Result = testing::CommandResult;
using testing::Slurp;

Result Shell(const std::string& command) { return testing::RunCommand(command); }

Result Plaster(const std::string& args, const std::string& env = "") {
  return Shell(env + " " + PLASTER_BIN + " " + args);
}

// Validates a record (document or JSON Lines) against docs/schema/evaluation.schema.json.
void ExpectValid(const std::filesystem::path& record) {
  const Result r =
      Shell(std::string(PLASTER_PYTHON) + " " + PLASTER_SOURCE_DIR + "/tools/validate_record.py " +
            PLASTER_SOURCE_DIR + "/docs/schema/evaluation.schema.json " + record.string());
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

std::vector<nlohmann::json> Lines(const std::filesystem::path& path) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(Slurp(path));
  std::string line;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

const nlohmann::json* Metric(const nlohmann::json& c, const std::string& name) {
  for (const auto& m : c["metrics"]) {
    if (m["name"] == name) return &m;
  }
  return nullptr;
}

TEST(Evaluate, NullSweepFillsTheLettersAndValidates) {
  TempDir dir;
  const Result r = Plaster(
      "evaluate builtin:resnet8 --engine null --batch 1,2 --budget 6s "
      "--jsonl " +
      (dir / "r.jsonl").string() + " --json " + (dir / "r.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectValid(dir / "r.json");
  ExpectValid(dir / "r.jsonl");
  const auto record = nlohmann::json::parse(Slurp(dir / "r.json"));
  ASSERT_EQ(record["cases"].size(), 2u);
  for (const auto& c : record["cases"]) {
    EXPECT_EQ(c["status"], "passed") << c["reason"];
    for (const char* letter : {"P", "L", "S", "T"}) {
      EXPECT_EQ(c["letters"][letter]["status"], "measured") << c["id"] << " " << letter;
    }
    for (const char* letter : {"A", "R"}) {
      EXPECT_EQ(c["letters"][letter]["status"], "unavailable");
    }
    // E is the harness's own energy: measured with a sensor, estimated without one.
    EXPECT_THAT(c["letters"]["E"]["status"].get<std::string>(),
                ::testing::AnyOf("measured", "estimated"));
    const auto* p99 = Metric(c, "latency.p99");
    ASSERT_NE(p99, nullptr);
    EXPECT_GT((*p99)["value"].get<double>(), 0);
    EXPECT_EQ((*p99)["samples"], "latency_ms");
    EXPECT_GT(c["samples"]["latency_ms"].size(), 100u);
    ASSERT_NE(Metric(c, "t.offline"), nullptr);
    ASSERT_NE(Metric(c, "p.cold_start"), nullptr);
    ASSERT_NE(Metric(c, "s.peak_rss_bytes"), nullptr);
    EXPECT_EQ((*Metric(c, "s.parameters"))["value"], 78714);
    EXPECT_LE(c["elapsed_s"].get<double>(), c["budget_s"].get<double>() * 1.5);
  }
  // FLOPs scale with the batch: the record is per batch.
  EXPECT_EQ((*Metric(record["cases"][1], "s.flops"))["value"].get<int64_t>(),
            2 * (*Metric(record["cases"][0], "s.flops"))["value"].get<int64_t>());
  EXPECT_EQ(record["context"]["sweep"]["batches"], nlohmann::json({1, 2}));
  EXPECT_FALSE(record["context"]["machine"]["cpu_model"].get<std::string>().empty());
  EXPECT_FALSE(record["recommendation"]["case"].is_null());
}

TEST(Evaluate, UnsupportedDeviceIsACaseNotACrash) {
  TempDir dir;
  const Result r = Plaster(
      "evaluate builtin:resnet8 --engine torch --device cpu,cuda "
      "--budget 6s --jsonl " +
      (dir / "r.jsonl").string() + " --json " + (dir / "r.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectValid(dir / "r.json");
  const auto record = nlohmann::json::parse(Slurp(dir / "r.json"));
  ASSERT_EQ(record["cases"].size(), 2u);
  EXPECT_EQ(record["cases"][0]["status"], "passed") << record["cases"][0]["reason"];
  EXPECT_EQ(record["cases"][1]["status"], "unsupported");
  EXPECT_THAT(record["cases"][1]["reason"].get<std::string>(),
              HasSubstr("does not offer fp32 on cuda (it offers: nothing on this device)"));
}

// Two engines side by side: every letter's column for each, and P's score from parts that each
// say where they come from; without a conformance run on this machine that part is left out, and
// the score says so.
TEST(Evaluate, TorchAndOpenCvSideBySideWithTheirProgrammability) {
  TempDir dir;
  const Result r = Plaster("evaluate builtin:resnet8 --engine torch,opencv --budget 8s --json " +
                               (dir / "r.json").string(),
                           "XDG_CACHE_HOME=" + (dir / "cache").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectValid(dir / "r.json");
  EXPECT_THAT(r.out, HasSubstr("P score · cold start · nodes"));
  EXPECT_THAT(r.out, HasSubstr("P score: 0-100 from imports as given"));
  const auto record = nlohmann::json::parse(Slurp(dir / "r.json"));
  ASSERT_EQ(record["cases"].size(), 2u);
  for (const auto& c : record["cases"]) {
    EXPECT_EQ(c["status"], "passed") << c["reason"];
    EXPECT_THAT(r.out, HasSubstr(c["id"].get<std::string>()));
    for (const char* letter : {"P", "L", "A", "S", "T", "E", "R"}) {
      EXPECT_TRUE(c["letters"].contains(letter)) << c["id"] << " " << letter;
    }
    const auto* score = Metric(c, "p.score");
    ASSERT_NE(score, nullptr) << c["id"];
    EXPECT_GT((*score)["value"].get<double>(), 50);
    EXPECT_LE((*score)["value"].get<double>(), 100);
    EXPECT_THAT((*score)["how"].get<std::string>(), HasSubstr("(conformance not measured)"));
    EXPECT_EQ((*Metric(c, "p.conformance"))["source"], "unavailable");
    EXPECT_THAT((*Metric(c, "p.conformance"))["reason"].get<std::string>(),
                HasSubstr("`plaster conformance` records one"));
    EXPECT_EQ((*Metric(c, "p.op_type_coverage"))["value"], 100.0);
  }
  EXPECT_EQ(record["cases"][1]["engine"], "opencv");
  EXPECT_EQ((*Metric(record["cases"][1], "p.precisions"))["value"], "fp32, int8");
  EXPECT_EQ(record["cases"][1]["letters"]["R"]["status"], "unavailable");  // it cannot train
  EXPECT_EQ(record["cases"][0]["letters"]["L"]["status"], "measured");
  EXPECT_EQ(record["cases"][1]["letters"]["L"]["status"], "measured");
}

TEST(Evaluate, TheRooflineComesFromTheCachedPeak) {
  TempDir dir;
  const std::string xdg = "XDG_CACHE_HOME=" + (dir / "cache").string();
  // The budget leaves room for a slow cold start (LibTorch read from a cold disk cache took 15 s
  // on a loaded CI guest), so that T, which the roofline needs, still runs.
  const std::string args = "evaluate builtin:resnet8 --threads 1 --budget 20s --jsonl " +
                           (dir / "r.jsonl").string() + " --json " + (dir / "r.json").string();
  // No cached peak and a short budget: no roofline, and the record says how to get one.
  ASSERT_EQ(Plaster(args, xdg).exit_code, 0);
  auto record = nlohmann::json::parse(Slurp(dir / "r.json"));
  EXPECT_TRUE(record["context"]["peak"].is_null());
  EXPECT_THAT(record["context"]["peak_reason"].get<std::string>(),
              HasSubstr("run plaster peak --threads N"));
  EXPECT_TRUE(record["cases"][0]["roofline"].is_null());
  const auto* unknown = Metric(record["cases"][0], "t.peak_fraction");
  ASSERT_NE(unknown, nullptr) << record["cases"][0].dump().substr(0, 600);
  EXPECT_EQ((*unknown)["source"], "unavailable");
  // With the peak measured once, every case gets its point on the roofline.
  ASSERT_EQ(Plaster("peak --threads 1 --json", xdg).exit_code, 0);
  ASSERT_EQ(Plaster(args, xdg).exit_code, 0);
  ExpectValid(dir / "r.json");
  record = nlohmann::json::parse(Slurp(dir / "r.json"));
  ASSERT_TRUE(record["context"]["peak"].contains("1"));
  const auto& c = record["cases"][0];
  ASSERT_TRUE(c["roofline"].is_object()) << c.dump().substr(0, 300);
  EXPECT_EQ(c["roofline"]["precision"], "fp32");
  const double fraction = c["roofline"]["fraction"].get<double>();
  EXPECT_GT(fraction, 0);
  const auto* peak_fraction = Metric(c, "t.peak_fraction");
  const auto* achieved = Metric(c, "t.achieved_flops");
  ASSERT_TRUE(peak_fraction != nullptr && achieved != nullptr) << c.dump().substr(0, 600);
  EXPECT_DOUBLE_EQ((*peak_fraction)["value"].get<double>(), 100 * fraction);
  EXPECT_DOUBLE_EQ(c["roofline"]["achieved_flops"].get<double>(),
                   (*achieved)["value"].get<double>());
}

TEST(Evaluate, AKilledCaseLosesNoOtherCase) {
  TempDir dir;
  const std::string jsonl = (dir / "r.jsonl").string();
  const Result r =
      Plaster("evaluate builtin:resnet8 --engine null --batch 1,2,4 --budget 3s --jsonl " + jsonl,
              "PLASTER_TEST_KILL_CASE=null/cpu/fp32/b2/t$(nproc)");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = Lines(jsonl);
  ASSERT_EQ(lines.size(), 4u);  // the context and three cases
  EXPECT_EQ(lines[1]["status"], "passed");
  EXPECT_EQ(lines[2]["status"], "failed");
  EXPECT_THAT(lines[2]["reason"].get<std::string>(), HasSubstr("killed by signal 9 (SIGKILL)"));
  // It died as throughput began: what it measured before is kept.
  EXPECT_THAT(lines[2]["reason"].get<std::string>(), HasSubstr("ended during T"));
  EXPECT_EQ(lines[2]["letters"]["L"]["status"], "measured");
  EXPECT_EQ(lines[2]["letters"]["P"]["status"], "measured");
  EXPECT_EQ(lines[2]["letters"]["T"]["status"], "unavailable");
  EXPECT_GT(lines[2]["samples"]["latency_ms"].size(), 100u);
  EXPECT_EQ(lines[3]["status"], "passed");
  ExpectValid(jsonl);
}

TEST(Evaluate, ResumeRunsOnlyTheMissingCases) {
  TempDir dir;
  const std::string jsonl = (dir / "r.jsonl").string();
  ASSERT_EQ(
      Plaster("evaluate builtin:resnet8 --engine null --batch 1,2 --budget 2s --jsonl " + jsonl)
          .exit_code,
      0);
  auto lines = Lines(jsonl);
  ASSERT_EQ(lines.size(), 3u);
  // Cut the record after the first case, as an interruption would leave it (with half a line).
  const std::string first_two = lines[0].dump() + "\n" + lines[1].dump() + "\n";
  testing::WriteFile(jsonl, first_two + "{\"kind\": \"ca");
  const Result r = Plaster(
      "evaluate builtin:resnet8 --engine null --batch 1,2 --budget 2s "
      "--resume --jsonl " +
      jsonl + " --json " + (dir / "r.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto record = nlohmann::json::parse(Slurp(dir / "r.json"));
  ASSERT_EQ(record["cases"].size(), 2u);
  // The first case is the one recorded before, not a new measurement.
  EXPECT_EQ(record["cases"][0]["samples"], lines[1]["samples"]);
  EXPECT_EQ(record["cases"][1]["status"], "passed");
  EXPECT_EQ(record["context"]["started_utc"], lines[0]["started_utc"]);
  // A record of another model is refused.
  const Result other = Plaster("evaluate " + std::string(PLASTER_SOURCE_DIR) +
                               "/tests/data/nonexistent.onnx --resume --jsonl " + jsonl);
  EXPECT_EQ(other.exit_code, 2);
}

TEST(Evaluate, BadOptionsAreOneLineErrors) {
  TempDir dir;
  const std::string jsonl = " --jsonl " + (dir / "r.jsonl").string();
  for (const auto& [args, fragment] : std::vector<std::pair<std::string, std::string>>{
           {"--batch 1,x", "--batch 'x': not a whole number"},
           {"--batch 1,,2", "an empty item"},
           {"--engine nope", "nope"},
           {"--precision fp64", "--precision 'fp64'"},
           {"--budget 2", "--budget"},
           {"--budget 1s --batch 1,2,4", "too short for 3 cases"},
           {"--latency-bound 0ms", "--latency-bound '0ms': must be above 0"}}) {
    const Result r = Plaster("evaluate builtin:resnet8 " + args + jsonl);
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.err;
    EXPECT_THAT(r.err, StartsWith("plaster: error: ")) << args;
    EXPECT_THAT(r.err, HasSubstr(fragment)) << args;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "r.jsonl"));  // nothing begun for a bad command
  const Result missing = Plaster("evaluate /nonexistent/model.onnx" + jsonl);
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("/nonexistent/model.onnx"));
}

}  // namespace
}  // namespace plaster
