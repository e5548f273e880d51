#pragma once
/// Shape inference that sees through the shape arithmetic exporters emit.
///
/// PyTorch and others build Reshape targets at run time: Shape → Gather → Unsqueeze → Concat →
/// Reshape. ONNX's own inference leaves those shapes symbolic, and every MatMul behind them
/// uncountable. Once the input shapes are bound, that arithmetic is constant: we evaluate it on a
/// weight-less copy of the model, substitute the results as constants, infer again, and repeat
/// until nothing new is learnt. The model itself keeps its nodes; it only gains value_info.

namespace onnx {
class ModelProto;
}

namespace plaster::model {

/// Fills model->graph().value_info (and refines the outputs' shapes). Throws plaster::Error when
/// ONNX shape inference finds an inconsistency (a wrong input shape, mismatched channels, ...).
void InferShapes(onnx::ModelProto* model);

}  // namespace plaster::model
