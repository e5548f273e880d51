#pragma once
/// Note [Calibration cache]: the int8 cases of one search share one calibration. Each case runs
/// in its own process, so the ranges an int8 session chose (engine::QuantizationOptions::
/// Calibrated) would be chosen again, from the same data, by every case: 10 s and more for a
/// ResNet-50 on 512 samples. Like TensorRT's calibration cache, the first int8 case writes them to
/// a JSON file and the later ones read them. A file made with other calibration settings (data,
/// limit, method, percentile) is not used; one made for another model does not match the
/// engine's model key, and the engine calibrates again. The file also tells the exporter which
/// range each quantized tensor got (model/qdq_export.h).

#include <optional>
#include <string>

#include "engine/engine.h"
#include "evaluate/accuracy_letter.h"

namespace plaster::evaluate {

/// The cached ranges when `d.calibration_cache` names a file made with d's calibration settings;
/// nullopt when there is none (or it is for other settings). plaster::Error for a file that is
/// not a calibration cache.
std::optional<engine::QuantizationOptions::Calibrated> ReadCalibrationCache(const CaseData& d);

/// Writes `calibrated` to d.calibration_cache (replacing it). plaster::Error when it cannot.
void WriteCalibrationCache(const CaseData& d,
                           const engine::QuantizationOptions::Calibrated& calibrated);

}  // namespace plaster::evaluate
