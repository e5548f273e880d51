// The E letter end to end: `plaster power` over fake sysfs trees, its one-line errors, and
// `plaster evaluate` on a machine with no sensor, where E must be estimated, never measured.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/fixtures.h"

namespace plaster {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::TempDir;
using testing::WriteFile;

testing::CommandResult Plaster(const std::string& args) {
  return testing::RunCommand(std::string(PLASTER_BIN) + " " + args);
}

void ExpectOneLineError(const testing::CommandResult& r, const std::string& fragment) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, StartsWith("plaster: error: "));
  EXPECT_THAT(r.err, HasSubstr(fragment));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

// A machine with RAPL (one package, its core and DRAM) and this machine's /proc.
void RaplMachine(const TempDir& root) {
  for (auto [zone, name, uj] : {std::tuple{"intel-rapl:0", "package-0", "5000000"},
                                {"intel-rapl:0:0", "core", "2000000"},
                                {"intel-rapl:0:1", "dram", "1000000"}}) {
    const auto dir = root / (std::string("sys/class/powercap/") + zone);
    WriteFile(dir / "name", std::string(name) + "\n");
    WriteFile(dir / "energy_uj", std::string(uj) + "\n");
    WriteFile(dir / "max_energy_range_uj", "262143328850\n");
  }
  std::filesystem::create_symlink("/proc", root / "proc");
}

TEST(PowerCli, ListsTheSourcesOfAFakeTreeAndWhatIsUnavailable) {
  TempDir root;
  RaplMachine(root);
  const auto r = Plaster("power --list --sysfs-root " + root.path().string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("rapl      package-0"));
  EXPECT_THAT(r.out, HasSubstr("package-0/core"));
  EXPECT_THAT(r.out, HasSubstr("no (inside another)"));
  EXPECT_THAT(r.out, HasSubstr("hwmon: no power or energy sensor"));
  EXPECT_THAT(r.out, HasSubstr("nvml: no NVIDIA driver"));
}

TEST(PowerCli, ReadsThemAndPrefersASensorToTheEstimate) {
  TempDir root;
  RaplMachine(root);
  const auto r = Plaster("power --duration 300ms --json --sysfs-root " + root.path().string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["chosen"], "rapl");
  ASSERT_EQ(j["sources"].size(), 2u);
  EXPECT_EQ(j["sources"][0]["domains"][0]["watts"], 0.0);  // a counter that did not move
  EXPECT_EQ(j["sources"][1]["name"], "estimate");
  EXPECT_TRUE(j["sources"][1]["estimated"]);
}

TEST(PowerCli, BadOptionsAreOneLineErrors) {
  ExpectOneLineError(Plaster("power --tdp -5"), "--tdp: must be a positive number of watts");
  ExpectOneLineError(Plaster("power --power-cmd 'echo nothing'"),
                     "--power-cmd 'echo nothing': printed 'nothing', not a number of watts");
  ExpectOneLineError(Plaster("power --power-file /nonexistent/meter.log"),
                     "--power-file /nonexistent/meter.log: cannot be read");
  ExpectOneLineError(Plaster("power --sample-interval 0s"), "--sample-interval");
  ExpectOneLineError(Plaster("evaluate builtin:resnet8 --idle 10ms"), "--idle: at least 100 ms");
}

TEST(PowerCli, WithoutASensorEvaluateEstimatesEAndSaysSo) {
  TempDir dir;
  std::filesystem::create_directories(dir / "root/sys");
  std::filesystem::create_symlink("/proc", dir / "root/proc");
  const auto r = Plaster("evaluate builtin:resnet8 --budget 8s --idle 300ms --sysfs-root " +
                         (dir / "root").string() + " --jsonl " + (dir / "r.jsonl").string() +
                         " --json " + (dir / "r.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("E: idle baseline over 300 ms: estimate"));
  EXPECT_THAT(r.out, HasSubstr("J/inf"));
  EXPECT_THAT(r.out, HasSubstr(" est."));
  const auto j = nlohmann::json::parse(testing::Slurp(dir / "r.json"));
  const auto& c = j["cases"][0];
  EXPECT_EQ(c["letters"]["E"]["status"], "estimated");
  int energy_metrics = 0;
  for (const auto& m : c["metrics"]) {
    if (m["letter"] != "E") continue;
    ++energy_metrics;
    EXPECT_NE(m["source"], "measured") << m.dump();
  }
  EXPECT_GE(energy_metrics, 4);
  ASSERT_TRUE(c.contains("energy"));
  EXPECT_EQ(c["energy"].back()["scenario"], "offline");
  EXPECT_EQ(c["energy"].back()["chosen"], "estimate");
  EXPECT_EQ(j["context"]["energy"]["idle"][0]["source"], "estimate");

  const auto off = Plaster("evaluate builtin:resnet8 --budget 3s --no-energy --jsonl " +
                           (dir / "n.jsonl").string() + " --json " + (dir / "n.json").string());
  ASSERT_EQ(off.exit_code, 0) << off.err;
  const auto n = nlohmann::json::parse(testing::Slurp(dir / "n.json"));
  EXPECT_EQ(n["cases"][0]["letters"]["E"]["status"], "unavailable");
  EXPECT_THAT(n["cases"][0]["letters"]["E"]["reason"].get<std::string>(), HasSubstr("--no-energy"));
}

TEST(PowerCli, EnergyMeasuresOneConfigurationFromEverySource) {
  TempDir dir;
  std::filesystem::create_directories(dir / "root/sys");
  std::filesystem::create_symlink("/proc", dir / "root/proc");
  const auto r = Plaster("energy builtin:resnet8 --duration 600ms --idle 200ms --json --sysfs-root " +
                         (dir / "root").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_THAT(j["case"].get<std::string>(), StartsWith("torch/cpu/fp32/b1/t"));
  const auto& w = j["window"];
  EXPECT_EQ(w["scenario"], "offline");
  EXPECT_EQ(w["chosen"], "estimate");
  EXPECT_GT(w["inferences"].get<int64_t>(), 0);
  const auto& e = w["sources"][0];
  EXPECT_TRUE(e["estimated"]);
  EXPECT_GT(e["joules_per_inference"].get<double>(), 0);
  EXPECT_NEAR(e["joules_per_inference"].get<double>() * w["inferences"].get<double>(),
              e["gross_j"].get<double>(), 1e-9 * e["gross_j"].get<double>());
  EXPECT_EQ(j["idle"][0]["source"], "estimate");

  const auto text = Plaster("energy builtin:resnet8 --duration 300ms --idle 200ms --sysfs-root " +
                            (dir / "root").string());
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("estimate (estimated) *"));
  EXPECT_THAT(text.out, HasSubstr("*: E uses estimate"));
  ExpectOneLineError(Plaster("energy builtin:resnet8 --duration 10ms"),
                     "--duration 10ms: at least 200 ms");
  ExpectOneLineError(Plaster("energy /nonexistent.onnx --power-cmd 'exit 1'"),
                     "--power-cmd 'exit 1': exited with status 1");
}

}  // namespace
}  // namespace plaster
