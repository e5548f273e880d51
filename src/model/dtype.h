#pragma once
/// ONNX element types (TensorProto.DataType): names, sizes and classes.

#include <cstdint>
#include <string>

namespace plaster::model {

/// True for every element type this build of ONNX defines (UNDEFINED excluded).
bool IsKnownDtype(int32_t dtype);

/// Short name: "float32", "int64", "bfloat16"...; "undefined" for 0, "dtype(N)" for unknown N.
std::string DtypeName(int32_t dtype);

/// Bytes per element; 0 where the size is not fixed (string) or the type is unknown.
int64_t DtypeSize(int32_t dtype);

/// float16, bfloat16, float32, float64 (and the complex types).
bool IsFloatingDtype(int32_t dtype);

/// int8 and uint8: the weight types of quantized models.
bool IsQuantizedWeightDtype(int32_t dtype);

}  // namespace plaster::model
