#pragma once
/// ONNX's own backend conformance suite (Debian's libonnx-testdata): each case is a folder with
/// model.onnx and test_data_set_N/{input,output}_K.pb. A case passes when every output of every
/// data set matches within ONNX's backend-test tolerance (|got − want| ≤ atol + rtol·|want|,
/// rtol 1e-3, atol 1e-7; integers and bools exactly; NaN matches NaN).

#include <filesystem>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace plaster::engine {

enum class CaseState { kPassed, kFailed, kUnsupported, kError };

const char* CaseStateName(CaseState state);

struct CaseResult {
  std::string suite;  ///< the folder above the case ("node")
  std::string name;   ///< the case folder ("test_abs")
  CaseState state = CaseState::kError;
  std::string detail;  ///< failed: where and how much; unsupported/error: why
  double worst_abs = 0;  ///< over all compared float values
  double worst_rel = 0;
  std::vector<std::string> op_types;  ///< of the case's model (main graph), sorted, unique
};

/// Where Debian installs the suite.
inline constexpr const char* kOnnxTestDataRoot = "/usr/share/libonnx-testdata/data";
/// The folders `plaster conformance` runs by default.
std::vector<std::filesystem::path> DefaultConformanceFolders();

/// Runs one case folder on engine. Never throws for a problem of the case or the engine: the
/// result says what happened.
CaseResult RunConformanceCase(const Engine& engine, const std::filesystem::path& case_dir);

/// RunConformanceCase in a child process (fork), so that an engine that crashes or hangs on a
/// case (OpenCV 4.6 does on a few of ONNX's backend cases) costs that case, not the run: the
/// result is kError, "crashed: SIGSEGV ..." with the child's last line of stderr, or "timed out
/// after N s". The parent never runs the engine, so every case starts from the same state.
CaseResult RunConformanceCaseIsolated(const Engine& engine, const std::filesystem::path& case_dir,
                                      double timeout_s = 120);

/// The case folders under a suite folder (those holding model.onnx), sorted.
std::vector<std::filesystem::path> ConformanceCases(const std::filesystem::path& suite_dir);

}  // namespace plaster::engine
