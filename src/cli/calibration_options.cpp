// The options that give an int8 session its calibration data (Note [Int8 sessions] in
// src/engine/torch/program.cpp), shared by every command that compiles sessions.

#include <algorithm>

#include "accuracy/calibration_data.h"
#include "cli/commands.h"
#include "core/error.h"

namespace plaster::cli {

void AddCalibrationOptions(CLI::App* cmd, CalibrationArgs* args) {
  cmd->add_option("--calibration", args->data,
                  "int8: representative inputs for static quantization (.npz/.npy, ONNX test "
                  "data, or an image folder); without it only MatMul/Gemm are quantized, "
                  "dynamically");
  cmd->add_option("--calibration-method", args->method,
                  "int8: how activation ranges are chosen (entropy, percentile, minmax)");
  cmd->add_option("--calibration-percentile", args->percentile,
                  "int8, percentile method: the share of |x| kept unclipped, in percent")
      ->check(CLI::Range(50.0, 100.0));
  cmd->add_option("--calibration-limit", args->limit,
                  "int8: at most N calibration samples (a seeded random subset when there are "
                  "more)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  cmd->add_option("--int8-tolerance", args->tolerance,
                  "int8 with --calibration: mixed precision; keep in float32 each layer whose "
                  "input, quantized alone, moves the output by more than this (e.g. 1%)");
}

std::optional<double> ParseTolerance(const CalibrationArgs& args) {
  if (args.tolerance.empty()) return std::nullopt;
  PLASTER_CHECK(!args.data.empty(),
                "--int8-tolerance {}: mixed precision is measured on the calibration data; give "
                "--calibration DATA",
                args.tolerance);
  return ParseFraction(args.tolerance, "--int8-tolerance");
}

engine::QuantizationOptions MakeQuantization(const CalibrationArgs& args, const model::Model& m,
                                             const std::vector<engine::Precision>& precisions,
                                             const std::string& image_preset, int64_t resize) {
  engine::QuantizationOptions q;
  q.method = engine::ParseCalibrationMethod(args.method);
  q.percentile = args.percentile;
  q.layer_tolerance = ParseTolerance(args);
  if (args.data.empty()) return q;
  PLASTER_CHECK(std::find(precisions.begin(), precisions.end(), engine::Precision::kInt8) !=
                    precisions.end(),
                "--calibration {}: calibration is for int8 sessions, and no int8 was asked for "
                "(--precision int8)",
                args.data);
  q.calibration = accuracy::OpenCalibrationData(args.data, engine::InputSpecs(m),
                                                engine::OutputSpecs(m), args.limit, image_preset,
                                                resize);
  return q;
}

}  // namespace plaster::cli
