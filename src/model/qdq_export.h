#pragma once
/// Writing a model to deploy: the model as loaded, with plaster's findings in its metadata, and,
/// for int8, in the QDQ form ONNX Runtime, TensorRT and OpenVINO read (Note [QDQ export] in
/// qdq_export.cpp).

#include <map>
#include <set>
#include <string>
#include <vector>

#include "model/model.h"

namespace plaster::model {

/// One activation's int8 range, as a calibration chose it: [0, threshold] in u8 when the tensor
/// never went below zero, else [−threshold, threshold] in s8; the scale is threshold / 255 or
/// threshold / 127, the zero point 0 (the engine's own arithmetic: engine/torch/calibration.h).
struct ActivationRange {
  float threshold = 0;
  bool is_unsigned = false;
};

struct QdqExport {
  int quantized = 0;       ///< Conv/MatMul/Gemm nodes written with int8 weights and inputs
  int folded_batchnorms = 0;
  /// Conv/MatMul/Gemm nodes left in float32, each "'name' (Op): why".
  std::vector<std::string> kept_float;
};

/// Writes `m` to `path` with `metadata` added to its metadata_props (a key already there is
/// replaced). External tensor data is embedded (a model over protobuf's 2 GB limit is refused).
/// plaster::Error when the file cannot be written.
void ExportModel(const Model& m, const std::map<std::string, std::string>& metadata,
                 const std::string& path);

/// Writes `m` in QDQ form: BatchNormalization folded into the convolution before it; every
/// Conv, MatMul and Gemm whose input has a range in `ranges`, whose weight is a float32
/// initializer, and which is not in `keep_float` (node names), reads its input through
/// QuantizeLinear → DequantizeLinear and its weight through DequantizeLinear from int8 values,
/// symmetric per output channel. plaster::Error for a model under opset 13 (per-channel
/// DequantizeLinear) or a file that cannot be written.
QdqExport ExportQdq(const Model& m, const std::map<std::string, ActivationRange>& ranges,
                    const std::set<std::string>& keep_float,
                    const std::map<std::string, std::string>& metadata, const std::string& path);

}  // namespace plaster::model
