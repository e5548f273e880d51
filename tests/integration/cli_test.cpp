// The plaster CLI end to end: exit codes, one-line errors, and the reports a user reads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "model/builtin_model.h"
#include "support/fixtures.h"

namespace plaster {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::TempDir;
using testing::WriteFile;

using Result = testing::CommandResult;
using testing::Slurp;

// Runs the plaster binary with args (a shell-quoted string) and captures everything.
Result Plaster(const std::string& args) {
  return testing::RunCommand(std::string(PLASTER_BIN) + " " + args);
}

// The single line a bad input must produce.
void ExpectOneLineError(const Result& r, const std::string& fragment) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, StartsWith("plaster: error: "));
  EXPECT_THAT(r.err, HasSubstr(fragment));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(Cli, NoArgumentsEvaluatesTheBuiltinModel) {
  TempDir dir;
  const auto start = std::chrono::steady_clock::now();
  Result r =
      Plaster("evaluate --help >/dev/null && cd " + dir.path().string() + " && " + PLASTER_BIN);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("builtin:resnet8"));
  EXPECT_THAT(r.out, HasSubstr("torch/cpu/fp32/b1/t"));
  EXPECT_THAT(r.out, HasSubstr("torch/cpu/fp32/b8/t"));
  // The record is where the newcomer is, one line per case after the context.
  const std::string record = Slurp(dir / "resnet8.plaster.jsonl");
  EXPECT_EQ(std::count(record.begin(), record.end(), '\n'), 3) << record.substr(0, 200);
  EXPECT_LT(seconds, 60) << "the 20 s budget was overrun by far";
}

// plaster profile: every step with its time, MACs and the kernel that ran it; the optimized
// program runs the convolutions through oneDNN, the unoptimized one every node through ATen.
TEST(Cli, ProfileNamesTheKernelOfEveryStep) {
  for (const bool optimize : {true, false}) {
    Result r =
        Plaster(std::string("profile builtin:resnet8 --json --runs 2 --warmup 1 --threads 1") +
                (optimize ? "" : " --no-optimize"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j.at("schema"), "plaster.profile");
    int onednn = 0, convolutions = 0;
    for (const auto& step : j.at("steps")) {
      const std::string kernel = step.at("kernel");
      EXPECT_FALSE(kernel.empty()) << step.dump();
      const bool by_onednn = kernel.rfind("oneDNN ", 0) == 0;
      onednn += by_onednn;
      if (step.at("op_type").get<std::string>().rfind("Conv", 0) == 0) {
        ++convolutions;
        EXPECT_EQ(by_onednn, optimize) << step.dump();
      }
    }
    EXPECT_EQ(convolutions, 9);  // the stem, three stages of two, two projections
    if (!optimize) {
      EXPECT_EQ(onednn, 0) << r.out.substr(0, 2000);
    }
  }
  Result text = Plaster("profile builtin:resnet8 --runs 2 --warmup 1 --threads 1 --top 3");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("GFLOP/s  kernel"));
  EXPECT_THAT(text.out, HasSubstr("oneDNN "));
}

TEST(Cli, AccuracyRefusesBadInputInOneLine) {
  ExpectOneLineError(Plaster("accuracy builtin:resnet8 --data /nonexistent/val.npz"),
                     "/nonexistent/val.npz: no such file or folder");
  ExpectOneLineError(Plaster("accuracy builtin:resnet8 --data x.npz --max-accuracy-drop 5x"),
                     "--max-accuracy-drop '5x': expected a fraction below 1");
  ExpectOneLineError(Plaster("accuracy builtin:resnet8 --data x.npz --precision fp64"),
                     "--precision 'fp64': not a precision");
}

TEST(Cli, CalibrationRefusesBadInputInOneLine) {
  ExpectOneLineError(Plaster("run builtin:resnet8 --engine torch --calibration x.npz"),
                     "--calibration x.npz: calibration is for int8 sessions");
  ExpectOneLineError(
      Plaster("run builtin:resnet8 --engine torch --precision int8 --calibration-method kl"),
      "--calibration-method 'kl': not a method (minmax, percentile, entropy)");
  ExpectOneLineError(Plaster("profile builtin:resnet8 --precision int8 --calibration "
                             "/nonexistent/calib.npz"),
                     "--calibration: /nonexistent/calib.npz: no such file or folder");
  ExpectOneLineError(
      Plaster("run builtin:resnet8 --engine torch --precision int8 --int8-tolerance 1%"),
      "--int8-tolerance 1%: mixed precision is measured on the calibration data; give "
      "--calibration DATA");
}

TEST(Cli, OptimizeRefusesBadInputInOneLine) {
  ExpectOneLineError(Plaster("optimize builtin:resnet8"), "--data is required");
  ExpectOneLineError(Plaster("optimize builtin:resnet8 --data d.npz --precision int8,bf16"),
                     "--precision int8,bf16: must include fp32, the reference every accuracy "
                     "drop is measured from");
  ExpectOneLineError(Plaster("optimize builtin:resnet8 --data d.npz --batch 8,1"),
                     "--batch: give the batch sizes in ascending order");
  ExpectOneLineError(Plaster("optimize builtin:resnet8 --data d.npz --precision fp32,int8 "
                             "--export m.onnx"),
                     "--export with int8 in the search needs --calibration DATA");
  ExpectOneLineError(Plaster("optimize builtin:resnet8 --data d.npz --max-accuracy-drop 2"),
                     "--max-accuracy-drop");
}

TEST(Cli, SizeOfTheBuiltinModel) {
  Result r = Plaster("size builtin:resnet8");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("plaster size · builtin:resnet8\n"));
  EXPECT_THAT(r.out, HasSubstr("Parameters    78,714 (307 KiB)"));
  EXPECT_THAT(r.out, HasSubstr("1 MAC = 2 FLOPs"));
  EXPECT_THAT(r.out, HasSubstr("Top 10 of 31 nodes by MACs"));
}

TEST(Cli, VersionNamesTheLibraries) {
  Result r = Plaster("--version");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, StartsWith("plaster 0.1.0"));
  EXPECT_THAT(r.out, HasSubstr("ONNX 1.12.0"));
  EXPECT_THAT(r.out, HasSubstr("protobuf 3.21.12"));
  EXPECT_THAT(r.out, HasSubstr("CLI11 2.1.2"));
}

TEST(Cli, HelpShowsDefaults) {
  Result r = Plaster("size --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("--top"));
  EXPECT_THAT(r.out, HasSubstr("=10"));  // the default, shown
}

TEST(Cli, UnknownOptionsAndValuesAreErrors) {
  ExpectOneLineError(Plaster("size builtin:resnet8 --frobnicate"), "--frobnicate");
  ExpectOneLineError(Plaster("size builtin:resnet8 --top -3"), "--top");
  ExpectOneLineError(Plaster("size builtin:resnet8 --batch 0"), "--batch");
  ExpectOneLineError(Plaster("size"), "model is required");
  ExpectOneLineError(Plaster("sise builtin:resnet8"), "sise");
}

TEST(Cli, BadModelsExitWithStatusTwoAndOneLine) {
  TempDir dir;
  WriteFile(dir / "text.onnx", "not a model");
  WriteFile(dir / "cut.onnx", model::BuiltinModelBytes().substr(0, 1000));
  ExpectOneLineError(Plaster((dir / "missing.onnx").string()), "was not expected");
  ExpectOneLineError(Plaster("size " + (dir / "missing.onnx").string()),
                     (dir / "missing.onnx").string() + ": no such file");
  ExpectOneLineError(Plaster("size " + (dir / "text.onnx").string()), "not an ONNX model");
  ExpectOneLineError(Plaster("size " + (dir / "cut.onnx").string()), "not an ONNX model");
  ExpectOneLineError(Plaster("size " + dir.path().string()), "not a regular file");
  ExpectOneLineError(Plaster("size builtin:nothing"), "unknown built-in model 'builtin:nothing'");
  ExpectOneLineError(Plaster("size builtin:resnet8 --shape image:1x4x32x32"),
                     "--shape asks 4 for dimension 1 of input 'image', which the model fixes at 3");
}

TEST(Cli, BatchAndShapeBindTheInput) {
  Result r = Plaster("size builtin:resnet8 --batch 8 --top 0");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("image float32 [8x3x32x32]"));
  EXPECT_THAT(r.out, HasSubstr("logits float32 [8x10]"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("Top ")));
  Result s = Plaster("size builtin:resnet8 --shape image:4x3x32x32 --top 0");
  EXPECT_THAT(s.out, HasSubstr("image float32 [4x3x32x32]"));
}

TEST(Cli, JsonRecordIsCompleteAndScalesWithBatch) {
  Result one = Plaster("size builtin:resnet8 --json");
  Result eight = Plaster("size builtin:resnet8 --json --batch 8");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  auto a = nlohmann::json::parse(one.out);
  auto b = nlohmann::json::parse(eight.out);
  EXPECT_EQ(a["schema"], "plaster.size");
  EXPECT_EQ(a["schema_version"], 1);
  EXPECT_EQ(a["flop_convention"], "1 MAC = 2 FLOPs");
  EXPECT_EQ(a["parameters"]["count"], 78714);
  EXPECT_EQ(a["structure"]["nodes"], 31);
  EXPECT_EQ(a["nodes"].size(), 31u);
  EXPECT_EQ(a["compute"]["uncounted"].size(), 0u);
  EXPECT_EQ(a["model"]["inputs"][0]["shape"], nlohmann::json::parse("[1,3,32,32]"));
  // MACs and activations scale with the batch; parameters do not.
  EXPECT_EQ(b["compute"]["macs"].get<int64_t>(), 8 * a["compute"]["macs"].get<int64_t>());
  EXPECT_EQ(b["parameters"]["count"], a["parameters"]["count"]);
  EXPECT_EQ(b["memory"]["peak_activation_bytes"].get<int64_t>(),
            8 * a["memory"]["peak_activation_bytes"].get<int64_t>());
  EXPECT_EQ(a["compute"]["flops"].get<int64_t>(),
            2 * a["compute"]["macs"].get<int64_t>() + a["compute"]["other_flops"].get<int64_t>());
}

TEST(Cli, ModelFileWorksLikeTheBuiltin) {
  TempDir dir;
  WriteFile(dir / "resnet8.onnx", model::BuiltinModelBytes());
  Result r = Plaster("size " + (dir / "resnet8.onnx").string() + " --top 3");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("resnet8.onnx"));
  EXPECT_THAT(r.out, HasSubstr("Top 3 of 31 nodes by MACs"));
}

TEST(Cli, RunWritesOutputsThatNumpyReads) {
  TempDir dir;
  Result r =
      Plaster("run builtin:resnet8 --engine null --batch 2 --output-dir " + (dir / "out").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("input   image   float32[2x3x32x32]"));
  EXPECT_THAT(r.out, HasSubstr("generated (seed 1)"));
  EXPECT_THAT(r.out, HasSubstr("output  logits  float32[2x10]"));
  // Debian's numpy (installed by scripts/setup.sh) must read what plaster wrote.
  const std::string check = "/usr/bin/python3 -c \"import numpy as n; a = n.load('" +
                            (dir / "out/logits.npy").string() +
                            "'); assert a.shape == (2, 10) and a.dtype == n.float32, a\"";
  EXPECT_EQ(std::system(check.c_str()), 0);
}

TEST(Cli, RunTakesGivenInputsAndChecksThem) {
  TempDir dir;
  // An input written by numpy, in the shape the model wants at batch 3.
  const std::string make = "/usr/bin/python3 -c \"import numpy as n; n.save('" +
                           (dir / "x.npy").string() +
                           "', n.ones((3, 3, 32, 32), dtype=n.float32))\"";
  ASSERT_EQ(std::system(make.c_str()), 0);
  Result r = Plaster("run builtin:resnet8 --engine null --input image=" + (dir / "x.npy").string());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("float32[3x3x32x32]  min 1  max 1  mean 1  given"));
  ExpectOneLineError(
      Plaster("run builtin:resnet8 --engine null --input nope=" + (dir / "x.npy").string()),
      "--input names 'nope', which is not an input of the model (inputs: image)");
  ExpectOneLineError(
      Plaster("run builtin:resnet8 --engine null --input image=" + (dir / "missing.npy").string()),
      "missing.npy: no such file");
  ExpectOneLineError(Plaster("run builtin:resnet8 --engine warp"),
                     "unknown engine 'warp' (this build has: null, torch, opencv)");
  ExpectOneLineError(Plaster("run builtin:resnet8 --engine null --input image"),
                     "--input 'image': expected NAME=FILE");
}

// The load generator on the null engine (plaster's own overhead): short budgets, real runs.
TEST(Cli, LatencyReportsPercentilesWithIntervals) {
  Result r = Plaster("latency builtin:resnet8 --engine null --budget 300ms");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("plaster latency · builtin:resnet8 on engine 'null'\n"));
  EXPECT_THAT(r.out, HasSubstr("  scenario    single-stream, batch 1, 1 session\n"));
  EXPECT_THAT(r.out, HasSubstr("95% interval"));
  EXPECT_THAT(r.out, HasSubstr("  p99.9 "));
  EXPECT_THAT(r.out, HasSubstr("copy-out"));
  EXPECT_THAT(r.out, HasSubstr("Early stopping  with 99% confidence the p99 is at most"));
  EXPECT_EQ(r.err, "");  // no progress line when stderr is not a terminal
}

TEST(Cli, LatencyJsonAndRawFileAgree) {
  TempDir dir;
  for (const std::string ext : {"csv", "jsonl"}) {
    const std::string raw = (dir / ("q." + ext)).string();
    Result r = Plaster(
        "latency builtin:resnet8 --engine null --budget 200ms --batch 2 --json --raw " + raw);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["schema"], "plaster.loadgen");
    EXPECT_EQ(j["interrupted"], false);
    const auto& res = j["result"];
    EXPECT_EQ(res["scenario"], "single-stream");
    EXPECT_EQ(res["settings"]["batch_size"], 2);
    EXPECT_EQ(res["settings"]["budget_ns"], 200'000'000);
    EXPECT_EQ(res["settings"]["requested"]["budget_ns"], 200'000'000);
    EXPECT_TRUE(res["settings"]["requested"]["min_query_count"].is_null());  // the default
    EXPECT_EQ(res["settings"]["min_query_count"], 459);
    const int64_t done = res["queries_completed"];
    EXPECT_GT(done, 0);
    EXPECT_EQ(res["samples_completed"], 2 * done);
    ASSERT_EQ(res["latency"]["percentiles"].size(), 5u);
    EXPECT_EQ(res["latency"]["percentiles"][3]["name"], "p99");
    EXPECT_TRUE(res["breakdown"].contains("copy_in"));
    const std::string text = Slurp(raw);
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), done + (ext == "csv" ? 1 : 0));
  }
}

TEST(Cli, ThroughputOfflineAndServerSearch) {
  Result r = Plaster(
      "throughput builtin:resnet8 --engine null --budget 300ms --batch 4 --sessions 2 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["result"]["scenario"], "offline");
  EXPECT_EQ(j["result"]["settings"]["sessions"], 2);
  EXPECT_GT(j["result"]["samples_per_s"].get<double>(), 0);
  r = Plaster(
      "throughput builtin:resnet8 --engine null --budget 1500ms --latency-bound 50ms --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["search"], "server");
  EXPECT_GE(j["curve"].size(), 3u);
  EXPECT_EQ(j["result"]["scenario"], "server");
  r = Plaster("throughput builtin:resnet8 --engine null --budget 1500ms --latency-bound 50ms");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out,
              HasSubstr("Server rates tried (throughput–latency curve, in the order visited)"));
  EXPECT_THAT(r.out, HasSubstr("Highest rate that met the bound"));
}

TEST(Cli, LoadOptionsAreChecked) {
  ExpectOneLineError(Plaster("latency builtin:resnet8 --engine null --budget 30"),
                     "--budget '30': unknown unit 'none' (use ns, us, ms, s, m or h)");
  ExpectOneLineError(Plaster("latency builtin:resnet8 --engine null --budget 50ms"),
                     "--budget '50ms': at least 100ms, please");
  ExpectOneLineError(Plaster("latency builtin:resnet8 --engine null --budget soon"),
                     "--budget 'soon': not a duration");
  ExpectOneLineError(Plaster("latency builtin:resnet8 --engine null --latency-bound 7"),
                     "--latency-bound '7': unknown unit");
  ExpectOneLineError(Plaster("latency builtin:resnet8 --engine null --scenario batch"),
                     "unknown scenario 'batch'");
  ExpectOneLineError(
      Plaster("latency builtin:resnet8 --engine null --scenario server"),
      "the server scenario needs --rate, or --latency-bound to search the peak rate");
  ExpectOneLineError(Plaster("latency builtin:resnet8 --engine null --raw out.txt"),
                     "--raw out.txt: unknown format '.txt' (use .csv, .jsonl or .ndjson)");
  ExpectOneLineError(
      Plaster("throughput builtin:resnet8 --engine null --search --scenario server --rate 5"),
      "--search is for the offline scenario");
  ExpectOneLineError(Plaster("latency builtin:resnet8 --engine warp"), "warp");
}

TEST(Cli, CtrlCStopsTheRunAndReportsWhatWasMeasured) {
  TempDir dir;
  const std::string raw = (dir / "q.csv").string();
  const std::string command =
      "sh -c '" + std::string(PLASTER_BIN) +
      " latency builtin:resnet8 --engine null --budget 60s --raw " + raw + " >" +
      (dir / "out").string() + " 2>" + (dir / "err").string() +
      // Ctrl-C once the raw file shows measured queries (after loading and the 2 s warm-up,
      // however long those take on a busy machine; the file is flushed every half second).
      " & pid=$!; for i in $(seq 300); do [ $(cat " + raw +
      " 2>/dev/null | wc -l) -gt 1000 ] && break; sleep 0.1; done; kill -INT $pid; wait $pid'";
  const int64_t start = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
  const int status = std::system(command.c_str());
  const int64_t took = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::steady_clock::now().time_since_epoch())
                           .count() -
                       start;
  EXPECT_LT(took, 30);
  EXPECT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 130);
  const std::string out = Slurp(dir / "out");
  EXPECT_THAT(out, HasSubstr("INTERRUPTED (figures cover what was measured)"));
  EXPECT_THAT(out, HasSubstr("  run         interrupted: "));
  EXPECT_THAT(out, HasSubstr("warning     interrupted: the figures cover the first"));
  const std::string text = Slurp(raw);
  EXPECT_GT(std::count(text.begin(), text.end(), '\n'), 1000);
}

}  // namespace
}  // namespace plaster
