#pragma once
/// Where a command's model comes from: a file path, or the built-in model by name.

#include <string>

#include "model/model.h"

namespace plaster::model {

/// Loads "builtin:resnet8" from memory, anything else as a file.
Model LoadModelSource(const std::string& source, const LoadOptions& options);

}  // namespace plaster::model
