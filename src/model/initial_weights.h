#pragma once
/// Starting a training from another model's weights (`plaster learn --init`): the model's graph
/// with the initializers of a trained copy of it (Note [Initial weights] in initial_weights.cpp).

#include <cstdint>
#include <string>
#include <vector>

#include "model/model.h"

namespace onnx {
class GraphProto;
}  // namespace onnx

namespace plaster::model {

struct InitialWeights {
  std::string file;
  int64_t tensors = 0;  ///< initializers taken from the file
  int64_t values = 0;   ///< their element count
  /// The file's initializers that the model does not have (by name).
  std::vector<std::string> unused;
};

/// `m` with every initializer of `init` that `m` also has, by name, in place of its own; and an
/// initializer of `init` named as the output of an Identity of one of `m`'s initializers (a copy
/// that `plaster learn --save` wrote as its own initializer) in place of that Identity. Loaded
/// with `options`. plaster::Error, naming --init and the tensor, for a type or shape that differs,
/// or a file that shares no initializer with the model.
Model WithInitialWeights(const Model& m, const std::string& init, const LoadOptions& options,
                         InitialWeights* report);

/// Copies external tensor data of `g`'s initializers (read through `m`) into the tensors.
void EmbedExternalData(const Model& m, onnx::GraphProto* g);

}  // namespace plaster::model
