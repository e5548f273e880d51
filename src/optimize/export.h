#pragma once
/// `plaster optimize --export`: the recommended configuration as a model file to deploy.
/// - fp32: the model as given, with plaster's findings in its metadata_props;
/// - bf16: the same float32 file (ONNX has no portable way to ask a CPU runtime for bf16
///   arithmetic): the metadata says that the measured speed needs the engine to run it in bf16;
/// - int8 (static): the QDQ model (model/qdq_export.h) with the ranges the search calibrated
///   (its calibration cache) and the nodes the engine kept in float32 left in float32.
/// Dynamic int8 (no --calibration) is refused: a QDQ file needs fixed ranges.

#include <nlohmann/json.hpp>
#include <string>

#include "optimize/optimize.h"

namespace plaster::optimize {

/// Writes the record's recommended case to `path` and returns what was written (for the record's
/// "export" and the report). plaster::Error when there is no recommendation, the configuration
/// cannot be exported, or the file cannot be written.
nlohmann::ordered_json ExportRecommended(const OptimizeOptions& options,
                                         const nlohmann::ordered_json& record,
                                         const std::string& path);

}  // namespace plaster::optimize
