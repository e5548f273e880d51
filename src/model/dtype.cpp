#include "model/dtype.h"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

namespace plaster::model {

using onnx::TensorProto;

bool IsKnownDtype(int32_t dtype) {
  return dtype != TensorProto::UNDEFINED && TensorProto::DataType_IsValid(dtype);
}

std::string DtypeName(int32_t dtype) {
  switch (dtype) {
    case TensorProto::UNDEFINED:
      return "undefined";
    case TensorProto::FLOAT:
      return "float32";
    case TensorProto::UINT8:
      return "uint8";
    case TensorProto::INT8:
      return "int8";
    case TensorProto::UINT16:
      return "uint16";
    case TensorProto::INT16:
      return "int16";
    case TensorProto::INT32:
      return "int32";
    case TensorProto::INT64:
      return "int64";
    case TensorProto::STRING:
      return "string";
    case TensorProto::BOOL:
      return "bool";
    case TensorProto::FLOAT16:
      return "float16";
    case TensorProto::DOUBLE:
      return "float64";
    case TensorProto::UINT32:
      return "uint32";
    case TensorProto::UINT64:
      return "uint64";
    case TensorProto::COMPLEX64:
      return "complex64";
    case TensorProto::COMPLEX128:
      return "complex128";
    case TensorProto::BFLOAT16:
      return "bfloat16";
    default:
      return fmt::format("dtype({})", dtype);
  }
}

int64_t DtypeSize(int32_t dtype) {
  switch (dtype) {
    case TensorProto::BOOL:
    case TensorProto::UINT8:
    case TensorProto::INT8:
      return 1;
    case TensorProto::UINT16:
    case TensorProto::INT16:
    case TensorProto::FLOAT16:
    case TensorProto::BFLOAT16:
      return 2;
    case TensorProto::FLOAT:
    case TensorProto::INT32:
    case TensorProto::UINT32:
      return 4;
    case TensorProto::DOUBLE:
    case TensorProto::INT64:
    case TensorProto::UINT64:
    case TensorProto::COMPLEX64:
      return 8;
    case TensorProto::COMPLEX128:
      return 16;
    default:
      return 0;
  }
}

bool IsFloatingDtype(int32_t dtype) {
  switch (dtype) {
    case TensorProto::FLOAT:
    case TensorProto::FLOAT16:
    case TensorProto::BFLOAT16:
    case TensorProto::DOUBLE:
    case TensorProto::COMPLEX64:
    case TensorProto::COMPLEX128:
      return true;
    default:
      return false;
  }
}

bool IsQuantizedWeightDtype(int32_t dtype) {
  return dtype == TensorProto::INT8 || dtype == TensorProto::UINT8;
}

}  // namespace plaster::model
